"""Ctrl-C and SIGTERM end a training run as KILLED, and a sweep runs a killed trial again."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import mlflow
import pandas as pd
import yaml

from tests.pipelines.conftest import run_kedro, tracking_uri
from tests.test_cli import ENV, KEDRO

# Long enough (a few seconds) to be interrupted once training has started.
LONG_TRAINING = {"epochs": 400, "ingest": {"train_size": 300}}
WAIT_FOR_TRAINING_S = 300
POLL_S = 0.2


def wait_until_training(project: Path, process: subprocess.Popen) -> None:
    """Block until the process's MLflow run has entered the training node."""
    mlflow.set_tracking_uri(tracking_uri(project))
    deadline = time.monotonic() + WAIT_FOR_TRAINING_S
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1][-2000:]
        runs = mlflow.search_runs(search_all_experiments=True, filter_string="status = 'RUNNING'")
        if "tags.noisy_train_version" in runs and runs["tags.noisy_train_version"].notna().any():
            return
        time.sleep(POLL_S)
    raise AssertionError("training never started")


def training_runs(project: Path) -> pd.DataFrame:
    mlflow.set_tracking_uri(tracking_uri(project))
    runs = mlflow.search_runs(search_all_experiments=True)
    return runs[runs["tags.noisy_train_version"].notna()]


def test_sigterm_during_training_ends_the_run_killed(project: Path, shared_data: Path) -> None:
    run_kedro(project, ["ingest", "noise"], dataset="wine", data_dir=str(shared_data),
              ingest=LONG_TRAINING["ingest"])  # fmt: skip
    train_size = LONG_TRAINING["ingest"]["train_size"]  # the labels' own, so they are found
    params = (
        f"dataset=wine,data_dir={shared_data},epochs={LONG_TRAINING['epochs']},"
        f"ingest.train_size={train_size}"
    )
    process = subprocess.Popen([KEDRO, "run", "--pipeline=train", "--params", params],
                               cwd=project, env=ENV, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    wait_until_training(project, process)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=120) != 0
    (run,) = training_runs(project).to_dict("records")
    assert run["status"] == "KILLED"
    assert run["tags.end_reason"] == "interrupted: terminated by signal SIGTERM"
    assert "metrics.final_test_mse" not in run or pd.isna(run["metrics.final_test_mse"])


def test_ctrl_c_leaves_a_killed_trial_that_the_sweep_runs_again(
    project: Path, shared_data: Path
) -> None:
    spec = project / "interrupted.yml"
    base = {"dataset": "wine", "data_dir": str(shared_data), **LONG_TRAINING}
    spec.write_text(yaml.safe_dump({"base": base, "grid": {"loss": ["mse"], "seed": [0]}}))
    command = [KEDRO, "sweep", str(spec)]
    process = subprocess.Popen(command, cwd=project, env=ENV, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    wait_until_training(project, process)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=120) != 0
    (killed,) = training_runs(project).to_dict("records")
    assert (killed["status"], killed["tags.end_reason"]) == ("KILLED", "interrupted: Ctrl-C")
    again = subprocess.run(command, cwd=project, env=ENV, capture_output=True, text=True,
                           timeout=600, check=False)  # fmt: skip
    assert again.returncode == 0, again.stderr[-2000:]
    assert "0 already done, 1 to run" in again.stdout
    assert sorted(training_runs(project)["status"]) == ["FINISHED", "KILLED"]
