"""How long does a whole `kedro` command take, and how much memory, against the import floor?

Each case runs as a fresh process (what a user waits for, interpreter start and shutdown
included) in a throw-away copy of the project (pyproject.toml, conf/, empty data layers), on
the shared Wine data. Cases alternate within each round, and with ``--compare TREE`` each
command also runs with another checkout's package and conf/ (``PYTHONPATH=TREE/src``) right
after this one's, the order swapped every round: paired rounds, so a busy machine slows both
alike. Reported: median wall time, the median of the per-round ratios, the largest peak
resident memory.

- floor: ``python -c "import torch, mlflow"``: what any run that trains and logs must import;
- floor + dynamo: the same and ``torch._dynamo``, which torch's optimisers import when first
  built or stepped (for information: see docs/speed.md);
- help: ``kedro --help``;
- error: ``kedro run --params loss=bvi,...`` (must fail, naming the parameter);
- train: ``kedro run --pipeline=train --params loss=biv,dataset=wine,...`` (20 epochs);
- full: ``kedro run --params dataset=wine,...`` (ingest + noise + train), with ``--full``.

``--profile`` instead runs the train command (``--profile-case error`` the error) through
``phase_clock.py`` and prints one table of where its wall time goes, by phase (median over the
rounds, per tree).

Run: ``python benchmarks/whole_run.py [--rounds 3] [--compare TREE] [--full] [--profile]``
from the repository root, with the project's environment active; e.g. the commit before a
change as TREE: ``git worktree add /tmp/before COMMIT``.
"""

from __future__ import annotations

import argparse
import json
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
PHASE_CLOCK = Path(__file__).resolve().with_name("phase_clock.py")
LAYERS = ("01_raw", "02_intermediate", "03_primary", "04_feature", "05_model_input",
          "06_models", "07_model_output", "08_reporting")  # fmt: skip
KEDRO = str(Path(sys.executable).with_name("kedro"))
WINE = f"dataset=wine,data_dir={DATA}"
FLOORS = {"floor": "import torch, mlflow", "floor + dynamo": "import torch, mlflow, torch._dynamo"}
COMMANDS = {
    "help": ["--help"],
    "error": ["run", "--params", f"loss=bvi,{WINE}"],
    "train": ["run", "--pipeline=train", "--params", f"loss=biv,{WINE}"],
    "full": ["run", "--params", WINE],
}
TRAIN_OVER_FLOOR = 1.5  # issue 23: train <= 1.5x the floor (plus torch._dynamo if unavoidable)
ERROR_OVER_HELP_S = 0.3  # issue 23: the error <= kedro --help + 0.3 s
KB_PER_MB = 1024
Run = tuple[float, float, int]  # wall s, peak MB, exit status


def make_project(root: Path, tree: Path) -> Path:
    """A throw-away project copy with ``tree``'s configuration, as tests/conftest.py's
    ``project`` fixture makes it."""
    root.mkdir()
    shutil.copy(tree / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(tree / "conf", root / "conf")
    (root / "src").mkdir()
    for layer in LAYERS:
        (root / "data" / layer).mkdir(parents=True)
    return root


def environment(tree: Path) -> dict[str, str]:
    """This process's environment, importing ``tree``'s package, without telemetry."""
    return {**os.environ, "PYTHONPATH": str(tree / "src"), "KEDRO_DISABLE_TELEMETRY": "true",
            "MLFLOW_DISABLE_TELEMETRY": "true"}  # fmt: skip


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> Run:
    """Wall seconds, peak resident MB and exit status of ``command`` run to its end."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    return seconds, usage.ru_maxrss / KB_PER_MB, os.waitstatus_to_exitcode(status)


def phases(args: list[str], cwd: Path, env: dict[str, str]) -> dict[str, float]:
    """``kedro ARGS``'s wall time by phase (phase_clock.py), interpreter start and shutdown
    included."""
    out = cwd / "phases.json"
    started = time.time()
    subprocess.run([sys.executable, str(PHASE_CLOCK), str(out), *args], cwd=cwd, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)  # fmt: skip
    ended = time.time()
    record = json.loads(out.read_text())
    split = record["phases"]
    split["CLI start"] = split.get("CLI start", 0.0) + record["started"] - started
    split["shutdown"] = ended - record["ended"]
    split.update({f"  of which import {name}": s for name, s in record["imports"].items()})
    split["total"] = ended - started
    return split


def set_up(folder: Path, trees: dict[str, Path]) -> dict[str, Path]:
    """A project copy per tree, with Wine labels for ``train`` to read."""
    projects = {name: make_project(folder / name, tree) for name, tree in trees.items()}
    for name, project in projects.items():
        _, _, status = timed([KEDRO, *COMMANDS["full"]], project, environment(trees[name]))
        if status != 0:
            sys.exit(f"the set-up run with {trees[name]} failed: run it by hand to see why")
    return projects


def paired(trees: dict[str, Path], cases: list[str], rounds: int) -> dict[str, dict[str, list]]:
    """Every case ``rounds`` times, alternating cases, and trees within a case."""
    results: dict[str, dict[str, list[Run]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        projects = set_up(Path(folder), trees)
        for index in range(rounds):
            order = list(trees) if index % 2 == 0 else list(reversed(trees))
            for case in cases:
                if case in FLOORS:
                    command = [sys.executable, "-c", FLOORS[case]]
                    run = timed(command, Path(folder), environment(REPO))
                    results.setdefault(case, {}).setdefault("floor", []).append(run)
                    continue
                for name in order:
                    command = [KEDRO, *COMMANDS[case]]
                    run = timed(command, projects[name], environment(trees[name]))
                    results.setdefault(case, {}).setdefault(name, []).append(run)
    return results


def ratio(runs: list[Run], to: list[Run]) -> float:
    """The median over the rounds of ``runs[i] / to[i]`` (wall times of one round)."""
    return statistics.median(a[0] / b[0] for a, b in zip(runs, to, strict=True))


def print_paired(results: dict[str, dict[str, list[Run]]], rounds: int) -> None:
    """Median seconds per case and tree; ratios to the floor and between trees, each the
    median of the per-round ratios."""
    floor = results["floor"]["floor"]
    names = [name for name in next(iter(r for c, r in results.items() if c not in FLOORS))]
    header = "".join(f"{name + ' s':>10} {'/floor':>7} {'MB':>6}" for name in names)
    paired_header = "  this/compare" if len(names) > 1 else ""
    print(f"{'case':<15}{header}{paired_header}  exits")
    for case, by_tree in results.items():
        line = f"{case:<15}"
        for name in names:
            runs = by_tree.get(name) or by_tree["floor"]
            median = statistics.median(s for s, _, _ in runs)
            peak = max(mb for _, mb, _ in runs)
            line += f"{median:>10.2f} {ratio(runs, floor):>7.2f} {peak:>6.0f}"
        if len(by_tree) > 1:
            line += f"  {ratio(by_tree['this'], by_tree['compare']):>13.2f}"
        exits = {",".join(str(code) for _, _, code in runs) for runs in by_tree.values()}
        print(line + "  " + " ".join(sorted(exits)))
    for name in names:
        verdicts = []
        if "train" in results and "floor + dynamo" in results:
            over = ratio(results["train"][name], results["floor + dynamo"]["floor"])
            verdicts.append(f"train / (floor + dynamo) {over:.2f} (target {TRAIN_OVER_FLOOR})")
        if "error" in results and "help" in results:
            pairs = zip(results["error"][name], results["help"][name], strict=True)
            gaps = [error[0] - help_[0] for error, help_ in pairs]
            verdicts.append(f"error - help {statistics.median(gaps):+.2f} s "
                            f"(target <= {ERROR_OVER_HELP_S})")  # fmt: skip
        print(f"{name}: " + "; ".join(verdicts))
    print(f"medians of {rounds} paired rounds; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs, "
          f"{time.strftime('%Y-%m-%d %H:%M')}")  # fmt: skip


def profile(trees: dict[str, Path], case: str, rounds: int) -> None:
    """The table of phases of ``case`` per tree (medians over ``rounds``, trees alternating)."""
    splits: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory() as folder:
        projects = set_up(Path(folder), trees)
        for index in range(rounds):
            for name in list(trees) if index % 2 == 0 else list(reversed(trees)):
                env = environment(trees[name])
                splits[name].append(phases(COMMANDS[case], projects[name], env))
    rows = list(dict.fromkeys(key for runs in splits.values() for split in runs for key in split))
    rows.remove("total")
    print(f"{'phase (' + case + ')':<38}" + "".join(f"{name + ' s':>10}" for name in trees))
    for row in [*rows, "total"]:
        medians = [statistics.median(split.get(row, 0.0) for split in splits[n]) for n in trees]
        print(f"{row:<38}" + "".join(f"{m:>10.2f}" for m in medians))
    print(f"medians of {rounds} rounds; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")  # fmt: skip


def main() -> None:
    """Parse the options and print the paired table or the profile."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compare", type=Path, help="another checkout (src/ and conf/)")
    parser.add_argument("--full", action="store_true", help="also ingest + noise + train")
    parser.add_argument("--cases", help="comma-separated subset of the cases")
    parser.add_argument("--profile", action="store_true", help="the train command by phase")
    parser.add_argument("--profile-case", default="train", choices=sorted(COMMANDS))
    args = parser.parse_args()
    trees = {"this": REPO, **({"compare": args.compare.resolve()} if args.compare else {})}
    if args.profile:
        profile(trees, args.profile_case, args.rounds)
        return
    cases = [*FLOORS, "help", "error", "train", *(["full"] if args.full else [])]
    if args.cases:
        cases = ["floor", *(c for c in args.cases.split(",") if c != "floor")]
    print_paired(paired(trees, cases, args.rounds), args.rounds)


if __name__ == "__main__":
    main()
