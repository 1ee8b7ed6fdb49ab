"""A table that declares its label noise through the in-memory ingest -> noise -> train slices:
the test split keeps its noise, the declared labels are the training labels, and the metrics
say what they can (the clean test MSE only where a clean label is declared)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from biv_pipeline.data.registry import make_synthetic, register_datasets
from biv_pipeline.data.schema import DECLARED, NOISY
from biv_pipeline.pipelines.ingest import pipeline as ingest
from biv_pipeline.pipelines.noise import pipeline as noise
from biv_pipeline.pipelines.train import pipeline as train
from biv_pipeline.training import noisy_test_scores
from tests.pipelines.conftest import QUICK_TRAINING
from tests.pipelines.slices import project_parameters, run_slice

ROWS = 300


def declared_table(folder: Path) -> None:
    """The synthetic problem with a bimodal per-row std, noisy readings and the clean values."""
    frame = make_synthetic(ROWS, 4, seed=2)
    rng = np.random.default_rng(2)
    std = np.where(rng.random(ROWS) < 0.5, 0.1, 1.5)
    frame["reading"] = frame["y"] + std * rng.standard_normal(ROWS)
    frame = frame.rename(columns={"y": "truth"}).assign(sd=std)
    (folder / "declared").mkdir(parents=True)
    frame.to_csv(folder / "declared" / "readings.csv", index=False)


def run_slices(folder: Path, workdir: Path, **settings: Any) -> dict[str, Any]:
    block = {"kind": "csv", "files": ["declared/readings.csv"], "label": "reading", **settings}
    parameters = project_parameters(
        dataset="declared", data_dir=str(folder), datasets={"declared": block}, **QUICK_TRAINING
    )
    register_datasets(parameters["datasets"])  # as the project's hook does: `lr: auto` reads it
    try:
        outputs = run_slice(ingest.create_pipeline(), parameters, workdir)
        outputs |= run_slice(noise.create_pipeline(), parameters, workdir, **outputs)
        outputs |= run_slice(train.create_pipeline(), parameters, workdir, **outputs)
    finally:
        register_datasets(None)
    return outputs


@pytest.fixture(scope="module")
def std_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("declared")
    declared_table(folder)
    outputs = run_slices(folder, tmp_path_factory.mktemp("work"), std="sd", drop=["truth"])
    yield outputs
    plt.close("all")


def test_the_declared_labels_and_variances_are_the_training_labels(
    std_only: dict[str, Any],
) -> None:
    split, noisy = std_only["train_split"], std_only["noisy_train"]
    label_std = std_only["normalisation"]["label_std"]
    np.testing.assert_array_equal(noisy[NOISY.y_noisy], split["y"])
    np.testing.assert_allclose(noisy[NOISY.variance], split[DECLARED.variance])
    raw = std_only["raw_train"]
    np.testing.assert_allclose(noisy[NOISY.variance_seen], raw[DECLARED.variance] / label_std**2)
    assert noisy[NOISY.component].isna().all()
    assert noisy.attrs["noise_source"] == "declared"


def test_the_test_split_keeps_its_noise(std_only: dict[str, Any]) -> None:
    test = std_only["test_split"]
    assert DECLARED.variance in test
    assert DECLARED.clean not in test


def test_without_clean_labels_the_metrics_are_the_noisy_scores(std_only: dict[str, Any]) -> None:
    metrics = std_only["training_metrics"]
    assert "final_test_mse" not in metrics
    assert "test_mse" not in metrics
    predictions = std_only["test_predictions"]
    expected = noisy_test_scores(
        predictions["y_pred"], predictions["y"], std_only["test_split"][DECLARED.variance]
    )
    for name, value in expected.items():
        assert metrics[f"final_{name}"][0]["value"] == pytest.approx(value, rel=1e-12)
        steps = [point["step"] for point in metrics[name]]
        assert steps == list(range(1, QUICK_TRAINING["epochs"] + 1))


def test_a_declared_clean_label_gives_the_clean_test_mse(tmp_path: Path) -> None:
    declared_table(tmp_path / "data")
    outputs = run_slices(tmp_path / "data", tmp_path, std="sd", clean_label="truth")
    predictions, test = outputs["test_predictions"], outputs["test_split"]
    clean = pd.to_numeric(test[DECLARED.clean])
    expected = float(((predictions["y_pred"] - clean) ** 2).mean())
    metrics = outputs["training_metrics"]
    assert metrics["final_test_mse"][0]["value"] == pytest.approx(expected)
    assert "final_test_mse_clean_est" in metrics
    assert "truth" not in outputs["noisy_train"]  # never a feature
    plt.close("all")
