"""A local ``mlflow server`` for parallel trials: they never write one SQLite file directly."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SERVER_START_TIMEOUT_S = 60
POLL_INTERVAL_S = 0.5
LOOPBACK = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


@contextmanager
def tracking_server(project: Path, backend_uri: str) -> Iterator[str]:
    """``mlflow server`` on 127.0.0.1 over ``backend_uri``; yields its URI, stops it after."""
    port = _free_port()
    command = [
        sys.executable, "-m", "mlflow", "server", "--backend-store-uri", backend_uri,
        "--host", LOOPBACK, "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    # its environment is this process's: MLflow's telemetry off unless the user turned it on
    server = subprocess.Popen(
        command, cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    try:
        _wait_for_port(port, server)
        yield f"http://{LOOPBACK}:{port}"
    finally:
        server.terminate()
        server.wait(timeout=SERVER_START_TIMEOUT_S)


def _wait_for_port(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            message = server.stderr.read().decode()[-2000:] if server.stderr else ""
            raise RuntimeError(f"mlflow server exited: {message}")
        with socket.socket() as probe:
            if probe.connect_ex((LOOPBACK, port)) == 0:
                return
        time.sleep(POLL_INTERVAL_S)
    raise RuntimeError(
        f"mlflow server did not listen on port {port} within {SERVER_START_TIMEOUT_S} s"
    )
