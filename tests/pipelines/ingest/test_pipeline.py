"""The ingest pipeline as an in-memory slice: its real wiring and conf/base's parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from biv_pipeline.data.table_reader import raw_line
from biv_pipeline.pipelines.ingest import pipeline as ingest
from tests.pipelines.conftest import SLICE_ROWS
from tests.pipelines.slices import project_parameters, run_slice

SPLITS = ("train_split", "test_split", "normalisation")  # what noise and train read
SYNTHETIC_FEATURES = 8  # conf/base: ingest.synthetic_features
WINE_FEATURES = 11


def test_synthetic_rows_are_split_eighty_twenty(ingested: dict[str, Any]) -> None:
    assert set(SPLITS) <= set(ingested)
    train, test = ingested["train_split"], ingested["test_split"]
    assert (len(train), len(test)) == (SLICE_ROWS * 4 // 5, SLICE_ROWS // 5)
    assert train.index.intersection(test.index).empty
    features = [f"x{i}" for i in range(SYNTHETIC_FEATURES)]
    assert list(train.columns) == list(test.columns) == [*features, "y"]


def test_the_splits_are_standardised_with_the_training_statistics(
    ingested: dict[str, Any],
) -> None:
    raw_train, train = ingested["raw_train"], ingested["train_split"]
    stats = ingested["normalisation"]
    assert stats["normalized"] is True
    raw_y = raw_train["y"].to_numpy(dtype=np.float64)
    assert stats["label_mean"] == pytest.approx(raw_y.mean())
    assert stats["label_std"] == pytest.approx(raw_y.std())
    assert train["y"].mean() == pytest.approx(0.0, abs=1e-9)
    assert train["y"].std(ddof=0) == pytest.approx(1.0)
    raw_test, test = ingested["raw_test"], ingested["test_split"]
    expected = (raw_test["y"] - stats["label_mean"]) / stats["label_std"]
    np.testing.assert_allclose(test["y"], expected)


def test_the_splits_carry_their_provenance(ingested: dict[str, Any]) -> None:
    for split in ("train_split", "test_split"):
        attrs = ingested[split].attrs
        assert attrs["dataset"] == "synthetic"
        assert (attrs["train_rows"], attrs["test_rows"]) == (SLICE_ROWS * 4 // 5, SLICE_ROWS // 5)
        assert attrs["ingest"]["synthetic_samples"] == SLICE_ROWS
        assert attrs["ingest"]["split_seed"] == 7159  # conf/base, not a default in code


def test_wine_is_read_from_the_shared_csvs_in_the_original_sizes(
    wine_ingested: dict[str, Any], shared_data: Path
) -> None:
    train, test = wine_ingested["train_split"], wine_ingested["test_split"]
    assert (len(train), len(test)) == (4000, 2497)
    assert len(train.columns) == WINE_FEATURES + 1
    assert "quality" not in train.columns
    assert train.attrs["dataset"] == "wine"
    assert train.attrs["data_dir"] == str(shared_data)
    assert set(wine_ingested["raw_test"]["y"].unique()) <= set(range(3, 10))  # quality scores
    assert train["y"].mean() == pytest.approx(0.0, abs=1e-9)


def write_gappy_table(folder: Path) -> dict[str, Any]:
    """Two files of one table where about a fifth of the labels are missing, with a blank
    line in the second file; returns the declaration."""
    rng = np.random.default_rng(3)
    for number, rows in ((1, 120), (2, 200)):
        frame = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.integers(0, 9, rows)})
        frame["target"] = (frame["a"] * 3 + frame["b"]).round(6).astype(str)
        frame.loc[rng.random(rows) < 0.2, "target"] = ""
        lines = frame.to_csv(index=False).splitlines()
        if number == 2:
            lines.insert(50, "")
        (folder / f"part{number}.csv").write_text("\n".join(lines) + "\n")
    return {
        "kind": "csv",
        "files": ["part1.csv", "part2.csv"],
        "label": "target",
        "split": [150, 80],
    }


def test_every_test_row_finds_its_raw_line_when_rows_are_dropped(tmp_path: Path) -> None:
    """``row`` is the position among the files' data rows, in order, through the drop of
    the unlabelled rows: each test row's line in its file holds its features and label."""
    declaration = write_gappy_table(tmp_path)
    parameters = project_parameters(
        dataset="gappy", data_dir=str(tmp_path), datasets={"gappy": declaration}
    )
    outputs = run_slice(ingest.create_pipeline(), parameters, tmp_path)
    raw_test = outputs["raw_test"]
    assert raw_test.attrs["rows_missing_label"] > 0
    assert raw_test.index.name == "row"
    first_file_rows = sum(1 for line in (tmp_path / "part1.csv").open() if line.strip()) - 1
    for row, values in raw_test.iterrows():
        path, line = raw_line(row, raw_test.attrs, tmp_path)
        text = path.read_text().splitlines()[line - 1]
        assert path.name == ("part1.csv" if row < first_file_rows else "part2.csv")
        a, b, target = (float(cell) for cell in text.split(","))
        assert (values["a"], values["b"], values["y"]) == (a, b, target), (row, line)
