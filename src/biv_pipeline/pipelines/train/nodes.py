"""Nodes of the train pipeline: configure, train, evaluate, report."""

from __future__ import annotations

import copy

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from torch import nn

from biv_pipeline.catalog.atomic_io import VERSION_ATTR
from biv_pipeline.catalog.lineage import INGEST_VERSION
from biv_pipeline.classical import ClassicalModel, fit_classical_on_table
from biv_pipeline.data.images.cache import IMAGE_KEY, CachedImages
from biv_pipeline.data.images.statistics import channel_statistics, subset_channel_statistics
from biv_pipeline.data.preprocessing import ROW_INDEX, Normalisation
from biv_pipeline.data.registry import feature_columns
from biv_pipeline.data.schema import DECLARED, LABEL, NOISY, clean_label_column
from biv_pipeline.errors import LineageError
from biv_pipeline.figures import epoch_axis, plain_log_axis
from biv_pipeline.heterogeneity import LabelHeterogeneity, estimate_heterogeneity, resolve_epsilon
from biv_pipeline.losses import make_loss
from biv_pipeline.models import ImageInput, build_model
from biv_pipeline.parameters.training import CLASSICAL_NAMES, TrainingConfig
from biv_pipeline.run_record import (
    CLEAN_EST_METRIC,
    CLEAN_EST_SE_METRIC,
    FINAL_METRIC,
    FINAL_PREFIX,
    FINAL_RMSE_METRIC,
    HISTORY_METRIC,
    NOISY_METRIC,
)
from biv_pipeline.serving import (
    ServedModel,
    TorchPredictor,
    input_example,
    serve_images,
    serve_rows,
)
from biv_pipeline.tensors import model_inputs, pilot_features, test_tensors, train_tensors
from biv_pipeline.training import fit, noisy_test_scores, predict, torch_threads

SHOWN_ROWS = 5  # rows named in a lineage error
EPOCH = "epoch"  # a network's history has one row per epoch; a classical fit's has none
HISTORY_METRICS = (  # logged per epoch where the history has them (test_mse: clean labels known)
    "train_loss",
    HISTORY_METRIC,
    "test_rmse_raw",
    NOISY_METRIC,
    CLEAN_EST_METRIC,
    CLEAN_EST_SE_METRIC,
    "epsilon_mean",
    "effective_batch_size",
)


def _image_statistics(
    frame: pd.DataFrame, inputs: torch.Tensor, images: CachedImages
) -> tuple[list[float], ...]:
    """Per-channel mean and std of the images of ``frame``: a sum of the rows of the channel
    sums stored with the cache, or computed from the images for a cache made without them."""
    if images.channel_sums is None:
        return channel_statistics(inputs.numpy())
    pixels = inputs.shape[2] * inputs.shape[3]
    return subset_channel_statistics(images.channel_sums, frame[IMAGE_KEY].to_numpy(), pixels)


def _build_network(
    config: TrainingConfig, frame: pd.DataFrame, inputs: torch.Tensor, images: CachedImages | None
) -> nn.Module:
    """The configured network; for images, preceded by the per-channel normalisation of the
    training images."""
    network = build_model(config.model, tuple(inputs.shape[1:]))
    if inputs.dim() != 4:
        return network
    return nn.Sequential(ImageInput(*_image_statistics(frame, inputs, images)), network)


def check_test_split_matches(noisy_train: pd.DataFrame, test_split: pd.DataFrame) -> None:
    """Refuse to score on a test split that is not the one these labels were split from.

    Two independent checks: the versions (``ingest_version`` of the labels against the
    version the test split was loaded from) and the rows (no raw row in both tables).
    """
    made_from = noisy_train.attrs.get(INGEST_VERSION)
    scored_on = test_split.attrs.get(VERSION_ATTR)
    if made_from and scored_on and made_from != scored_on:
        raise LineageError(
            f"the noisy labels were made from ingest version {made_from}, but the test split "
            f"is version {scored_on}"
        )
    if noisy_train.index.name == test_split.index.name == ROW_INDEX:
        shared = noisy_train.index.intersection(test_split.index)
        if len(shared):
            raise LineageError(
                f"{len(shared)} rows of the test split are training rows (first: "
                f"{list(shared[:SHOWN_ROWS])}); the split and the labels do not belong together"
            )


def estimate_label_heterogeneity(
    noisy_train: pd.DataFrame, image_cache: CachedImages | None
) -> LabelHeterogeneity:
    """tau2_hat, the noise the labels' seen variances miss (none without variances), from a
    linear pilot fit: an upper bound for a non-linear problem (numpy only: no random state)."""
    y, variance = (
        noisy_train[c].to_numpy(np.float64) for c in (NOISY.y_noisy, NOISY.variance_seen)
    )
    features = pilot_features(noisy_train, image_cache)
    return LabelHeterogeneity(estimate_heterogeneity(features, y, variance))


def train_model(
    noisy_train: pd.DataFrame,
    test_split: pd.DataFrame,
    image_cache: CachedImages | None,
    config: TrainingConfig,
    heterogeneity: LabelHeterogeneity,
) -> tuple[nn.Module | ClassicalModel, pd.DataFrame]:
    """Train on (inputs, y_noisy, variance_seen); score on the test split per epoch (the
    clean test MSE where the clean labels are known, the scores on the noisy ones).

    Image rows are gathered from ``image_cache`` (None for a table). A classical model
    (``linear``, ``gbm``, ``gp``) is fitted once instead; its history is one row: the labels
    it learned from (``fit_rows``) and the seconds the fit took. ``epsilon: tau2_hat`` is
    resolved to the estimate's ``tau2_hat`` first.
    """
    config = resolve_epsilon(config, heterogeneity.estimate)
    check_test_split_matches(noisy_train, test_split)
    if config.model in CLASSICAL_NAMES:
        # the loss's own check of the labels: a cutoff below every variance stops the run
        seen = noisy_train[NOISY.variance_seen].to_numpy(np.float64)
        make_loss(config).check_labels(torch.from_numpy(seen))
        model = fit_classical_on_table(noisy_train, config)
        record = {"fit_rows": [model.fit_rows], "fit_seconds": [model.fit_seconds]}
        return model, pd.DataFrame(record)
    train = train_tensors(noisy_train, image_cache)
    test = test_tensors(test_split, image_cache)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = _build_network(config, noisy_train, train.x, image_cache)
    generator = torch.Generator().manual_seed(config.seed)
    loss_fn = make_loss(config)
    with torch_threads(config.threads):
        history = fit(model, loss_fn, train, test, config, generator)
    return model, history


def predict_test_set(
    model: nn.Module | ClassicalModel,
    test_split: pd.DataFrame,
    image_cache: CachedImages | None,
    normalisation: dict,
) -> pd.DataFrame:
    """Test labels and predictions, in the learner's units and in raw label units; for a table
    that declares its noise, the labels' declared variances and clean labels (where known)."""
    stats = Normalisation.from_dict(normalisation)
    if isinstance(model, ClassicalModel):
        prediction = model.predict(test_split[feature_columns(test_split)].to_numpy(np.float64))
    else:
        prediction = predict(model, model_inputs(test_split, image_cache)).numpy().astype(float)
    offset = stats.label_mean if stats.normalized else 0.0
    predictions = pd.DataFrame(
        {
            "y": test_split[LABEL],
            "y_pred": prediction,
            "y_raw": test_split[LABEL] * stats.label_scale + offset,
            "y_pred_raw": prediction * stats.label_scale + offset,
        }
    )
    declared = [column for column in DECLARED.names() if column in test_split]
    return predictions.join(test_split[declared]) if declared else predictions


def summarise_metrics(
    history: pd.DataFrame,
    predictions: pd.DataFrame,
    normalisation: dict,
    heterogeneity: LabelHeterogeneity,
) -> dict[str, list[dict[str, float]]]:
    """Per-epoch and final metrics in kedro-mlflow's ``{name: [{step, value}]}`` form.

    test_mse (clean test labels, where known) is in normalised label units (as the paper
    reports), test_rmse_raw in raw units; test_mse_noisy, test_mse_clean_est and its standard
    error are scored on the test labels as given (``noisy_test_scores``); effective_lr is the
    learning rate after ``lr_scale``; tau2_hat (with its standard error) and variance_share
    where the labels carry variances. A classical model has no epochs: its final metrics and
    its fit's (``fit_rows``, ``fit_seconds``) are logged at step 0.
    """
    scale = Normalisation.from_dict(normalisation).label_scale
    if EPOCH not in history:
        final = _final_test_metrics(predictions, scale, heterogeneity)
        final.update(history.iloc[0].astype(float))
        return {name: [{"step": 0, "value": float(value)}] for name, value in final.items()}
    if HISTORY_METRIC in history:
        history = history.assign(test_rmse_raw=np.sqrt(history[HISTORY_METRIC]) * scale)
    metrics = {
        name: [
            {"step": int(step), "value": float(value)}
            for step, value in zip(history["epoch"], history[name], strict=True)
        ]
        for name in HISTORY_METRICS
        if name in history
    }
    final = _final_test_metrics(predictions, scale, heterogeneity)
    final.update(
        {
            "mean_effective_batch_size": float(history["effective_batch_size"].mean()),
            "skipped_batches": float(history["skipped_batches"].sum()),
            "effective_lr": float(history["lr"].iloc[-1]),
        }
    )
    last_epoch = int(history["epoch"].iloc[-1])
    metrics.update({name: [{"step": last_epoch, "value": v}] for name, v in final.items()})
    return metrics


def _final_test_metrics(
    predictions: pd.DataFrame, scale: float, heterogeneity: LabelHeterogeneity
) -> dict[str, float]:
    """The final test scores: the clean test MSE and raw RMSE where the clean labels are
    known, the scores on the test labels as given (``noisy_test_scores``), and the training
    labels' tau2_hat where they carry variances."""
    final = heterogeneity.metrics()
    clean = clean_label_column(predictions)
    if clean is not None:
        final_mse = float(((predictions["y_pred"] - predictions[clean]) ** 2).mean())
        final[FINAL_METRIC] = final_mse
        final[FINAL_RMSE_METRIC] = float(np.sqrt(final_mse) * scale)
    variance = predictions.get(DECLARED.variance, pd.Series(0.0, index=predictions.index))
    scores = noisy_test_scores(predictions["y_pred"], predictions["y"], variance)
    final.update({FINAL_PREFIX + name: value for name, value in scores.items()})
    return final


def plot_learning_curve(history: pd.DataFrame, config: TrainingConfig) -> Figure:
    """Training loss and clean test MSE per epoch, and where the test labels are noisy its
    estimate from them (log-y, linear if an estimate is not positive); for a classical model,
    which has no epochs, a note saying what was fitted."""
    figure, axis = plt.subplots(figsize=(7, 4))
    if EPOCH not in history:
        axis.set_axis_off()
        fit = history.iloc[0]
        note = (
            f"{config.model} · {config.loss}: fitted once on {int(fit['fit_rows'])} labels "
            f"in {fit['fit_seconds']:.3g} s\n(no epochs, so no learning curve)"
        )
        axis.text(0.5, 0.5, note, ha="center", va="center")
        return figure
    axis.plot(
        history["epoch"], history["train_loss"], marker="o", label=f"train loss ({config.loss})"
    )
    curves = [(HISTORY_METRIC, "test MSE (clean labels)")] if HISTORY_METRIC in history else []
    if not history[NOISY_METRIC].equals(history[CLEAN_EST_METRIC]):  # declared variances
        curves.append((CLEAN_EST_METRIC, "test MSE, estimated from the noisy labels"))
    for name, label in curves:
        axis.plot(history["epoch"], history[name], marker="o", label=label)
    positive = all((history[name] > 0).all() for name, _ in curves)
    axis.set_yscale("log" if positive else "linear")
    plain_log_axis(axis.yaxis)
    epoch_axis(axis.xaxis)
    axis.set_xlabel("epoch")
    axis.set_ylabel("normalised label units$^2$")
    axis.set_title(
        f"{config.loss} · {config.model} · {config.optimizer} lr {config.lr:g} · seed {config.seed}"
    )
    axis.legend()
    figure.tight_layout()
    return figure


def package_model(
    model: nn.Module | ClassicalModel, test_split: pd.DataFrame, normalisation: dict
) -> ServedModel:
    """The model to log: raw inputs in, raw label units out, on the CPU.

    A table's model takes its raw columns (encoded and standardised inside it, as declared in
    the split's provenance) around its predictor (the network, or the classical model) and
    comes with raw example rows; an image network takes raw uint8 images. Both end with the
    label's inverse standardisation.
    """
    stats = Normalisation.from_dict(normalisation)
    if IMAGE_KEY in test_split:
        return ServedModel(serve_images(copy.deepcopy(model).to("cpu"), stats), None)
    predictor = (
        model.predict
        if isinstance(model, ClassicalModel)
        else TorchPredictor(copy.deepcopy(model).to("cpu"))
    )
    served = serve_rows(predictor, stats, test_split.attrs.get("source"))
    return ServedModel(served, input_example(test_split, served))
