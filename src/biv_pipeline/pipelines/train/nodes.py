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
from biv_pipeline.data.images import (
    IMAGE_KEY,
    channel_statistics,
    channel_sums_path,
    open_image_cache,
    subset_channel_statistics,
)
from biv_pipeline.data.preprocessing import ROW_INDEX, Normalisation
from biv_pipeline.data.registry import feature_columns
from biv_pipeline.data.schema import LABEL, NOISY
from biv_pipeline.errors import LineageError
from biv_pipeline.heterogeneity import (
    Heterogeneity,
    estimate_heterogeneity,
    pooled_image_features,
    resolve_epsilon,
)
from biv_pipeline.losses import make_loss
from biv_pipeline.models import ImageInput, build_model
from biv_pipeline.parameters.training import TrainingConfig
from biv_pipeline.run_record import TAU2_METRIC, TAU2_SE_METRIC, VARIANCE_SHARE_METRIC
from biv_pipeline.serving import ServedModel, input_example, serve_raw
from biv_pipeline.training import RegressionTensors, fit, predict, torch_threads

SHOWN_ROWS = 5  # rows named in a lineage error
HISTORY_METRICS = (
    "train_loss",
    "test_mse",
    "test_rmse_raw",
    "epsilon_mean",
    "effective_batch_size",
)


def model_inputs(frame: pd.DataFrame) -> torch.Tensor:
    """Float features (B, F), or uint8 images (B, 3, H, W) gathered from the image cache."""
    if IMAGE_KEY in frame:
        images = open_image_cache(frame.attrs["image_cache"])
        return torch.from_numpy(np.ascontiguousarray(images[frame[IMAGE_KEY].to_numpy()]))
    return torch.tensor(frame[feature_columns(frame)].to_numpy(dtype=np.float32))


def _column(frame: pd.DataFrame, name: str) -> torch.Tensor:
    return torch.tensor(frame[name].to_numpy(dtype=np.float32))


def _image_statistics(frame: pd.DataFrame, images: torch.Tensor) -> tuple[list[float], ...]:
    """Per-channel mean and std of the images of ``frame``: a sum of the rows of the channel
    sums stored with the cache, or computed from the images for a cache made without them."""
    sums = channel_sums_path(frame.attrs["image_cache"])
    if not sums.is_file():
        return channel_statistics(images.numpy())
    pixels = images.shape[2] * images.shape[3]
    return subset_channel_statistics(np.load(sums), frame[IMAGE_KEY].to_numpy(), pixels)


def _build_network(config: TrainingConfig, frame: pd.DataFrame, inputs: torch.Tensor) -> nn.Module:
    """The configured network; for images, preceded by the per-channel normalisation of the
    training images."""
    network = build_model(config.model, tuple(inputs.shape[1:]))
    if inputs.dim() != 4:
        return network
    return nn.Sequential(ImageInput(*_image_statistics(frame, inputs)), network)


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


def estimate_label_heterogeneity(noisy_train: pd.DataFrame) -> Heterogeneity | None:
    """tau2_hat, the noise the labels' seen variances miss, from a linear pilot fit of the
    features (images: channel means on a 4 x 4 grid); None for labels without variances.

    An upper bound for a non-linear problem (see :mod:`biv_pipeline.heterogeneity`); numpy
    only, so the training's random state is untouched.
    """
    variance = noisy_train[NOISY.variance_seen].to_numpy(dtype=np.float64)
    if not (variance > 0).any():
        return None
    if IMAGE_KEY in noisy_train:
        images = open_image_cache(noisy_train.attrs["image_cache"])
        features = pooled_image_features(images, noisy_train[IMAGE_KEY].to_numpy())
    else:
        features = noisy_train[feature_columns(noisy_train)].to_numpy(dtype=np.float64)
    y = noisy_train[NOISY.y_noisy].to_numpy(dtype=np.float64)
    return estimate_heterogeneity(features, y, variance)


def train_model(
    noisy_train: pd.DataFrame,
    test_split: pd.DataFrame,
    config: TrainingConfig,
    heterogeneity: Heterogeneity | None = None,
) -> tuple[nn.Module, pd.DataFrame]:
    """Train on (inputs, y_noisy, variance_seen); track the clean test MSE per epoch.

    ``epsilon: tau2_hat`` is resolved to ``heterogeneity.tau2_hat`` before the fit.
    """
    config = resolve_epsilon(config, heterogeneity)
    check_test_split_matches(noisy_train, test_split)
    train = RegressionTensors(
        model_inputs(noisy_train),
        _column(noisy_train, NOISY.y_noisy),
        _column(noisy_train, NOISY.variance_seen),
    )
    test = RegressionTensors(model_inputs(test_split), _column(test_split, LABEL))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = _build_network(config, noisy_train, train.x)
    generator = torch.Generator().manual_seed(config.seed)
    loss_fn = make_loss(config)
    with torch_threads(config.threads):
        history = fit(model, loss_fn, train, test, config, generator)
    return model, history


def predict_test_set(
    model: nn.Module, test_split: pd.DataFrame, normalisation: dict
) -> pd.DataFrame:
    """Clean test labels and predictions, in the learner's units and in raw label units."""
    stats = Normalisation.from_dict(normalisation)
    prediction = predict(model, model_inputs(test_split)).numpy().astype(float)
    offset = stats.label_mean if stats.normalized else 0.0
    return pd.DataFrame(
        {
            "y": test_split[LABEL],
            "y_pred": prediction,
            "y_raw": test_split[LABEL] * stats.label_scale + offset,
            "y_pred_raw": prediction * stats.label_scale + offset,
        }
    )


def summarise_metrics(
    history: pd.DataFrame,
    predictions: pd.DataFrame,
    normalisation: dict,
    heterogeneity: Heterogeneity | None = None,
) -> dict[str, list[dict[str, float]]]:
    """Per-epoch and final metrics in kedro-mlflow's ``{name: [{step, value}]}`` form.

    test_mse is in normalised label units (as the paper reports); test_rmse_raw in raw units;
    effective_lr is the learning rate after ``lr_scale``; tau2_hat (with its standard error)
    and variance_share where the labels carry variances, in the learner's units.
    """
    scale = Normalisation.from_dict(normalisation).label_scale
    history = history.assign(test_rmse_raw=np.sqrt(history["test_mse"]) * scale)
    metrics = {
        name: [
            {"step": int(step), "value": float(value)}
            for step, value in zip(history["epoch"], history[name], strict=True)
        ]
        for name in HISTORY_METRICS
    }
    final_mse = float(((predictions["y_pred"] - predictions["y"]) ** 2).mean())
    final = {
        "final_test_mse": final_mse,
        "final_test_rmse_raw": float(np.sqrt(final_mse) * scale),
        "mean_effective_batch_size": float(history["effective_batch_size"].mean()),
        "skipped_batches": float(history["skipped_batches"].sum()),
        "effective_lr": float(history["lr"].iloc[-1]),
    }
    if heterogeneity is not None:
        final[TAU2_METRIC] = heterogeneity.tau2_hat
        final[TAU2_SE_METRIC] = heterogeneity.standard_error
        final[VARIANCE_SHARE_METRIC] = heterogeneity.variance_share
    last_epoch = int(history["epoch"].iloc[-1])
    metrics.update({name: [{"step": last_epoch, "value": v}] for name, v in final.items()})
    return metrics


def plot_learning_curve(history: pd.DataFrame, config: TrainingConfig) -> Figure:
    """Training loss and clean test MSE per epoch (log-y)."""
    figure, axis = plt.subplots(figsize=(7, 4))
    axis.plot(
        history["epoch"], history["train_loss"], marker="o", label=f"train loss ({config.loss})"
    )
    axis.plot(history["epoch"], history["test_mse"], marker="o", label="test MSE (clean labels)")
    axis.set_yscale("log")
    axis.set_xlabel("epoch")
    axis.set_ylabel("normalised label units$^2$")
    axis.set_title(
        f"{config.loss} · {config.model} · {config.optimizer} lr {config.lr:g} · seed {config.seed}"
    )
    axis.legend()
    figure.tight_layout()
    return figure


def package_model(model: nn.Module, test_split: pd.DataFrame, normalisation: dict) -> ServedModel:
    """The model to log: raw rows in, raw label units out, on the CPU, with raw example rows.

    Tables get the feature standardisation as a first layer; every model gets the label's
    inverse standardisation as its last (image networks already take raw uint8 images).
    """
    stats = Normalisation.from_dict(normalisation)
    tabular = IMAGE_KEY not in test_split
    served = serve_raw(copy.deepcopy(model).to("cpu"), stats, tabular)
    return ServedModel(served, input_example(test_split, stats) if tabular else None)
