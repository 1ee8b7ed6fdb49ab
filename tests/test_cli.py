"""The commands a user types, run as subprocesses in a temp copy of the project."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.conftest import REPO_ROOT
from tests.pipelines.conftest import noisy_versions, tracking_uri, training_runs
from tests.test_tracking_store import closed_port_uri

UNREACHABLE_WITHIN_S = 15  # issue 11: an unreachable tracking server is named this fast

KEDRO = str(Path(sys.executable).with_name("kedro"))
ENV = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true", "MLFLOW_DISABLE_TELEMETRY": "true"}


def kedro(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [KEDRO, *args],
        cwd=project,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_bad_noise_p_exits_non_zero_with_one_line_naming_it(project: Path, shared_data) -> None:
    wine = f"dataset=wine,data_dir={shared_data}"
    assert kedro(project, "run", "--pipelines=ingest,noise", "--params", wine).returncode == 0
    result = kedro(project, "run", "--pipelines=noise", "--params", f"{wine},noise.p=1.5")
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("Error: ")
    assert "noise.p: input should be less than or equal to 1; got 1.5" in last_line
    assert "Traceback" not in result.stderr
    assert len(noisy_versions(project, "wine")) == 1


def single_error_line(stderr: str) -> str:
    """The one ``Error:`` line of a command that failed on a bad input (and no traceback)."""
    errors = [line for line in stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, stderr[-3000:]
    assert "Traceback" not in stderr
    return errors[0]


def files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


def running_runs(project: Path) -> list[str]:
    """The ids of the runs left RUNNING in the project's mlflow.db (none if it has none)."""
    if not (project / "mlflow.db").is_file():
        return []
    import mlflow  # noqa: PLC0415 - only the tests that read runs pay for it

    client = mlflow.MlflowClient(tracking_uri(project))
    experiments = [experiment.experiment_id for experiment in client.search_experiments()]
    runs = client.search_runs(experiments, "attributes.status = 'RUNNING'") if experiments else []
    return [run.info.run_id for run in runs]


def test_an_unreachable_tracking_server_is_one_line_within_15_s(
    project: Path, shared_data: Path
) -> None:
    uri = closed_port_uri()
    params = f"dataset=wine,data_dir={shared_data},epochs=1,mlflow_tracking_uri={uri}"
    started = time.monotonic()
    result = kedro(project, "run", "--pipeline=train", "--params", params)
    seconds = time.monotonic() - started
    assert result.returncode != 0
    line = single_error_line(result.stderr)
    assert uri in line and "connection refused" in line
    assert seconds < UNREACHABLE_WITHIN_S
    assert running_runs(project) == []
    assert files_under(project / "data") == []


def test_a_locked_mlflow_db_is_one_line_and_writes_nothing(
    project: Path, shared_data: Path
) -> None:
    import mlflow  # noqa: PLC0415

    mlflow.MlflowClient(tracking_uri(project)).search_experiments()  # create the tables
    holder = sqlite3.connect(project / "mlflow.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # as another process writing to it would
    try:
        params = f"dataset=wine,data_dir={shared_data},epochs=1"
        result = kedro(project, "run", "--pipeline=train", "--params", params)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.returncode != 0
    line = single_error_line(result.stderr)
    assert "the MLflow database mlflow.db is locked by another process" in line
    assert running_runs(project) == []
    assert files_under(project / "data") == []


def test_train_as_users_type_it(project: Path, shared_data) -> None:
    """The README's flow: the whole pipeline (BIV), then MSE on the same labels."""
    wine = f"dataset=wine,data_dir={shared_data},epochs=1"
    assert kedro(project, "run", "--params", wine).returncode == 0
    result = kedro(project, "run", "--pipeline=train", "--params", f"loss=mse,{wine}")
    assert result.returncode == 0, result.stderr[-2000:]
    runs = training_runs(project)
    names = sorted(runs["tags.mlflow.runName"])
    assert names[0].startswith("wine-biv-eps0.5-") and names[1].startswith("wine-mse-")
    assert runs["tags.noisy_train_version"].nunique() == 1


def test_viz_build_shows_the_three_pipelines(project: Path) -> None:
    result = kedro(project, "viz", "build")
    assert result.returncode == 0, result.stderr[-2000:]
    graph = json.loads((project / "build" / "api" / "main").read_text())
    tasks = {node["name"] for node in graph["nodes"] if node["type"] == "task"}
    assert {"load_raw_dataset", "add_label_noise", "train_model"} <= tasks
    (images,) = [node for node in graph["nodes"] if node["name"] == "image_cache"]
    assert images["type"] == "data"
    assert images["layer"] == "raw"
    readers = {edge["target"] for edge in graph["edges"] if edge["source"] == images["id"]}
    assert {node["id"] for node in graph["nodes"] if node["name"] == "train_model"} <= readers
    assert {"ingest", "noise", "train"} <= {pipeline["id"] for pipeline in graph["pipelines"]}
    assert {"raw", "primary", "model_input", "reporting"} <= set(graph["layers"])


def test_python_m_biv_pipeline_help_shows_the_run_options(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "biv_pipeline", "--help"],
        cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Usage: python -m biv_pipeline" in result.stdout
    assert "--params" in result.stdout


def test_sweep_params_are_read_as_kedro_run_reads_them(monkeypatch: pytest.MonkeyPatch) -> None:
    from biv_pipeline import cli  # noqa: PLC0415 - the module under test
    from biv_pipeline.sweeps import runner  # noqa: PLC0415

    calls = []

    def record(spec: Any, project: Path, uri: str, backend: str, overrides: dict) -> Any:
        calls.append(overrides)
        return runner.SweepResult(0, 0, 0, [])

    monkeypatch.setattr(cli, "bootstrap_project", lambda path: None)
    monkeypatch.setattr(runner, "run_sweep", record)
    spec = REPO_ROOT / "conf/base/sweeps/smoke_wine.yml"
    args = ["sweep", str(spec), "--params", "lr=1e-3,noise.p=0.3"]
    result = CliRunner().invoke(cli.cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert calls == [{"lr": 0.001, "noise.p": 0.3}]
