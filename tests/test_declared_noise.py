"""Declared label noise: the declaration's rules, the variances read from a table (std,
variance, repeats), their units after standardisation, and noise.source."""

from __future__ import annotations

import re
import statistics
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from biv_pipeline.data.declared_noise import declared_labels, resolve_source
from biv_pipeline.data.preprocessing import apply_normalisation, fit_normalisation
from biv_pipeline.data.registry import SourceOptions, feature_columns, get_dataset
from biv_pipeline.data.schema import DECLARED, LABEL, clean_label_column
from biv_pipeline.errors import ParameterError
from biv_pipeline.losses import BIVLoss, IVLoss
from biv_pipeline.noise import NoiseConfig, corrupt_labels
from biv_pipeline.parameters.contract import parse_block

ROWS = 60
COMPONENTS = [[0.05, 0.0008], [10.0, 30.0]]


def write_table(folder: Path) -> pd.DataFrame:
    """A table with a noisy reading, its std, its clean value and three repeated readings (the
    last row has one reading only)."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=ROWS)
    clean = 3 * x + 1
    std = rng.uniform(0.0, 2.0, ROWS)
    repeats = clean[:, None] + rng.normal(size=(ROWS, 3))
    repeats[-1, 1:] = np.nan
    frame = pd.DataFrame(
        {
            "x": x,
            "reading": clean + std * rng.normal(size=ROWS),
            "sd": std,
            "truth": clean,
            "r1": repeats[:, 0],
            "r2": repeats[:, 1],
            "r3": repeats[:, 2],
        }
    )
    (folder / "t").mkdir(parents=True)
    frame.to_csv(folder / "t" / "table.csv", index=False)
    return frame


def declared(**settings: object) -> dict:
    return {"kind": "csv", "files": ["t/table.csv"], **settings}


def load(folder: Path, block: dict) -> pd.DataFrame:
    return get_dataset("t", {"t": block}).load(SourceOptions(data_dir=folder))


def test_a_std_becomes_a_variance_and_never_a_feature(tmp_path: Path) -> None:
    raw = write_table(tmp_path)
    block = declared(label="reading", std="sd", clean_label="truth", drop=["r1", "r2", "r3"])
    frame = load(tmp_path, block)
    assert feature_columns(frame) == ["x"]
    np.testing.assert_array_equal(frame[LABEL], raw["reading"])
    np.testing.assert_allclose(frame[DECLARED.variance], raw["sd"] ** 2)
    np.testing.assert_array_equal(frame[DECLARED.clean], raw["truth"])
    assert get_dataset("t", {"t": block}).declares_noise


def test_a_variance_column_is_taken_as_it_is(tmp_path: Path) -> None:
    raw = write_table(tmp_path)
    frame = load(tmp_path, declared(label="reading", variance="sd", drop=["r1", "r2", "r3"]))
    np.testing.assert_array_equal(frame[DECLARED.variance], raw["sd"])
    assert clean_label_column(frame) is None  # noisy labels, no clean ones


def test_repeats_give_their_mean_and_the_variance_of_the_mean(tmp_path: Path) -> None:
    raw = write_table(tmp_path)
    block = declared(repeats=["r1", "r2", "r3"], drop=["reading", "sd", "truth"])
    frame = load(tmp_path, block)
    assert len(frame) == ROWS - 1  # the row with one reading has no label
    assert frame.attrs["rows_missing_label"] == 1
    for row, values in enumerate(raw[["r1", "r2", "r3"]].to_numpy()[:-1]):
        readings = list(values)
        assert frame[LABEL].iloc[row] == pytest.approx(statistics.fmean(readings), rel=1e-12)
        expected = statistics.variance(readings) / len(readings)
        assert frame[DECLARED.variance].iloc[row] == pytest.approx(expected, rel=1e-12)


def test_a_repeat_may_be_missing_in_a_row(tmp_path: Path) -> None:
    raw = write_table(tmp_path)
    raw.loc[0, "r3"] = np.nan
    raw.to_csv(tmp_path / "t" / "table.csv", index=False)
    frame = load(tmp_path, declared(repeats=["r1", "r2", "r3"], drop=["reading", "sd", "truth"]))
    readings = list(raw.loc[0, ["r1", "r2"]])
    assert frame[DECLARED.variance].iloc[0] == pytest.approx(statistics.variance(readings) / 2)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"label": "reading", "std": "sd", "variance": "sd"}, "declares std and variance"),
        ({"label": "reading", "repeats": ["r1", "r2"]}, "declares both label and repeats"),
        ({"repeats": ["r1"]}, "repeats must name at least 2 columns"),
        ({"repeats": [1, 2]}, "repeats must be a list of column names"),
        ({"label": "reading", "std": ["sd"]}, "std must be a column name; got ['sd']"),
        ({"label": "reading", "clean_label": "truth"}, "clean_label needs the label's noise"),
        ({"label": "reading", "std": "sd", "features": ["x", "sd"]}, "'sd' is declared as std"),
        ({"label": "sd", "std": "sd"}, "column 'sd' is declared as std"),
    ],
)
def test_a_bad_noise_declaration_names_the_setting(settings: dict, message: str) -> None:
    with pytest.raises(ParameterError, match=re.escape(message)):
        get_dataset("t", {"t": declared(**settings)})


def test_standardising_divides_the_declared_variance_by_the_label_variance(
    tmp_path: Path,
) -> None:
    raw = write_table(tmp_path)
    block = declared(label="reading", std="sd", clean_label="truth", drop=["r1", "r2", "r3"])
    frame = load(tmp_path, block)
    stats = fit_normalisation(frame, normalize=True)
    scaled = apply_normalisation(frame, stats)
    np.testing.assert_allclose(scaled[DECLARED.variance], raw["sd"] ** 2 / stats.label_std**2)
    expected_clean = (frame[DECLARED.clean] - stats.label_mean) / stats.label_std
    np.testing.assert_allclose(scaled[DECLARED.clean], expected_clean)


# --- noise.source -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "declares", "resolved"),
    [
        ("auto", True, "declared"),
        ("auto", False, "synthetic"),
        ("synthetic", True, "synthetic"),
        ("declared_plus_synthetic", True, "declared_plus_synthetic"),
    ],
)
def test_auto_reads_declared_for_a_table_that_declares_variances(
    source: str, declares: bool, resolved: str
) -> None:
    config = NoiseConfig(components=COMPONENTS, source=source)
    assert resolve_source(config, declares, "t") == resolved


@pytest.mark.parametrize("source", ["declared", "declared_plus_synthetic"])
def test_a_declared_source_needs_declared_variances(source: str) -> None:
    config = NoiseConfig(components=COMPONENTS, source=source)
    with pytest.raises(ParameterError, match=f"noise.source: {source} needs a dataset"):
        resolve_source(config, False, "wine")


def test_declared_plus_synthetic_with_the_noise_off_is_refused() -> None:
    block = {"components": COMPONENTS, "source": "declared_plus_synthetic", "enabled": False}
    with pytest.raises(ParameterError, match=r"use noise\.source: declared for the declared"):
        parse_block("noise", block)


def test_declared_labels_pass_through_with_their_variances() -> None:
    y, variance = np.array([0.5, -1.0, 2.0]), np.array([0.0, 0.3, 1.2])
    config = NoiseConfig(components=COMPONENTS, source="declared")
    labels = declared_labels(y, variance, config, 1.0, np.random.default_rng(0), "declared")
    np.testing.assert_array_equal(labels.y_noisy, y)
    np.testing.assert_array_equal(labels.variance, variance)
    np.testing.assert_array_equal(labels.variance_seen, variance)
    assert labels.component is None


def test_declared_labels_take_tau2_as_noise_their_variances_miss() -> None:
    y, variance = np.zeros(20_000), np.full(20_000, 0.3)
    config = NoiseConfig(components=COMPONENTS, source="declared", tau2=2.0)
    labels = declared_labels(y, variance, config, 0.5, np.random.default_rng(0), "declared")
    np.testing.assert_array_equal(labels.variance, variance)  # recorded in no variance
    assert np.var(labels.y_noisy) == pytest.approx(2.0 * 0.5, rel=0.05)


def test_declared_plus_synthetic_adds_the_sampled_noise_and_variances() -> None:
    rng = np.random.default_rng(3)
    y, variance = rng.normal(size=100), rng.uniform(0, 1, 100)
    config = NoiseConfig(components=COMPONENTS, source="declared_plus_synthetic", seed=5)
    labels = declared_labels(
        y, variance, config, 0.5, np.random.default_rng(5), "declared_plus_synthetic"
    )
    sampled = corrupt_labels(y, config, 0.5, np.random.default_rng(5))
    np.testing.assert_array_equal(labels.y_noisy, sampled.y_noisy)
    np.testing.assert_allclose(labels.variance, variance + sampled.variance)
    np.testing.assert_array_equal(labels.component, sampled.component)


@pytest.mark.parametrize("loss", [IVLoss(epsilon=0.0), BIVLoss(epsilon=0.0)])
def test_epsilon_zero_refuses_labels_of_variance_zero_naming_them(loss) -> None:
    variance = torch.tensor([0.5, 0.0, 1.0, 0.0])
    with pytest.raises(ParameterError, match=r"2 training labels of variance 0 .*rows 1, 3 of"):
        loss.check_labels(variance)
    BIVLoss(epsilon=0.1).check_labels(variance)  # any epsilon > 0 bounds the weights
    loss.check_labels(variance + 0.1)
