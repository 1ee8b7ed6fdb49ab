"""The train pipeline with a classical model, as an in-memory slice fed the ingest and noise
slices' outputs: the same nodes, metrics and logged-model input as a network's run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from biv_pipeline.classical import ClassicalModel
from biv_pipeline.pipelines.train import pipeline as train
from biv_pipeline.serving import RawRowModel
from tests.pipelines.conftest import SLICE_OVERRIDES
from tests.pipelines.slices import project_parameters, run_slice

GP_ROWS = 100  # of the slice's 320 training rows
CASES: dict[str, dict[str, Any]] = {
    "linear": {"loss": "iv"},
    "gbm": {"loss": "cutoff"},
    "gp": {"loss": "mse", "gp_max_rows": GP_ROWS},
}


@pytest.fixture(scope="module", params=sorted(CASES))
def fitted(
    request: pytest.FixtureRequest,
    ingested: dict[str, Any],
    noised: dict[str, Any],
    slice_workdir: Path,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The train slice's outputs for one classical model (with ``CASES``' loss)."""
    model = request.param
    parameters = project_parameters(**SLICE_OVERRIDES, model=model, **CASES[model])
    upstream = {**ingested, **noised}
    outputs = run_slice(train.create_pipeline(), parameters, slice_workdir, **upstream)
    yield model, outputs
    plt.close(outputs["learning_curve"])


def test_a_classical_model_is_fitted_once_and_scored_like_a_network(
    fitted: tuple[str, dict[str, Any]],
) -> None:
    name, outputs = fitted
    model, metrics = outputs["trained_model"], outputs["training_metrics"]
    assert isinstance(model, ClassicalModel)
    assert (model.name, model.loss) == (name, CASES[name]["loss"])
    predictions = outputs["test_predictions"]
    final = metrics["final_test_mse"]
    assert final == [
        {"step": 0, "value": pytest.approx(np.mean(predictions.eval("y_pred - y") ** 2))}
    ]
    assert {"test_mse", "train_loss"}.isdisjoint(metrics)  # no epochs, no per-epoch curve
    assert metrics["fit_rows"] == [{"step": 0, "value": model.fit_rows}]
    assert isinstance(outputs["learning_curve"], Figure)


def test_the_labels_a_model_learns_from_follow_its_loss(
    fitted: tuple[str, dict[str, Any]], noised: dict[str, Any]
) -> None:
    name, outputs = fitted
    variance = noised["noisy_train"]["variance_seen"]
    expected = {"linear": len(variance), "gbm": int((variance < 1.0).sum()), "gp": GP_ROWS}
    assert outputs["trained_model"].fit_rows == expected[name]


def test_the_model_to_log_takes_raw_rows_as_the_networks_does(
    fitted: tuple[str, dict[str, Any]], ingested: dict[str, Any]
) -> None:
    _, outputs = fitted
    served, raw_test = outputs["mlflow_model"], ingested["raw_test"]
    features = [column for column in raw_test.columns if column != "y"]
    assert isinstance(served.model, RawRowModel)
    assert list(served.input_example.columns) == features
    raw = served.model.predict(raw_test[features])
    np.testing.assert_allclose(raw, outputs["test_predictions"]["y_pred_raw"], rtol=1e-9)


def test_linear_iv_with_epsilon_tau2_hat_fits_with_the_logged_estimate(
    ingested: dict[str, Any], noised: dict[str, Any], slice_workdir: Path
) -> None:
    def fit(epsilon: float | str) -> dict[str, Any]:
        parameters = project_parameters(
            **SLICE_OVERRIDES, model="linear", loss="iv", epsilon=epsilon
        )
        upstream = {**ingested, **noised}
        outputs = run_slice(train.create_pipeline(), parameters, slice_workdir, **upstream)
        plt.close(outputs["learning_curve"])
        return outputs

    estimated = fit("tau2_hat")
    tau2_hat = estimated["training_metrics"]["tau2_hat"][0]["value"]
    assert tau2_hat > 0
    numeric = fit(tau2_hat)
    np.testing.assert_array_equal(
        estimated["test_predictions"]["y_pred"], numeric["test_predictions"]["y_pred"]
    )
