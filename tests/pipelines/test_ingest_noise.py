"""ingest + noise end to end through a real KedroSession, on Wine and on synthetic."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from biv_pipeline.errors import ParameterError
from biv_pipeline.parameters.contract import parse_block
from tests.pipelines.conftest import noisy_versions, normalisation_of, read_version, run_kedro


def test_wine_ingest_and_noise_write_a_versioned_noisy_table(project: Path, wine_params) -> None:
    run_kedro(project, ["ingest", "noise"], **wine_params)
    (version,) = noisy_versions(project, "wine")
    noisy = read_version(version)
    assert len(noisy) == 4000
    assert {"y", "y_noisy", "variance", "variance_seen", "component"} <= set(noisy.columns)
    assert len(noisy.columns) == 11 + 5
    assert noisy.attrs["dataset"] == "wine"
    assert noisy.attrs["noise"]["p"] == 0.5
    stats = normalisation_of(project, "wine")
    assert stats["normalized"] is True
    assert noisy["y"].mean() == pytest.approx(0.0, abs=1e-9)
    histogram = project / "data/08_reporting/wine/variance_histogram.png"
    assert len(list(histogram.glob("*/variance_histogram.png"))) == 1


def test_running_twice_gives_two_identical_versions(project: Path, wine_params) -> None:
    run_kedro(project, ["ingest", "noise"], **wine_params)
    run_kedro(project, ["ingest", "noise"], **wine_params)
    first, second = noisy_versions(project, "wine")
    assert first.parent.name != second.parent.name
    assert read_version(first).equals(read_version(second))


def test_raw_units_are_divided_by_the_label_variance(project: Path, wine_params) -> None:
    noise = {"units": "raw", "components": [[0.5, 0.01]], "p": 1.0}
    run_kedro(project, ["ingest", "noise"], **wine_params, noise=noise)
    noisy = read_version(noisy_versions(project, "wine")[-1])
    stats = normalisation_of(project, "wine")
    expected_mean = 0.5 / stats["label_std"] ** 2
    assert noisy["variance"].mean() == pytest.approx(expected_mean, rel=0.02)


def test_threshold_drops_the_noisy_rows(project: Path, wine_params) -> None:
    run_kedro(project, ["ingest", "noise"], **wine_params, noise={"threshold": 1.0})
    noisy = read_version(noisy_versions(project, "wine")[-1])
    assert (noisy["variance_seen"] < 1.0).all()
    assert 1500 < len(noisy) < 2500  # about half the labels come from the near-clean component


def test_a_bad_noise_parameter_fails_before_writing_a_version(project: Path, wine_params) -> None:
    run_kedro(project, ["ingest", "noise"], **wine_params)
    with pytest.raises(
        Exception, match=r"noise.p: input should be less than or equal to 1; got 1.5"
    ):
        run_kedro(project, ["noise"], **wine_params, noise={"p": 1.5})
    assert len(noisy_versions(project, "wine")) == 1


def test_a_bad_dataset_fails_before_anything_is_written(project: Path) -> None:
    with pytest.raises(ValueError, match="dataset must be one of synthetic, utkf, wine, bike"):
        run_kedro(project, dataset="mnist")
    assert not list((project / "data").rglob("*.parquet"))


def test_a_data_dir_without_the_files_is_named(project: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(Exception, match=r"wine/winequality-red.csv"):
        run_kedro(
            project, ["ingest"], dataset="wine", data_dir=str(empty), ingest={"download": False}
        )


def test_default_run_needs_no_data_and_no_network(project: Path) -> None:
    run_kedro(project, ["ingest", "noise"])
    (version,) = noisy_versions(project, "synthetic")
    noisy = read_version(version)
    assert len(noisy) == 4000
    assert np.isfinite(noisy["y_noisy"]).all()


def test_datasets_keep_separate_version_histories(project: Path, wine_params) -> None:
    run_kedro(project, ["ingest", "noise"], **wine_params)
    run_kedro(project, ["ingest", "noise"])
    assert len(noisy_versions(project, "wine")) == 1
    assert len(noisy_versions(project, "synthetic")) == 1


def test_a_max_bad_fraction_outside_0_to_1_is_refused_with_the_ingest_block() -> None:
    with pytest.raises(ParameterError, match=r"ingest.max_bad_fraction must be .*; got 1.5"):
        parse_block("ingest", {"max_bad_fraction": 1.5})
