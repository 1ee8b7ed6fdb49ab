"""Screenshot of the project's MLflow UI (the experiment's runs table), in headless Chromium.

Starts ``mlflow ui`` on the project's ``mlflow.db`` at 127.0.0.1 on a free port (in its own
process group), waits for ``/health``, looks the experiment up through the REST API, opens
``http://127.0.0.1:PORT/#/experiments/<id>`` in headless Chromium and saves a PNG, then
stops the server. The experiment opens on its runs table because the project tags it
``mlflow.experimentKind=custom_model_development`` (MLflow 3 shows its GenAI page otherwise).

Run from a project with runs, e.g. after ``kedro run --params dataset=wine,loss=biv`` and
``loss=mse``:

    python scripts/mlflow_ui_screenshot.py --out docs/mlflow_runs_table.png

Needs a Chromium (Debian: ``apt-get install chromium``); nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from biv_pipeline.tracking.contract import EXPERIMENT

LOOPBACK = "127.0.0.1"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chromium-headless-shell")
SERVER_START_TIMEOUT_S = 90
POLL_INTERVAL_S = 0.5
BROWSER_TIMEOUT_S = 120
STOP_TIMEOUT_S = 10
# MLflow 3.17's UI has a GenAI / Model training switch, remembered by the browser and GenAI in
# a new one: the experiment kind tag alone leaves a fresh browser on the GenAI overview
WORKFLOW_QUERY = "workflowType=machine_learning"
PALETTE_COLOURS = 256  # the PNG is saved with a palette: a fraction of the size, same look


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def get_json(url: str) -> dict:
    """The JSON body of a GET request to ``url``."""
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read().decode())


@contextmanager
def mlflow_ui(project: Path, port: int) -> Iterator[str]:
    """``mlflow ui`` over ``<project>/mlflow.db``; yields its base URL once ``/health`` answers,
    and stops the server's whole process group afterwards."""
    command = [
        sys.executable, "-m", "mlflow", "ui",
        "--backend-store-uri", f"sqlite:///{project.resolve() / 'mlflow.db'}",
        "--host", LOOPBACK, "--port", str(port),
    ]  # fmt: skip
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            command, cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        base = f"http://{LOOPBACK}:{port}"
        try:
            wait_for_health(base, server, log)
            yield base
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


def wait_for_health(base: str, server: subprocess.Popen, log: IO[bytes]) -> None:
    """Return once ``base/health`` answers; raise with the server's output if it exits."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)
            output = log.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"mlflow ui exited with {server.returncode}:\n{output}")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(POLL_INTERVAL_S)
    raise RuntimeError(f"mlflow ui did not answer {base}/health in {SERVER_START_TIMEOUT_S} s")


def experiment_id(base: str, name: str) -> str:
    """The id of the experiment called ``name``, through the server's REST API."""
    query = urllib.parse.urlencode({"experiment_name": name})
    try:
        found = get_json(f"{base}/api/2.0/mlflow/experiments/get-by-name?{query}")
    except urllib.error.HTTPError as error:
        raise SystemExit(f"no experiment {name!r} in this project's mlflow.db: run once") from error
    return found["experiment"]["experiment_id"]


def find_browser(given: str | None) -> str:
    """The Chromium to run: ``given``, else the first of ``BROWSERS`` on the PATH."""
    for name in [given] if given else BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    raise SystemExit(f"no Chromium found (tried {given or ', '.join(BROWSERS)}): install one")


def screenshot(browser: str, url: str, out: Path, size: tuple[int, int], wait_ms: int) -> None:
    """Save ``url`` as rendered by headless Chromium at ``size`` to ``out`` (PNG)."""
    with tempfile.TemporaryDirectory() as profile:
        command = [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}",
            f"--window-size={size[0]},{size[1]}", f"--virtual-time-budget={wait_ms}",
            f"--screenshot={out.resolve()}", url,
        ]  # fmt: skip
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=BROWSER_TIMEOUT_S, check=False
        )
    if done.returncode != 0 or not out.is_file():
        raise RuntimeError(f"{browser} failed ({done.returncode}):\n{done.stderr[-2000:]}")


def to_palette(path: Path) -> None:
    """Rewrite the PNG at ``path`` with a palette of ``PALETTE_COLOURS`` colours."""
    from PIL import Image  # noqa: PLC0415 - only needed here (Pillow comes with matplotlib)

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(PALETTE_COLOURS)
    small.save(path, optimize=True)


def main() -> None:
    """Parse the arguments, start the UI, take the screenshot, stop the UI."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=Path.cwd(),
                        help="project folder holding mlflow.db (default: here)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("mlflow_runs_table.png"))
    parser.add_argument("--experiment", default=EXPERIMENT)
    parser.add_argument("--browser", help=f"Chromium to run (default: first of {BROWSERS})")
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--height", type=int, default=1000)
    parser.add_argument("--wait-ms", type=int, default=15000,
                        help="virtual time the page gets to load before the shot")  # fmt: skip
    keep_help = f"keep Chromium's PNG (default: {PALETTE_COLOURS} colours)"
    parser.add_argument("--full-colour", action="store_true", help=keep_help)
    args = parser.parse_args()
    if not (args.project / "mlflow.db").is_file():
        raise SystemExit(f"{args.project / 'mlflow.db'} does not exist: run the project first")
    browser = find_browser(args.browser)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with mlflow_ui(args.project, free_port()) as base:
        experiment = experiment_id(base, args.experiment)
        url = f"{base}/#/experiments/{experiment}?{WORKFLOW_QUERY}"
        screenshot(browser, url, args.out, (args.width, args.height), args.wait_ms)
    if not args.full_colour:
        to_palette(args.out)
    print(f"{url} -> {args.out} ({args.out.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
