"""Sweeps: every loss x seed x noise setting, paired on the same noisy labels, resumable.

A sweep file (``conf/base/sweeps/*.yml``) gives ``name``, ``base`` parameters, ``grid`` axes
(dotted parameter names -> lists; ``loss`` is required) and ``clean_baseline``. For each seed
and data setting, ingest + noise run once; every loss then trains on that pinned
``noisy_train`` version. A ``seed`` value seeds the split, the noise and the training.

Trials run as Kedro sessions, one after another (``local``) or as Ray tasks (``ray``), and
are tagged in MLflow (sweep, trial, method, seed, setting, axis.*) so that re-running a sweep
skips the trials that already FINISHED and the report pipeline can find them.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from mlflow import MlflowClient

from biv_pipeline.errors import ParameterError
from biv_pipeline.losses import LOSSES
from biv_pipeline.params import flatten, nest

EXPERIMENT = "biv-pipeline"
CLEAN = "clean"
DEFAULT_SETTING = "default"
DATA_AXES_PREFIXES = ("noise.", "ingest.")
DATA_AXES = ("dataset", "data_dir", "image_size", "seed")
SEED_KEYS = ("seed", "noise.seed", "ingest.split_seed")
ERROR_TAG_LIMIT = 5000
SERVER_START_TIMEOUT_S = 60


@dataclass(frozen=True)
class SweepSpec:
    """A parsed sweep file."""

    name: str
    base: dict[str, Any]
    grid: dict[str, list[Any]]
    clean_baseline: bool = False
    description: str = ""


@dataclass(frozen=True)
class Trial:
    """One training run: a method on the labels of one data group."""

    key: str
    method: str
    seed: int
    setting: str
    axes: dict[str, Any]
    params: dict[str, Any]

    def tags(self, sweep: str) -> dict[str, str]:
        """The MLflow tags that identify this trial."""
        tags = {
            "sweep": sweep,
            "trial": self.key,
            "method": self.method,
            "seed": str(self.seed),
            "setting": self.setting,
        }
        tags.update({f"axis.{name}": str(value) for name, value in self.axes.items()})
        return tags


@dataclass
class DataGroup:
    """Trials that share one ingest + noise run (same seed and data parameters)."""

    key: str
    params: dict[str, Any]
    trials: list[Trial] = field(default_factory=list)


def load_spec(path: Path) -> SweepSpec:
    """Read and check a sweep file."""
    if not path.is_file():
        raise ParameterError(f"sweep file {path} does not exist")
    raw = yaml.safe_load(path.read_text()) or {}
    unknown = set(raw) - {"name", "base", "grid", "clean_baseline", "description"}
    if unknown:
        raise ParameterError(f"{path}: unknown keys {sorted(unknown)}")
    grid = raw.get("grid") or {}
    if not isinstance(grid, dict) or "loss" not in grid:
        raise ParameterError(f"{path}: grid must map parameter names to lists and include loss")
    for axis, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ParameterError(f"{path}: grid.{axis} must be a non-empty list; got {values!r}")
    bad_losses = [loss for loss in grid["loss"] if loss not in LOSSES]
    if bad_losses:
        raise ParameterError(f"{path}: grid.loss must use {', '.join(LOSSES)}; got {bad_losses}")
    name = raw.get("name") or path.stem
    return SweepSpec(
        name=str(name),
        base=flatten(raw.get("base") or {}),
        grid=grid,
        clean_baseline=bool(raw.get("clean_baseline", False)),
        description=str(raw.get("description", "")),
    )


def _is_data_axis(axis: str) -> bool:
    return axis in DATA_AXES or axis.startswith(DATA_AXES_PREFIXES)


def _with_seed(flat: dict[str, Any], seed: int) -> dict[str, Any]:
    return {**flat, **dict.fromkeys(SEED_KEYS, seed)}


def _key(values: dict[str, Any]) -> str:
    return ",".join(f"{name}={values[name]}" for name in sorted(values)) or DEFAULT_SETTING


def _combinations(grid: dict[str, list[Any]]) -> Iterator[dict[str, Any]]:
    combos: list[dict[str, Any]] = [{}]
    for axis, values in grid.items():
        combos = [{**combo, axis: value} for combo in combos for value in values]
    yield from combos


def expand(spec: SweepSpec) -> list[DataGroup]:
    """All data groups and their trials, in a deterministic order."""
    seeds = spec.grid.get("seed", [spec.base.get("seed", 0)])
    setting_axes = {k: v for k, v in spec.grid.items() if k not in ("loss", "seed")}
    groups: dict[str, DataGroup] = {}
    for seed in seeds:
        for setting in _combinations(setting_axes):
            data_axes = {k: v for k, v in setting.items() if _is_data_axis(k)}
            group_key = f"seed={seed}|{_key(data_axes)}"
            group = groups.setdefault(
                group_key,
                DataGroup(group_key, _with_seed({**spec.base, **data_axes}, seed)),
            )
            for loss in spec.grid["loss"]:
                params = _with_seed({**spec.base, **setting, "loss": loss}, seed)
                key = f"{loss}|seed={seed}|{_key(setting)}"
                group.trials.append(Trial(key, loss, seed, _key(setting), setting, params))
        if spec.clean_baseline:
            clean = _with_seed({**spec.base, "noise.enabled": False}, seed)
            key = f"{CLEAN}|seed={seed}"
            trial = Trial(key, CLEAN, seed, CLEAN, {}, {**clean, "loss": "mse"})
            groups[key] = DataGroup(key, clean, [trial])
    return list(groups.values())


@dataclass
class Progress:
    """Counts and timing of a sweep, printed as one line per finished trial."""

    total: int
    skipped: int = 0
    done: int = 0
    failed: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def line(self, trial: Trial, status: str, seconds: float) -> str:
        """``[done/total] failed remaining ETA | status trial (s)``."""
        finished = self.done + len(self.failed)
        remaining = self.total - self.skipped - finished
        elapsed = time.monotonic() - self.started
        eta = elapsed / max(finished, 1) * remaining
        return (
            f"[{self.skipped + finished}/{self.total}] failed {len(self.failed)}, remaining "
            f"{remaining}, ETA {eta / 60:.1f} min | {status} {trial.key} ({seconds:.1f} s)"
        )


# ---- running trials in Kedro sessions -------------------------------------------------------


def run_session(
    project: Path,
    params: dict[str, Any],
    pipelines: list[str],
    load_versions: dict[str, str] | None = None,
) -> str:
    """Run ``pipelines`` in a new KedroSession of ``project``; return its save version."""
    bootstrap_project(project)
    with KedroSession.create(project_path=project, runtime_params=nest(params)) as session:
        version = session.store["session_id"]
        session.run(pipeline_names=pipelines, load_versions=load_versions)
    return version


def record_failure(tracking_uri: str, trial: Trial, sweep: str, error: str) -> None:
    """Make sure the trial has a FAILED MLflow run that carries the error."""
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name(EXPERIMENT) or client.get_experiment(
        client.create_experiment(EXPERIMENT)
    )
    query = f"tags.sweep = '{sweep}' and tags.trial = '{trial.key}'"
    runs = client.search_runs([experiment.experiment_id], query, order_by=["start_time DESC"])
    run = runs[0] if runs and runs[0].info.status != "FINISHED" else None
    run_id = run.info.run_id if run else client.create_run(experiment.experiment_id).info.run_id
    for name, value in {**trial.tags(sweep), "error": error[-ERROR_TAG_LIMIT:]}.items():
        client.set_tag(run_id, name, value)
    client.set_terminated(run_id, "FAILED")


def run_trial(
    project: str, trial: Trial, sweep: str, version: str, tracking_uri: str
) -> tuple[str, float]:
    """Train one trial on the pinned noisy labels; returns its status and duration.

    Runs in the sweep's process (local) or in a Ray worker; never raises for a failed trial.
    """
    started = time.monotonic()
    params = {**trial.params, "mlflow_tracking_uri": tracking_uri}
    params.update({f"run_tags.{name}": value for name, value in trial.tags(sweep).items()})
    try:
        run_session(Path(project), params, ["train"], {"noisy_train": version})
    except Exception:  # a failed trial is recorded and the sweep goes on
        record_failure(tracking_uri, trial, sweep, traceback.format_exc())
        return "FAILED", time.monotonic() - started
    return "FINISHED", time.monotonic() - started


def finished_runs(tracking_uri: str, sweep: str) -> dict[str, dict[str, str]]:
    """Tags of this sweep's FINISHED runs, by trial key."""
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        return {}
    runs = client.search_runs(
        [experiment.experiment_id],
        f"tags.sweep = '{sweep}' and attributes.status = 'FINISHED'",
        max_results=50_000,
    )
    return {run.data.tags["trial"]: run.data.tags for run in runs}


def existing_version(
    project: Path, group: DataGroup, finished: dict[str, dict[str, str]]
) -> str | None:
    """The noisy_train version a finished trial of the group used, if it is still on disk."""
    dataset = group.params.get("dataset")
    for trial in group.trials:
        version = finished.get(trial.key, {}).get("noisy_train_version")
        if version and dataset:
            path = project / "data/05_model_input" / dataset / "noisy_train.parquet" / version
            if path.is_dir():
                return version
    return None


# ---- backends -------------------------------------------------------------------------------

Executor = Callable[[list[tuple[Trial, str]]], Iterator[tuple[Trial, str, float]]]


def local_executor(project: Path, sweep: str, tracking_uri: str) -> Executor:
    """Trials one after another in this process."""

    def execute(work: list[tuple[Trial, str]]) -> Iterator[tuple[Trial, str, float]]:
        for trial, version in work:
            status, seconds = run_trial(str(project), trial, sweep, version, tracking_uri)
            yield trial, status, seconds

    return execute


def ray_executor(project: Path, sweep: str, tracking_uri: str) -> Executor:
    """Trials as Ray tasks: ``RAY_ADDRESS`` joins a cluster, else a local one starts.

    Each task asks for one GPU when the cluster has GPUs, one CPU otherwise.
    """
    import ray  # noqa: PLC0415 - imported only for --backend ray: slow to import

    def execute(work: list[tuple[Trial, str]]) -> Iterator[tuple[Trial, str, float]]:
        ray.init(address=os.environ.get("RAY_ADDRESS"), include_dashboard=False)
        try:
            gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
            remote = ray.remote(num_cpus=0 if gpus else 1, num_gpus=gpus)(run_trial)
            pending = {
                remote.remote(str(project), trial, sweep, version, tracking_uri): trial
                for trial, version in work
            }
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                trial = pending.pop(ready[0])
                status, seconds = ray.get(ready[0])
                yield trial, status, seconds
        finally:
            ray.shutdown()

    return execute


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def tracking_server(project: Path, backend_uri: str) -> Iterator[str]:
    """``mlflow server`` on 127.0.0.1 over ``backend_uri``: parallel trials never share SQLite."""
    port = _free_port()
    command = [
        sys.executable, "-m", "mlflow", "server", "--backend-store-uri", backend_uri,
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    server = subprocess.Popen(
        command, cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    uri = f"http://127.0.0.1:{port}"
    try:
        _wait_for_port(port, server)
        yield uri
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
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise RuntimeError(f"mlflow server did not listen on port {port} within 60 s")


# ---- the sweep ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    """What a sweep did."""

    total: int
    skipped: int
    finished: int
    failed: list[str]


def run_sweep(
    spec: SweepSpec,
    project: Path,
    tracking_uri: str,
    backend: str = "local",
    overrides: dict[str, Any] | None = None,
    report: Callable[[str], None] = print,
) -> SweepResult:
    """Prepare every data group once, then train every unfinished trial; never stops on a failure.

    ``overrides`` (dotted keys) replace base parameters, e.g. ``{"epochs": 1}`` for a smoke run.
    """
    if backend not in ("local", "ray"):
        raise ParameterError(f"backend must be local or ray; got {backend!r}")
    spec = SweepSpec(spec.name, {**spec.base, **(overrides or {})}, spec.grid,
                     spec.clean_baseline, spec.description)  # fmt: skip
    groups = expand(spec)
    finished = finished_runs(tracking_uri, spec.name)
    progress = Progress(total=sum(len(group.trials) for group in groups))
    work: list[tuple[Trial, str]] = []
    for group in groups:
        todo = [trial for trial in group.trials if trial.key not in finished]
        progress.skipped += len(group.trials) - len(todo)
        if not todo:
            continue
        version = existing_version(project, group, finished) or run_session(
            project,
            {**group.params, "mlflow_tracking_uri": tracking_uri},
            ["ingest", "noise"],
        )
        work += [(trial, version) for trial in todo]
    report(
        f"sweep {spec.name}: {progress.total} trials, {progress.skipped} already finished, "
        f"{len(work)} to run ({backend})"
    )
    executor = (local_executor if backend == "local" else ray_executor)(
        project, spec.name, tracking_uri
    )
    for trial, status, seconds in executor(work):
        if status == "FINISHED":
            progress.done += 1
        else:
            progress.failed.append(trial.key)
        report(progress.line(trial, status, seconds))
    result = SweepResult(progress.total, progress.skipped, progress.done, progress.failed)
    report(json.dumps({"sweep": spec.name, **result.__dict__}))
    return result
