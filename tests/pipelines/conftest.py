"""Helpers to run the real pipelines through a ``KedroSession`` in a temp project copy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from biv_pipeline.tracking.contract import EXPERIMENT

QUICK_TRAINING = {"epochs": 2}


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
