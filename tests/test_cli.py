"""The commands a user types, run as subprocesses in a temp copy of the project."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.conftest import REPO_ROOT
from tests.pipelines.conftest import noisy_versions, training_runs

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


def test_train_as_users_type_it(project: Path, shared_data) -> None:
    wine = f"dataset=wine,data_dir={shared_data},epochs=1"
    assert kedro(project, "run", "--params", wine).returncode == 0
    result = kedro(project, "run", "--pipeline=train", "--params", f"loss=biv,{wine}")
    assert result.returncode == 0, result.stderr[-2000:]
    runs = training_runs(project)
    assert sorted(runs["tags.mlflow.runName"]) == ["wine-biv", "wine-biv"]
    assert runs["tags.noisy_train_version"].nunique() == 1


def test_viz_build_shows_the_three_pipelines(project: Path) -> None:
    result = kedro(project, "viz", "build")
    assert result.returncode == 0, result.stderr[-2000:]
    graph = json.loads((project / "build" / "api" / "main").read_text())
    tasks = {node["name"] for node in graph["nodes"] if node["type"] == "task"}
    assert {"load_raw_dataset", "add_label_noise", "train_model"} <= tasks
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
