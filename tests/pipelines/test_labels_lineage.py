"""A train-only run reads labels made with its own parameters: the labels' key, and the
versions a run plans to read from a catalog on disk (no session)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from kedro.io import DataCatalog
from kedro.io.core import Version

from biv_pipeline.catalog.atomic_io import JSONDataset, ParquetDataset
from biv_pipeline.catalog.lineage import plan_versions
from biv_pipeline.errors import LineageError
from biv_pipeline.parameters.labels import (
    LABELS_KEY,
    differences,
    key_of_provenance,
    labels_key,
    recipe_of_parameters,
    recipe_of_provenance,
)
from biv_pipeline.pipelines.train.pipeline import create_pipeline as train_pipeline
from tests.pipelines.slices import project_parameters

INGEST = "2026-12-01T10.00.00.000Z"


def test_labels_carry_the_key_of_the_parameters_that_made_them(
    noised: dict[str, Any], slice_parameters: dict[str, Any], slice_workdir: Path
) -> None:
    attrs = noised["noisy_train"].attrs
    older = {k: v for k, v in attrs.items() if k != LABELS_KEY}
    with contextlib.chdir(slice_workdir):  # where the slice ran: data_dir is relative to it
        assert attrs[LABELS_KEY] == labels_key(recipe_of_parameters(slice_parameters))
        assert key_of_provenance(attrs) == attrs[LABELS_KEY]
        # labels saved before the key was stored: computed from their provenance
        assert key_of_provenance(json.loads(json.dumps(older))) == attrs[LABELS_KEY]


@pytest.mark.parametrize(
    "change",
    [{"noise": {"seed": 1}}, {"noise": {"p": 0.3}}, {"ingest": {"split_seed": 1}},
     {"dataset": "bike"}, {"data_dir": "elsewhere"}, {"datasets": {"wine": {"drop": ["pH"]}}}],
)  # fmt: skip
def test_what_shapes_the_labels_changes_the_key(change: dict[str, Any]) -> None:
    base = project_parameters(dataset="wine")
    assert labels_key(
        recipe_of_parameters(project_parameters(**{"dataset": "wine", **change}))
    ) != (labels_key(recipe_of_parameters(base)))


@pytest.mark.parametrize(
    "change",
    [{"ingest": {"decode_workers": 4, "download": False}}, {"datasets": {"wine": {"lr": 0.1}}},
     {"loss": "mse", "epochs": 3, "seed": 5}, {"data_dir": "./data/01_raw/"}],
)  # fmt: skip
def test_what_does_not_shape_the_labels_keeps_the_key(change: dict[str, Any]) -> None:
    base = project_parameters(dataset="wine")
    assert labels_key(
        recipe_of_parameters(project_parameters(**{"dataset": "wine", **change}))
    ) == (labels_key(recipe_of_parameters(base)))


def test_differences_name_the_key_their_value_and_ours() -> None:
    ours = recipe_of_parameters(project_parameters())
    theirs = recipe_of_parameters(project_parameters(noise={"seed": 1}, ingest={"split_seed": 2}))
    assert differences(theirs, ours) == "ingest.split_seed=2 (here 7159), noise.seed=1 (here 7159)"


def versioned(cls: type, path: Path, version: str | None = None, save: str | None = None) -> Any:
    return cls(filepath=str(path), version=Version(version, save))


def catalog_on_disk(folder: Path) -> DataCatalog:
    """The datasets a train-only run reads, versioned under ``folder``."""
    return DataCatalog(
        {
            "noisy_train": versioned(ParquetDataset, folder / "noisy_train.parquet"),
            "train_split": versioned(ParquetDataset, folder / "train.parquet"),
            "test_split": versioned(ParquetDataset, folder / "test.parquet"),
            "normalisation": versioned(JSONDataset, folder / "normalisation.json"),
        }
    )


def save_ingest(folder: Path) -> None:
    split = pd.DataFrame({"x": [0.0], "y": [1.0]})
    for cls, name, data in [
        (ParquetDataset, "train.parquet", split),
        (ParquetDataset, "test.parquet", split),
        (JSONDataset, "normalisation.json", {"normalized": True}),
    ]:
        versioned(cls, folder / name, save=INGEST).save(data)


def save_labels(folder: Path, version: str, parameters: dict[str, Any]) -> None:
    """A noisy_train version whose provenance says it was made with ``parameters``."""
    frame = pd.DataFrame({"x": [0.0], "y": [1.0], "y_noisy": [1.1], "variance_seen": [0.1]})
    frame.attrs = {
        "dataset": parameters["dataset"],
        "data_dir": parameters["data_dir"],
        "ingest": parameters["ingest"],
        "noise": parameters["noise"],
        "ingest_version": INGEST,
    }
    frame.attrs[LABELS_KEY] = labels_key(recipe_of_provenance(frame.attrs))
    versioned(ParquetDataset, folder / "noisy_train.parquet", save=version).save(frame)


def plan(folder: Path, parameters: dict[str, Any], pinned: dict[str, str] | None = None) -> str:
    lineage = plan_versions(
        catalog_on_disk(folder), train_pipeline(), "2026-12-09T00.00.00.000Z", pinned or {},
        parameters,
    )  # fmt: skip
    return lineage.pins["noisy_train"]


@pytest.fixture
def labels_of_two_settings(tmp_path: Path) -> Path:
    """Labels made with the default parameters, then newer ones with noise seed 1 (a sweep's)."""
    save_ingest(tmp_path)
    save_labels(tmp_path, "2026-12-02T00.00.00.000Z", project_parameters())
    save_labels(tmp_path, "2026-12-03T00.00.00.000Z", project_parameters(noise={"seed": 1}))
    return tmp_path


def test_a_train_only_run_reads_the_newest_labels_made_with_its_own_parameters(
    labels_of_two_settings: Path,
) -> None:
    assert plan(labels_of_two_settings, project_parameters()) == "2026-12-02T00.00.00.000Z"
    seed_1 = project_parameters(noise={"seed": 1}, loss="mse")
    assert plan(labels_of_two_settings, seed_1) == "2026-12-03T00.00.00.000Z"


def test_without_labels_of_its_parameters_a_run_lists_the_versions_and_how_they_differ(
    labels_of_two_settings: Path,
) -> None:
    with pytest.raises(LineageError) as refused:
        plan(labels_of_two_settings, project_parameters(noise={"p": 0.3}))
    assert str(refused.value) == (
        "no noisy_train version of dataset 'synthetic' was made with this run's parameters; "
        "versions there: 2026-12-03T00.00.00.000Z (noise.p=0.5 (here 0.3), noise.seed=1 (here "
        "7159)); 2026-12-02T00.00.00.000Z (noise.p=0.5 (here 0.3)). Make one with `kedro run "
        "--pipelines=ingest,noise` and this run's --params, or pin one with "
        "--load-versions=noisy_train:VERSION"
    )


def test_a_pinned_version_wins_over_the_parameters(labels_of_two_settings: Path) -> None:
    pinned = {"noisy_train": "2026-12-03T00.00.00.000Z"}
    assert plan(labels_of_two_settings, project_parameters(), pinned) == pinned["noisy_train"]
