"""What does a sweep trial cost beyond its own training loop?

A local-backend sweep of ``--trials`` Wine trials (mse, iv, biv, cutoff x seeds) of
``--epochs`` epochs (default 1) runs in a fresh process in a throw-away copy of the project
(pyproject.toml, conf/, empty data layers), on the shared Wine data, as ``kedro sweep`` runs
it (``run_sweep``, one Kedro session per trial). Per trial it records the wall time of the
trial (``run_trial``: session, MLflow run, training, evaluation, artefacts, model) and the
time of the training loop (``biv_pipeline.training.fit`` as the train node calls it);
overhead = trial - loop.

``--compare TREE`` alternates each round with a sweep of another checkout (its ``conf/`` and
its package from ``TREE/src``), e.g. the commit before a change:
``git archive COMMIT pyproject.toml conf src | tar -x -C /tmp/before``. Paired rounds on a
busy machine slow both alike. Reported: per code tree the median trial, loop and overhead
over every trial of every round (the first trial of each sweep included).

``--profile FILE`` instead runs one sweep and profiles its trials after the first (no one-off
imports) with cProfile, writing the statistics to FILE (read them with
``python -m pstats FILE``, then ``sort cumulative`` and ``stats 40``). ``--phases`` splits the
wall time of the trials after the first by phase (``phase_clock.py``: config and parameters,
hooks, data load, fit, tracking and model logging, ...; median per trial, per code tree).

Run: ``python benchmarks/sweep_overhead.py [--trials 8] [--epochs 1] [--rounds 3]
[--compare TREE]`` (from the repository root, with the project installed; OMP_NUM_THREADS=1
keeps it gentle).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = (REPO / ".." / "shared" / "data").resolve()
LAYERS = ("01_raw", "02_intermediate", "03_primary", "04_feature", "05_model_input",
          "06_models", "07_model_output", "08_reporting")  # fmt: skip
LOSSES = ("mse", "iv", "biv", "cutoff")
TARGET_OVERHEAD_S = 1.0  # issue 10: a trial costs at most 1 s beyond its training loop
BEFORE_1_EPOCH_TRIAL_S = 3.7  # issue 10: a 1-epoch Wine trial, before the work on it
RESULT_PREFIX = "TRIALS "
PHASES_PREFIX = "PHASES "
SWEEP_REST = "session and sweep, rest"


def make_project(root: Path, trials: int, epochs: int = 1, tree: Path = REPO) -> Path:
    """A throw-away copy of the project in ``tree`` with a sweep file of ``trials`` trials of
    ``epochs`` epochs."""
    shutil.copy(tree / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(tree / "conf", root / "conf")
    (root / "src").mkdir()
    for layer in LAYERS:
        (root / "data" / layer).mkdir(parents=True)
    seeds = list(range(-(-trials // len(LOSSES))))
    losses = list(LOSSES[: min(trials, len(LOSSES))])
    (root / "sweep.yml").write_text(
        json.dumps({"name": "overhead", "grid": {"loss": losses, "seed": seeds},
                    "base": {"dataset": "wine", "data_dir": str(DATA), "epochs": epochs}})
    )  # fmt: skip
    return root


def run_worker(
    project: Path, profile: Path | None, phases: list[dict[str, float]] | None = None
) -> list[tuple[float, float]]:
    """Run the sweep here; ``(trial seconds, loop seconds)`` per trial, in order. With
    ``phases``, append to it each trial's (after the first) seconds by phase."""
    clock = None
    if phases is not None:
        import phase_clock  # noqa: PLC0415 - beside this script

        clock = phase_clock.PhaseClock()
        sys.meta_path.insert(0, phase_clock.PatchOnImport(phase_clock.patches(clock), clock))
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415

    import biv_pipeline.pipelines.train.nodes as train_nodes  # noqa: PLC0415
    from biv_pipeline.sweeps import executors  # noqa: PLC0415
    from biv_pipeline.sweeps.runner import run_sweep  # noqa: PLC0415
    from biv_pipeline.sweeps.spec import load_spec  # noqa: PLC0415

    os.chdir(project)
    bootstrap_project(project)
    loops: list[float] = []
    trials: list[float] = []
    profiler = cProfile.Profile() if profile else None
    fit, run_trial = train_nodes.fit, executors.run_trial

    def timed_fit(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fit(*args, **kwargs)
        finally:
            loops.append(time.perf_counter() - start)

    def timed_trial(*args: Any, **kwargs: Any) -> Any:
        if profiler and trials:  # the trials after the first: no one-off imports
            profiler.enable()
        if clock:
            clock.enter(SWEEP_REST)
            before = dict(clock.seconds)
        start = time.perf_counter()
        try:
            return run_trial(*args, **kwargs)
        finally:
            trials.append(time.perf_counter() - start)
            if profiler:
                profiler.disable()
            if clock:
                clock.leave()
                if phases is not None and len(trials) > 1:
                    phases.append({k: v - before.get(k, 0.0) for k, v in clock.seconds.items()})

    train_nodes.fit, executors.run_trial = timed_fit, timed_trial
    spec = load_spec(project / "sweep.yml")
    uri = f"sqlite:///{project / 'mlflow.db'}"
    result = run_sweep(spec, project, uri, report=lambda line: None)
    if profiler and profile:
        profiler.dump_stats(profile)
    if result.failed or len(loops) != len(trials):
        sys.exit(f"trials failed: {result.failed}; see data/08_reporting/sweeps/")
    return list(zip(trials, loops, strict=True))


def sweep_in_process(tree: Path, trials: int, epochs: int, phases: bool = False) -> list[Any]:
    """One sweep in a fresh process with the configuration and package of ``tree``: its
    ``(trial, loop)`` seconds per trial, or with ``phases`` its trials' phases."""
    env = {**os.environ, "PYTHONPATH": str(tree / "src"), "KEDRO_DISABLE_TELEMETRY": "true",
           "MLFLOW_DISABLE_TELEMETRY": "true"}  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        project = make_project(Path(folder), trials, epochs, tree)
        mode = "--phases-worker" if phases else "--worker"
        command = [sys.executable, __file__, mode, str(project)]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    prefix = PHASES_PREFIX if phases else RESULT_PREFIX
    lines = [line for line in done.stdout.splitlines() if line.startswith(prefix)]
    if done.returncode != 0 or not lines:
        sys.exit(f"the sweep with {tree} failed:\n{done.stderr[-3000:]}")
    result = json.loads(lines[-1][len(prefix) :])
    return result if phases else [tuple(pair) for pair in result]


def print_phases(splits: dict[str, list[dict[str, float]]]) -> None:
    """Median seconds per trial by phase, per code tree."""
    rows = list(dict.fromkeys(key for runs in splits.values() for split in runs for key in split))
    print(f"{'phase (per trial)':<30}" + "".join(f"{name + ' s':>10}" for name in splits))
    for row in rows:
        medians = [statistics.median(s.get(row, 0.0) for s in runs) for runs in splits.values()]
        print(f"{row:<30}" + "".join(f"{m:>10.3f}" for m in medians))
    totals = [statistics.median(sum(s.values()) for s in runs) for runs in splits.values()]
    print(f"{'trial':<30}" + "".join(f"{m:>10.3f}" for m in totals))


def main() -> None:
    """Alternate the sweeps of each code tree ``--rounds`` times and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8, help="trials per sweep")
    parser.add_argument("--rounds", type=int, default=3, help="sweeps per code tree")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per trial")
    parser.add_argument("--compare", type=Path, help="another checkout (src/ and conf/)")
    parser.add_argument("--profile", type=Path, help="profile one sweep into this file")
    parser.add_argument("--phases", action="store_true", help="the trials' time by phase")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--phases-worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(RESULT_PREFIX + json.dumps(run_worker(args.worker, None)))
        return
    if args.phases_worker:
        phases: list[dict[str, float]] = []
        run_worker(args.phases_worker, None, phases)
        print(PHASES_PREFIX + json.dumps(phases))
        return
    if args.profile:
        with tempfile.TemporaryDirectory() as folder:
            project = make_project(Path(folder), args.trials, args.epochs)
            run_worker(project, args.profile.resolve())
        print(f"profile written to {args.profile}")
        return
    trees = {"this": REPO, **({"compare": args.compare.resolve()} if args.compare else {})}
    results: dict[str, list[Any]] = {name: [] for name in trees}
    for index in range(args.rounds):
        order = list(trees.items()) if index % 2 == 0 else list(reversed(trees.items()))
        for name, tree in order:
            results[name] += sweep_in_process(tree, args.trials, args.epochs, args.phases)
    if args.phases:
        print_phases(results)
        return
    header = ("code", "trials", "trial s", "loop s", "overhead s", "target s")
    print("{:<8} {:>6} {:>8} {:>7} {:>11} {:>9}".format(*header))
    for name, pairs in results.items():
        trial = statistics.median(wall for wall, _ in pairs)
        loop = statistics.median(seconds for _, seconds in pairs)
        overhead = statistics.median(wall - seconds for wall, seconds in pairs)
        print(f"{name:<8} {len(pairs):>6} {trial:>8.2f} {loop:>7.2f} {overhead:>11.2f} "
              f"{TARGET_OVERHEAD_S:>9.1f}")  # fmt: skip
    load = os.getloadavg()[0]
    print(f"medians over {args.rounds} paired rounds of {args.trials} {args.epochs}-epoch Wine "
          f"trials; before issue 10 a 1-epoch trial took {BEFORE_1_EPOCH_TRIAL_S} s; load average "
          f"{load:.1f} on {os.cpu_count()} CPUs")  # fmt: skip


if __name__ == "__main__":
    main()
