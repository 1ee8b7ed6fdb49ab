"""The MLflow UI of a project, opened where the runs are: ``kedro runs-ui``.

MLflow 3.17's ``mlflow ui`` starts four web workers and a job runner: 47-76 s before the
first answer on a busy 2-core machine. One worker and no job runner (the project runs no
MLflow jobs) answer in 8-18 s there. A fresh browser opens an experiment on MLflow's GenAI
overview, and its runs table shows no metric or parameter column; the URL printed here opens
the runs table (``workflowType=machine_learning``) in a view saved on the experiment (the tag
``mlflow.sharedViewState.<key>``, MLflow's own "save view" format) whose visible columns are
the final test MSE, the loss, the noise's p and the labels a run trained on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from biv_pipeline.errors import TrackingError
from biv_pipeline.run_record import FINAL_METRIC
from biv_pipeline.tracking.contract import (
    EXPERIMENT,
    EXPERIMENT_KIND,
    EXPERIMENT_KIND_TAG,
    NOISY_TRAIN_VERSION_TAG,
)

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 5000
WORKERS = 1  # MLflow's default is 4: on 2 cores they start one after another for a minute
# MLflow's job runner (LLM judges, trace rollups): unused here, and a process of its own
JOB_EXECUTION_ENV = "MLFLOW_SERVER_ENABLE_JOB_EXECUTION"
TELEMETRY_ENV = "MLFLOW_DISABLE_TELEMETRY"
HEALTH_PATH = "/health"
START_TIMEOUT_S = 180.0
POLL_INTERVAL_S = 0.25
# MLflow's "share view" mechanism: the URL names a key, an experiment tag holds the view
SHARED_VIEW_TAG_PREFIX = "mlflow.sharedViewState."
SHARED_VIEW_KEY = "biv-pipeline-runs"
VIEW_NAME = "biv-pipeline: loss, noise, final test MSE, labels"
WORKFLOW_QUERY = "workflowType=machine_learning"  # the runs table, not the GenAI overview
# the runs table's columns (MLflow's ids: <type>.`<key>`), after the run name
RUNS_TABLE_COLUMNS = (
    ("metrics", FINAL_METRIC),
    ("params", "train.loss"),
    ("params", "data.noise.p"),
    ("tags", NOISY_TRAIN_VERSION_TAG),
)


RUN_NAME_COLUMN = "attributes.`Run Name`"
RUN_NAME_WIDTH = 380  # pixels: a run name reads dataset, loss, epsilon, model, noise and seed


def column_id(kind: str, key: str) -> str:
    """The id of a runs-table column in MLflow's UI: ``metrics.`final_test_mse```."""
    return f"{kind}.`{key}`"


def runs_table_view() -> dict[str, object]:
    """The shared view: the project's columns visible, the newest run first."""
    return {
        "selectedColumns": [column_id(kind, key) for kind, key in RUNS_TABLE_COLUMNS],
        "columnWidths": {RUN_NAME_COLUMN: RUN_NAME_WIDTH, column_id("metrics", FINAL_METRIC): 150},
        "orderByKey": "attributes.start_time",
        "orderByAsc": False,
    }


def saved_view(now_ms: int) -> str:
    """The experiment tag's value: MLflow 3.17's saved-view envelope (a name, times and the
    view as a JSON string), listed under *Views* in the UI."""
    state = json.dumps(runs_table_view())
    return json.dumps({"name": VIEW_NAME, "createdAt": now_ms, "updatedAt": now_ms, "state": state})


def runs_table_url(base: str, experiment_id: str) -> str:
    """The address of the experiment's runs table in the project's view."""
    query = f"viewStateShareKey={SHARED_VIEW_KEY}&{WORKFLOW_QUERY}"
    return f"{base}/#/experiments/{experiment_id}/runs?{query}"


def prepare_experiment(tracking_uri: str) -> str:
    """The project's experiment (created if missing, opening on its runs table), tagged with
    the shared view; its id."""
    from mlflow import MlflowClient  # noqa: PLC0415 - keep `kedro --help` fast

    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        experiment_id = client.create_experiment(
            EXPERIMENT, tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND}
        )
    else:
        experiment_id = experiment.experiment_id
    tag = f"{SHARED_VIEW_TAG_PREFIX}{SHARED_VIEW_KEY}"
    client.set_experiment_tag(experiment_id, tag, saved_view(int(time.time() * 1000)))
    return experiment_id


def ui_command(backend_store_uri: str, port: int) -> tuple[list[str], dict[str, str]]:
    """``mlflow ui`` on the loopback interface with one worker, no job runner and no line per
    request, and its environment (telemetry off unless the user turned it on)."""
    command = [
        sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", backend_store_uri,
        "--host", LOOPBACK, "--port", str(port), "--workers", str(WORKERS),
        "--uvicorn-opts", "--no-access-log",  # not a line per request on the console
    ]  # fmt: skip
    env = {**os.environ, JOB_EXECUTION_ENV: "false"}
    env.setdefault(TELEMETRY_ENV, "true")
    return command, env


def start_ui(backend_store_uri: str, port: int, cwd: Path) -> subprocess.Popen:
    """Start the UI server in a process group of its own (stopping it stops its worker)."""
    command, env = ui_command(backend_store_uri, port)
    return subprocess.Popen(command, cwd=cwd, env=env, start_new_session=True)


def wait_until_answering(base: str, server: subprocess.Popen) -> float:
    """Seconds until ``base`` answers its health check (from now); a one-line error if the
    server exits or stays silent for ``START_TIMEOUT_S``."""
    started = time.monotonic()
    while time.monotonic() - started < START_TIMEOUT_S:
        if server.poll() is not None:
            raise TrackingError(
                f"mlflow ui stopped with exit status {server.returncode} before answering at "
                f"{base} (is the port taken? choose another with --port)"
            )
        try:
            with urllib.request.urlopen(base + HEALTH_PATH, timeout=2):
                return time.monotonic() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(POLL_INTERVAL_S)
    raise TrackingError(f"mlflow ui did not answer at {base} within {START_TIMEOUT_S:g} s")


def stop_ui(server: subprocess.Popen, timeout_s: float = 10.0) -> None:
    """Stop the UI server's whole process group (SIGTERM, then SIGKILL)."""
    import signal  # noqa: PLC0415

    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def run_until_stopped(server: subprocess.Popen) -> None:
    """Wait for the server until Ctrl-C, SIGTERM or SIGHUP, then stop it: it runs in a process
    group of its own, which no signal to this command reaches."""
    import signal  # noqa: PLC0415

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    stopping = (signal.SIGTERM, signal.SIGHUP)
    previous = {number: signal.signal(number, interrupt) for number in stopping}
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop_ui(server)
        for number, handler in previous.items():
            signal.signal(number, handler)


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """Whether nothing listens on ``host:port`` now."""
    import socket  # noqa: PLC0415

    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def sqlite_file(uri: str) -> Path | None:
    """The file of a ``sqlite:///`` store (None for any other store)."""
    from biv_pipeline.tracking.store import sqlite_path  # noqa: PLC0415

    return sqlite_path(uri)


def base_url(port: int) -> str:
    """The UI's address on the loopback interface."""
    return f"http://{LOOPBACK}:{port}"


def columns_shown() -> Sequence[str]:
    """The runs table's project columns, as the UI heads them (for the console line)."""
    return [key for _, key in RUNS_TABLE_COLUMNS]


def serve(backend_store_uri: str, port: int, project: Path) -> tuple[subprocess.Popen, str, float]:
    """Prepare the experiment, start the UI and wait for it: the server, the runs table's
    address and the seconds from the call to the UI's first answer (the caller stops the
    server)."""
    if not port_is_free(port):
        raise TrackingError(
            f"port {port} on {LOOPBACK} is in use (another MLflow UI?): open it, or choose "
            "another port with --port"
        )
    started = time.monotonic()
    database = sqlite_file(backend_store_uri)
    fresh = database is not None and not database.is_file()
    # the experiment is tagged while the server starts (first, on a database it would create)
    experiment_id = prepare_experiment(backend_store_uri) if fresh else None
    server = start_ui(backend_store_uri, port, project)
    try:
        experiment_id = experiment_id or prepare_experiment(backend_store_uri)
        wait_until_answering(base_url(port), server)
        seconds = time.monotonic() - started
    except BaseException:
        stop_ui(server)
        raise
    return server, runs_table_url(base_url(port), experiment_id), seconds
