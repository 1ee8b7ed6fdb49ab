"""The noise pipeline as an in-memory slice, fed the ingest slice's splits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from biv_pipeline.pipelines.noise.pipeline import create_pipeline
from tests.pipelines.conftest import SLICE_OVERRIDES
from tests.pipelines.slices import project_parameters, run_slice

NOISE_COLUMNS = ["y_noisy", "variance", "variance_seen", "component"]


def test_every_training_row_gets_a_noisy_label_and_its_variance(
    ingested: dict[str, Any], noised: dict[str, Any]
) -> None:
    train, noisy = ingested["train_split"], noised["noisy_train"]
    assert list(noisy.columns) == [*train.columns, *NOISE_COLUMNS]
    assert noisy.index.equals(train.index)
    np.testing.assert_array_equal(noisy["y"], train["y"])
    assert np.isfinite(noisy[NOISE_COLUMNS].to_numpy(dtype=float)).all()
    assert (noisy["variance"] >= 0).all()
    assert set(noisy["component"]) == {0, 1}  # conf/base: two components, p = 0.5
    assert not np.allclose(noisy["y_noisy"], noisy["y"])


def test_the_noisy_table_records_the_noise_block_and_the_split_it_came_from(
    ingested: dict[str, Any], noised: dict[str, Any], slice_parameters: dict[str, Any]
) -> None:
    attrs = noised["noisy_train"].attrs
    assert attrs["noise"] == slice_parameters["noise"]  # the whole YAML block reached the node
    assert attrs["dataset"] == "synthetic"
    assert attrs["ingest"] == ingested["train_split"].attrs["ingest"]
    assert "ingest_version" in attrs  # None in memory; the version of the split on disk


def test_the_variance_histogram_is_a_figure(noised: dict[str, Any]) -> None:
    assert isinstance(noised["variance_histogram"], Figure)


def test_a_noise_parameter_given_at_run_time_reaches_the_labels(
    ingested: dict[str, Any], slice_workdir: Path
) -> None:
    parameters = project_parameters(**SLICE_OVERRIDES, noise={"p": 1.0, "threshold": 0.05})
    outputs = run_slice(create_pipeline(), parameters, slice_workdir, **ingested)
    plt.close(outputs["variance_histogram"])
    noisy = outputs["noisy_train"]
    assert set(noisy["component"]) == {0}  # p = 1: the near-clean component only
    assert (noisy["variance_seen"] < 0.05).all()
    assert noisy.attrs["noise"]["p"] == 1.0
