"""The train pipeline as an in-memory slice, fed the ingest and noise slices' outputs.

Its MLflow outputs (``training_metrics``, ``mlflow_model``) are MemoryDatasets here: no run is
opened and nothing is written.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import mlflow
import numpy as np
import pytest
from matplotlib.figure import Figure

from biv_pipeline.errors import ParameterError
from biv_pipeline.pipelines.noise import pipeline as noise
from biv_pipeline.pipelines.train import pipeline as train
from tests.pipelines.conftest import QUICK_TRAINING
from tests.pipelines.slices import run_slice

EPOCH_METRICS = ("train_loss", "test_mse", "test_rmse_raw")
FINAL_METRICS = ("final_test_mse", "final_test_rmse_raw")
PREDICTIONS = ["y", "y_pred", "y_raw", "y_pred_raw"]


def test_the_training_settings_come_from_the_yaml_with_auto_resolved(
    trained: dict[str, Any],
) -> None:
    config = trained["training_config"]
    assert config.epochs == QUICK_TRAINING["epochs"]  # the override
    assert (config.loss, config.batch_size, config.seed) == ("biv", 256, 0)  # conf/base
    assert (config.model, config.lr) == ("vanilla_ann", 0.01)  # `auto` for synthetic


def test_the_metrics_have_one_finite_value_per_epoch_and_the_final_ones(
    trained: dict[str, Any],
) -> None:
    metrics = trained["training_metrics"]
    assert set(EPOCH_METRICS + FINAL_METRICS) <= set(metrics)
    epochs = list(range(1, QUICK_TRAINING["epochs"] + 1))
    for name in EPOCH_METRICS:
        assert [point["step"] for point in metrics[name]] == epochs, name
    for name, history in metrics.items():
        assert all(math.isfinite(point["value"]) for point in history), name
    for name in FINAL_METRICS:
        assert [point["step"] for point in metrics[name]] == epochs[-1:], name


def test_the_final_test_mse_is_that_of_the_test_predictions(
    ingested: dict[str, Any], trained: dict[str, Any]
) -> None:
    predictions, test = trained["test_predictions"], ingested["test_split"]
    assert list(predictions.columns) == PREDICTIONS
    assert predictions.index.equals(test.index)
    error = predictions["y_pred"].to_numpy(np.float64) - test["y"].to_numpy(np.float64)
    final = trained["training_metrics"]["final_test_mse"][0]["value"]
    assert final == pytest.approx(np.mean(error**2))
    np.testing.assert_allclose(predictions["y_raw"], ingested["raw_test"]["y"])


def test_the_model_to_log_predicts_raw_rows_in_raw_units(
    ingested: dict[str, Any], trained: dict[str, Any]
) -> None:
    served, raw_test = trained["mlflow_model"], ingested["raw_test"]
    features = [column for column in raw_test.columns if column != "y"]
    assert list(served.input_example.columns) == features
    raw = served.model.predict(raw_test[features])
    np.testing.assert_allclose(raw, trained["test_predictions"]["y_pred_raw"], rtol=1e-4)
    np.testing.assert_allclose(
        served.input_example.to_numpy(), raw_test[features].head(5).to_numpy(), rtol=1e-6
    )


def test_the_learning_curve_is_a_figure(trained: dict[str, Any]) -> None:
    assert isinstance(trained["learning_curve"], Figure)


def test_the_slices_open_no_mlflow_run_and_write_no_file(
    trained: dict[str, Any], wine_ingested: dict[str, Any], slice_workdir: Path
) -> None:
    assert mlflow.active_run() is None
    assert list(slice_workdir.iterdir()) == []


def test_labels_with_variances_log_tau2_hat_and_the_variance_share(
    noised: dict[str, Any], trained: dict[str, Any]
) -> None:
    metrics, estimate = trained["training_metrics"], trained["label_heterogeneity"].estimate
    final = {name: metrics[name] for name in ("tau2_hat", "tau2_hat_se", "variance_share")}
    assert all(len(points) == 1 for points in final.values())
    mean_variance = noised["noisy_train"]["variance_seen"].mean()
    tau2, share = final["tau2_hat"][0]["value"], final["variance_share"][0]["value"]
    assert tau2 == estimate.tau2_hat >= 0
    assert share == pytest.approx(mean_variance / (mean_variance + tau2))


def test_epsilon_tau2_hat_trains_with_the_estimate(
    ingested: dict[str, Any],
    noised: dict[str, Any],
    trained: dict[str, Any],
    slice_parameters: dict[str, Any],
    slice_workdir: Path,
) -> None:
    parameters = {**slice_parameters, "epsilon": "tau2_hat"}
    outputs = run_slice(train.create_pipeline(), parameters, slice_workdir, **ingested, **noised)
    plt.close(outputs["learning_curve"])
    tau2 = trained["label_heterogeneity"].estimate.tau2_hat
    # estimated before the fit, once
    assert outputs["label_heterogeneity"].estimate.tau2_hat == tau2
    assert outputs["training_config"].epsilon == "tau2_hat"  # the setting, as logged
    epsilons = [point["value"] for point in outputs["training_metrics"]["epsilon_mean"]]
    assert epsilons == pytest.approx([tau2] * QUICK_TRAINING["epochs"], rel=1e-6)


def test_labels_without_variances_train_without_tau2_hat_and_refuse_it_as_epsilon(
    ingested: dict[str, Any], slice_parameters: dict[str, Any], slice_workdir: Path
) -> None:
    parameters = {**slice_parameters, "noise": {**slice_parameters["noise"], "enabled": False}}
    clean = run_slice(noise.create_pipeline(), parameters, slice_workdir, **ingested)
    plt.close(clean["variance_histogram"])
    outputs = run_slice(train.create_pipeline(), parameters, slice_workdir, **ingested, **clean)
    plt.close(outputs["learning_curve"])
    assert outputs["label_heterogeneity"].estimate is None
    assert {"tau2_hat", "variance_share"}.isdisjoint(outputs["training_metrics"])
    asked = {**parameters, "loss": "iv", "epsilon": "tau2_hat"}
    with pytest.raises(ParameterError, match="epsilon: tau2_hat needs training labels with"):
        run_slice(train.create_pipeline(), asked, slice_workdir, **ingested, **clean)
