"""Screenshot of the project's MLflow UI as ``kedro runs-ui`` opens it, in headless Chromium.

Starts the UI exactly as ``kedro runs-ui`` does (:func:`biv_pipeline.tracking.ui.serve`: one
worker, no job runner, 127.0.0.1, a free port, its own process group), prints how long it
took to answer, opens the printed runs-table address in headless Chromium, checks that the
page shows the project's columns (final_test_mse, train.loss, data.noise.p,
noisy_train_version), saves a PNG and stops the server.

Run from a project with runs, e.g. after the README's two Wine runs:

    python scripts/mlflow_ui_screenshot.py --out docs/mlflow_runs_table.png

Needs a Chromium (Debian: ``apt-get install chromium``); nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from biv_pipeline.tracking import ui

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chromium-headless-shell")
BROWSER_TIMEOUT_S = 120
PALETTE_COLOURS = 256  # the PNG is saved with a palette: a fraction of the size, same look


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind((ui.LOOPBACK, 0))
        return probe.getsockname()[1]


def find_browser(given: str | None) -> str:
    """The Chromium to run: ``given``, else the first of ``BROWSERS`` on the PATH."""
    for name in [given] if given else BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    raise SystemExit(f"no Chromium found (tried {given or ', '.join(BROWSERS)}): install one")


def chromium(browser: str, url: str, size: tuple[int, int], wait_ms: int, *output: str) -> str:
    """Run headless Chromium on ``url`` with the ``output`` options; its stdout."""
    with tempfile.TemporaryDirectory() as profile:
        command = [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}",
            f"--window-size={size[0]},{size[1]}", f"--virtual-time-budget={wait_ms}",
            *output, url,
        ]  # fmt: skip
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=BROWSER_TIMEOUT_S, check=False
        )
    if done.returncode != 0:
        raise RuntimeError(f"{browser} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return done.stdout


def missing_columns(page: str) -> list[str]:
    """The project's runs-table columns that the rendered page does not show."""
    return [name for name in ui.columns_shown() if name not in page]


def to_palette(path: Path) -> None:
    """Rewrite the PNG at ``path`` with a palette of ``PALETTE_COLOURS`` colours."""
    from PIL import Image  # noqa: PLC0415 - only needed here (Pillow comes with matplotlib)

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(PALETTE_COLOURS)
    small.save(path, optimize=True)


def main() -> None:
    """Parse the arguments, start the UI, check and shoot the page, stop the UI."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=Path.cwd(),
                        help="project folder holding mlflow.db (default: here)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("mlflow_runs_table.png"))
    parser.add_argument("--browser", help=f"Chromium to run (default: first of {BROWSERS})")
    parser.add_argument("--width", type=int, default=1800)
    parser.add_argument("--height", type=int, default=700)
    parser.add_argument("--wait-ms", type=int, default=15000,
                        help="virtual time the page gets to load before the shot")  # fmt: skip
    keep_help = f"keep Chromium's PNG (default: {PALETTE_COLOURS} colours)"
    parser.add_argument("--full-colour", action="store_true", help=keep_help)
    args = parser.parse_args()
    project = args.project.resolve()
    if not (project / "mlflow.db").is_file():
        raise SystemExit(f"{project / 'mlflow.db'} does not exist: run the project first")
    browser = find_browser(args.browser)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    size = (args.width, args.height)
    server, url, seconds = ui.serve(f"sqlite:///{project / 'mlflow.db'}", free_port(), project)
    try:
        print(f"the UI answered {seconds:.1f} s after it was started")
        started = time.monotonic()
        page = chromium(browser, url, size, args.wait_ms, "--dump-dom")
        print(f"the runs table rendered in {time.monotonic() - started:.1f} s (headless Chromium)")
        if missing_columns(page):
            raise SystemExit(f"{url} does not show the columns {missing_columns(page)}")
        chromium(browser, url, size, args.wait_ms, f"--screenshot={args.out.resolve()}")
    finally:
        ui.stop_ui(server)
    if not args.full_colour:
        to_palette(args.out)
    print(f"{url} shows {', '.join(ui.columns_shown())} -> {args.out} "
          f"({args.out.stat().st_size // 1024} KB)")  # fmt: skip


if __name__ == "__main__":
    main()
