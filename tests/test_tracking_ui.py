"""`kedro runs-ui`: MLflow's UI started to answer in seconds, opened on the runs table with the
project's columns (the page itself is checked by scripts/mlflow_ui_screenshot.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import mlflow
from click.testing import CliRunner

from biv_pipeline.cli import cli
from biv_pipeline.tracking import ui
from biv_pipeline.tracking.contract import EXPERIMENT

COLUMNS = [
    "metrics.`final_test_mse`",
    "params.`train.loss`",
    "params.`data.noise.p`",
    "tags.`noisy_train_version`",
]


def test_the_ui_starts_on_the_loopback_with_one_worker_and_no_job_runner() -> None:
    command, env = ui.ui_command("sqlite:////tmp/x/mlflow.db", 5123)
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert command[command.index("--port") + 1] == "5123"
    assert command[command.index("--workers") + 1] == "1"
    assert env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"


def test_the_address_opens_the_runs_table_in_the_projects_view() -> None:
    url = ui.runs_table_url("http://127.0.0.1:5000", "7")
    assert url == (
        "http://127.0.0.1:5000/#/experiments/7/runs?viewStateShareKey=biv-pipeline-runs"
        "&workflowType=machine_learning"
    )


class FakeClient:
    """The part of MlflowClient the UI command uses, in memory."""

    experiments: ClassVar[dict[str, dict]] = {}

    def __init__(self, uri: str) -> None:
        self.uri = uri

    def get_experiment_by_name(self, name: str) -> SimpleNamespace | None:
        found = [i for i, e in self.experiments.items() if e["name"] == name]
        return SimpleNamespace(experiment_id=found[0]) if found else None

    def create_experiment(self, name: str, tags: dict[str, str]) -> str:
        self.experiments[str(len(self.experiments))] = {"name": name, "tags": dict(tags)}
        return str(len(self.experiments) - 1)

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        self.experiments[experiment_id]["tags"][key] = value


def test_the_experiment_carries_the_view_with_the_projects_columns(monkeypatch) -> None:
    monkeypatch.setattr(mlflow, "MlflowClient", FakeClient)
    monkeypatch.setattr(FakeClient, "experiments", {})
    experiment_id = ui.prepare_experiment("sqlite:///mlflow.db")
    experiment = FakeClient.experiments[experiment_id]
    assert experiment["name"] == EXPERIMENT
    assert experiment["tags"]["mlflow.experimentKind"] == "custom_model_development"
    # MLflow 3.17's saved-view envelope: name, times and the view as a JSON string
    envelope = json.loads(experiment["tags"]["mlflow.sharedViewState.biv-pipeline-runs"])
    assert isinstance(envelope["name"], str) and isinstance(envelope["createdAt"], int)
    assert json.loads(envelope["state"])["selectedColumns"] == COLUMNS
    assert ui.prepare_experiment("sqlite:///mlflow.db") == experiment_id  # the same one


def test_a_taken_port_is_one_line(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(ui, "port_is_free", lambda port, host="127.0.0.1": False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("biv_pipeline.cli.bootstrap_project", lambda _: None)
    result = CliRunner().invoke(cli, ["runs-ui", "--port", "5123"])
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: port 5123 on 127.0.0.1 is in use (another MLflow UI?): open it, or choose "
        "another port with --port"
    )


def test_sigterm_to_the_command_stops_the_server_of_its_own_process_group() -> None:
    server = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM)).start()
    ui.run_until_stopped(server)
    assert server.poll() is not None
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # put back
