"""Helpers to run the real pipelines through a ``KedroSession`` in a temp project copy, and
the in-memory slices of ingest -> noise -> train that the fast tier chains (see ``slices.py``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import mlflow
import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from biv_pipeline.pipelines.ingest import pipeline as ingest
from biv_pipeline.pipelines.noise import pipeline as noise
from biv_pipeline.pipelines.train import pipeline as train
from biv_pipeline.tracking.contract import EXPERIMENT
from tests.pipelines.slices import project_parameters, run_slice

QUICK_TRAINING = {"epochs": 2}
# the slices' overrides of conf/base: 400 synthetic rows (320 train, 80 test), two epochs
SLICE_ROWS = 400
SLICE_OVERRIDES = {"ingest": {"synthetic_samples": SLICE_ROWS}, **QUICK_TRAINING}


def run_kedro(
    project: Path,
    pipelines: list[str] | None = None,
    load_versions: dict[str, str] | None = None,
    **params: Any,
) -> None:
    """``kedro run [--pipelines ...] --params ...`` in-process, as the CLI would.

    The tracking URI is made absolute: MLflow caches one store per URI string, so a relative
    ``sqlite:///mlflow.db`` would keep writing to the first test's database.
    """
    bootstrap_project(project)
    params = {"mlflow_tracking_uri": tracking_uri(project), **params}
    with KedroSession.create(project_path=project, runtime_params=params) as session:
        session.run(pipeline_names=pipelines, load_versions=load_versions)


def tracking_uri(project: Path) -> str:
    return f"sqlite:///{project / 'mlflow.db'}"


def noisy_versions(project: Path, dataset: str) -> list[Path]:
    """Every saved version of ``noisy_train`` for ``dataset``, oldest first."""
    root = project / "data" / "05_model_input" / dataset / "noisy_train.parquet"
    return sorted(root.glob("*/noisy_train.parquet"))


def read_version(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path)


def versioned_file(project: Path, layer: str, dataset: str, name: str, version: str) -> Path:
    """``data/<layer>/<dataset>/<name>/<version>/<name>``: one version of a catalog file."""
    return project / "data" / layer / dataset / name / version / name


def normalisation_of(project: Path, dataset: str) -> dict:
    """The newest saved normalisation statistics of ``dataset``."""
    root = project / "data" / "03_primary" / dataset / "normalisation.json"
    return json.loads(sorted(root.glob("*/normalisation.json"))[-1].read_text())


def training_runs(project: Path) -> pd.DataFrame:
    """The MLflow runs that trained a model (not data preparation alone), newest first."""
    mlflow.set_tracking_uri(tracking_uri(project))
    runs = mlflow.search_runs(experiment_names=[EXPERIMENT])
    if "tags.noisy_train_version" not in runs:
        return runs.iloc[0:0]
    return runs[runs["tags.noisy_train_version"].notna()].reset_index(drop=True)


@pytest.fixture
def wine_params(shared_data: Path) -> dict[str, Any]:
    return {"dataset": "wine", "data_dir": str(shared_data)}


@pytest.fixture(scope="session")
def slice_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working directory of every slice: anything written by a relative path lands here."""
    return tmp_path_factory.mktemp("slices")


@pytest.fixture(scope="session")
def slice_parameters() -> dict[str, Any]:
    """conf/base's parameters with ``SLICE_OVERRIDES``: the synthetic dataset, small and quick."""
    return project_parameters(**SLICE_OVERRIDES)


@pytest.fixture(scope="session")
def ingested(slice_parameters: dict[str, Any], slice_workdir: Path) -> dict[str, Any]:
    """The ingest slice's outputs on the synthetic dataset."""
    return run_slice(ingest.create_pipeline(), slice_parameters, slice_workdir)


@pytest.fixture(scope="session")
def noised(
    ingested: dict[str, Any], slice_parameters: dict[str, Any], slice_workdir: Path
) -> Iterator[dict[str, Any]]:
    """The noise slice's outputs, from the ingest slice's."""
    outputs = run_slice(noise.create_pipeline(), slice_parameters, slice_workdir, **ingested)
    yield outputs
    plt.close(outputs["variance_histogram"])


@pytest.fixture(scope="session")
def trained(
    ingested: dict[str, Any],
    noised: dict[str, Any],
    slice_parameters: dict[str, Any],
    slice_workdir: Path,
) -> Iterator[dict[str, Any]]:
    """The train slice's outputs, from the ingest and noise slices'."""
    upstream = {**ingested, **noised}
    outputs = run_slice(train.create_pipeline(), slice_parameters, slice_workdir, **upstream)
    yield outputs
    plt.close(outputs["learning_curve"])


@pytest.fixture(scope="session")
def wine_ingested(shared_data: Path, slice_workdir: Path) -> dict[str, Any]:
    """The ingest slice's outputs on Wine, read from ``../shared/data``."""
    parameters = project_parameters(dataset="wine", data_dir=str(shared_data))
    return run_slice(ingest.create_pipeline(), parameters, slice_workdir)
