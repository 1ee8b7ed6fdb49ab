"""Running a sweep's trials: one after another in this process, or as Ray tasks.

Each trial is its own Kedro session, so it reads the labels pinned for it and loads back only
what it wrote itself (see :mod:`biv_pipeline.catalog.lineage`), however many run at once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from biv_pipeline import MLFLOW_TELEMETRY_ENV, TELEMETRY_OFF
from biv_pipeline.catalog.names import NOISY_TRAIN
from biv_pipeline.errors import SessionFailedError
from biv_pipeline.run_record import FAILED, FINISHED
from biv_pipeline.sweeps.bookkeeping import record_failure
from biv_pipeline.sweeps.console import sweep_log_path, trial_logs_to
from biv_pipeline.sweeps.plan import Trial
from biv_pipeline.sweeps.sessions import run_session
from biv_pipeline.tracking.contract import SWEEP_TAG

TRAIN_PIPELINE = "train"
RAY_ADDRESS_ENV = "RAY_ADDRESS"


@dataclass(frozen=True)
class TrialJob:
    """What a trial needs to run anywhere: its parameters, tags and pinned labels."""

    trial: Trial
    labels_version: str
    tags: dict[str, str]


Executor = Callable[[list[TrialJob]], Iterator[tuple[TrialJob, str, float]]]


def run_trial(project: str, job: TrialJob, tracking_uri: str) -> tuple[str, float]:
    """Train one trial on its pinned noisy labels; returns its status and duration.

    Runs in the sweep's process (local) or in a Ray worker, logging to the sweep's log file
    in both; a failed trial is recorded as a FAILED run and never raises (Ctrl-C does).
    """
    started = time.monotonic()
    params = {**job.trial.params, "mlflow_tracking_uri": tracking_uri}
    params.update({f"run_tags.{name}": value for name, value in job.tags.items()})
    log = sweep_log_path(Path(project), job.tags[SWEEP_TAG])
    try:
        with trial_logs_to(log):
            pins = {NOISY_TRAIN: job.labels_version}
            run_session(Path(project), params, [TRAIN_PIPELINE], pins)
    except SessionFailedError as failure:
        record_failure(tracking_uri, job.tags, str(failure), failure.version)
        return FAILED, time.monotonic() - started
    return FINISHED, time.monotonic() - started


def local_executor(project: Path, tracking_uri: str) -> Executor:
    """Trials one after another in this process."""

    def execute(jobs: list[TrialJob]) -> Iterator[tuple[TrialJob, str, float]]:
        for job in jobs:
            status, seconds = run_trial(str(project), job, tracking_uri)
            yield job, status, seconds

    return execute


def ray_init_options(address: str | None) -> dict[str, Any]:
    """``ray.init`` options: join ``address`` (None: start a local cluster), no dashboard,
    workers logging to the sweep's log file (:func:`run_trial`), not to this console, and
    MLflow's telemetry as this process has it (off unless the user turned it on), also on the
    nodes of a cluster this process did not start."""
    telemetry = os.environ.get(MLFLOW_TELEMETRY_ENV, TELEMETRY_OFF)
    return {
        "address": address,
        "include_dashboard": False,
        "log_to_driver": False,
        "runtime_env": {"env_vars": {MLFLOW_TELEMETRY_ENV: telemetry}},
    }


def ray_executor(project: Path, tracking_uri: str) -> Executor:
    """Trials as Ray tasks: ``RAY_ADDRESS`` joins a cluster, else a local one starts.

    Each task asks for one GPU when the cluster has GPUs, one CPU otherwise.
    """
    import ray  # noqa: PLC0415 - imported only for --backend ray: slow to import

    def execute(jobs: list[TrialJob]) -> Iterator[tuple[TrialJob, str, float]]:
        ray.init(**ray_init_options(os.environ.get(RAY_ADDRESS_ENV)))
        try:
            gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
            remote = ray.remote(num_cpus=0 if gpus else 1, num_gpus=gpus)(run_trial)
            pending = {remote.remote(str(project), job, tracking_uri): job for job in jobs}
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                job = pending.pop(ready[0])
                status, seconds = ray.get(ready[0])
                yield job, status, seconds
        finally:
            ray.shutdown()

    return execute


EXECUTORS: dict[str, Callable[[Path, str], Executor]] = {
    "local": local_executor,
    "ray": ray_executor,
}
