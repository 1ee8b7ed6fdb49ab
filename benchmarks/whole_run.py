"""How long does a whole `kedro` command take, and how much memory, against the import floor?

Each case runs as a fresh process (what a user waits for, interpreter start and shutdown
included) in a throw-away copy of the project (pyproject.toml, conf/, empty data layers), on
the shared Wine data; the cases alternate (paired rounds) so a busy machine slows all alike.
Reported: the median wall time and the largest peak resident memory over the rounds.

- floor: ``python -c "import torch, mlflow; torch.optim.Adam(...)"``: what any run that
  trains and logs must import (torch's optimisers import ``torch._dynamo`` when first built);
- train: ``kedro run --pipeline=train --params loss=biv,dataset=wine,...`` (20 epochs);
- full: ``kedro run --params dataset=wine,...`` (ingest + noise + train);
- error: ``kedro run --params loss=bvi,...`` (must fail, naming the parameter).

Run: ``python benchmarks/whole_run.py [--rounds 3]`` (from the repository root, with the
project installed; OMP_NUM_THREADS=1 keeps it gentle on a shared machine).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = (REPO / ".." / "shared" / "data").resolve()
LAYERS = ("01_raw", "02_intermediate", "03_primary", "04_feature", "05_model_input",
          "06_models", "07_model_output", "08_reporting")  # fmt: skip
KEDRO = str(Path(sys.executable).with_name("kedro"))
WINE = f"dataset=wine,data_dir={DATA}"
FLOOR = "import torch, mlflow; torch.optim.Adam([torch.zeros(1, requires_grad=True)])"
ORIGINAL_TRAIN_S = 16.2  # issue 10: the original code's 20-epoch Wine run, this machine
# case: (command, target seconds, what the issue measured before the work on it)
CASES: dict[str, tuple[list[str], float | None, str]] = {
    "floor": ([sys.executable, "-c", FLOOR], None, "-"),
    "train": ([KEDRO, "run", "--pipeline=train", "--params", f"loss=biv,{WINE}"], 5.0, "11.5"),
    "full": ([KEDRO, "run", "--params", WINE], 6.0, "-"),
    "error": ([KEDRO, "run", "--params", f"loss=bvi,{WINE}"], 2.0, "-"),
}
PEAK_TARGET_MB = 800  # for the Wine training run
KB_PER_MB = 1024


def make_project(root: Path) -> Path:
    """A throw-away project copy, as tests/conftest.py's ``project`` fixture makes it."""
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(REPO / "conf", root / "conf")
    (root / "src").mkdir()
    for layer in LAYERS:
        (root / "data" / layer).mkdir(parents=True)
    return root


def timed(command: list[str], cwd: Path) -> tuple[float, float, int]:
    """Wall seconds, peak resident MB and exit status of ``command`` run to its end."""
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true", "MLFLOW_DISABLE_TELEMETRY": "true"}
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    return seconds, usage.ru_maxrss / KB_PER_MB, process.returncode


def main() -> None:
    """Run every case ``--rounds`` times, alternating, and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory() as folder:
        project = make_project(Path(folder))
        _, _, status = timed([KEDRO, "run", "--params", WINE], project)  # labels for `train`
        if status != 0:
            sys.exit("the set-up run failed: run it by hand to see why")
        results: dict[str, list[tuple[float, float, int]]] = {name: [] for name in CASES}
        for _ in range(rounds):
            for name, (command, _, _) in CASES.items():
                results[name].append(timed(command, project))
    print(f"{'case':<6} {'median s':>9} {'target s':>9} {'before s':>9} {'peak MB':>8}  exit")
    for name, (_, target, before) in CASES.items():
        runs = results[name]
        median = statistics.median(seconds for seconds, _, _ in runs)
        peak = max(mb for _, mb, _ in runs)
        shown_target = f"{target:.1f}" if target else "-"
        exits = ",".join(str(code) for _, _, code in runs)
        print(f"{name:<6} {median:>9.2f} {shown_target:>9} {before:>9} {peak:>8.0f}  {exits}")
    load = os.getloadavg()[0]
    print(f"target: peak <= {PEAK_TARGET_MB} MB for Wine; the original code's train took "
          f"{ORIGINAL_TRAIN_S} s; load average {load:.1f} on {os.cpu_count()} CPUs")  # fmt: skip


if __name__ == "__main__":
    main()
