"""``run_sweep``: prepare every data group once, then train every trial that is not done.

Done means a FINISHED run of the same trial with the same parameters (fingerprint) that
logged its final metric; a RUNNING, KILLED, FAILED or metric-less run is run again, and so is
a trial whose parameters changed. A data group that fails to prepare records a FAILED run for
each of its trials and the sweep goes on.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from biv_pipeline.errors import ParameterError, SessionFailedError
from biv_pipeline.run_record import FAILED, FINISHED
from biv_pipeline.sweeps.bookkeeping import (
    done_runs,
    is_trial_done,
    labels_of_done_trials,
    record_failure,
)
from biv_pipeline.sweeps.console import SKIPPED, summary_table, sweep_log_path, trial_logs_to
from biv_pipeline.sweeps.executors import EXECUTORS, TrialJob
from biv_pipeline.sweeps.plan import DataGroup, Trial, expand, planned_seeds, refused_methods
from biv_pipeline.sweeps.sessions import noisy_label_versions, run_session
from biv_pipeline.sweeps.spec import SweepSpec
from biv_pipeline.tracking.sqlite_wal import use_wal

DATA_PIPELINES = ["ingest", "noise"]
SECONDS_PER_MINUTE = 60

logger = logging.getLogger(__name__)


@dataclass
class Progress:
    """Counts and timing of a sweep, printed as one line per finished trial, and the outcome
    of every trial (``(setting, method, status)``) for the closing table."""

    total: int
    skipped: int = 0
    done: int = 0
    failed: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    outcomes: list[tuple[str, str, str]] = field(default_factory=list)

    def skip(self, trials: list[Trial]) -> None:
        """Count trials that were done before this sweep ran."""
        self.skipped += len(trials)
        self.outcomes += [(trial.setting, trial.method, SKIPPED) for trial in trials]

    def record(self, trial: Trial, status: str, seconds: float) -> str:
        """Count the trial; ``[done/total] failed remaining ETA | status trial (s)``."""
        if status == FINISHED:
            self.done += 1
        else:
            self.failed.append(trial.key)
        self.outcomes.append((trial.setting, trial.method, status))
        finished = self.done + len(self.failed)
        remaining = self.total - self.skipped - finished
        elapsed = time.monotonic() - self.started
        eta = elapsed / max(finished, 1) * remaining / SECONDS_PER_MINUTE
        return (
            f"[{self.skipped + finished}/{self.total}] failed {len(self.failed)}, remaining "
            f"{remaining}, ETA {eta:.1f} min | {status} {trial.key} ({seconds:.1f} s)"
        )


@dataclass(frozen=True)
class SweepResult:
    """What a sweep did."""

    total: int
    skipped: int
    finished: int
    failed: list[str]


def prepare_labels(
    project: Path, group: DataGroup, todo: list[Trial], done: dict, tracking_uri: str
) -> str:
    """The noisy_train version the group's trials train on: the one its done trials used if
    it is still complete on disk (pairing survives a resume), else a new ingest + noise run."""
    params = {**group.params, "mlflow_tracking_uri": tracking_uri}
    used = labels_of_done_trials(group.trials, done)
    if used:
        on_disk = set(noisy_label_versions(project, params))
        reusable = [version for version in used if version in on_disk]
        if reusable:
            return reusable[0]
    return run_session(project, params, DATA_PIPELINES)


def run_sweep(
    spec: SweepSpec,
    project: Path,
    tracking_uri: str,
    backend: str = "local",
    overrides: dict[str, Any] | None = None,
    report: Callable[[str], None] = print,
) -> SweepResult:
    """Prepare every data group once, then train every trial that is not done.

    ``overrides`` (dotted keys) replace base parameters, e.g. ``{"epochs": 1}`` for a smoke run;
    they are part of each trial's fingerprint. Never stops on a failed trial. ``report`` gets
    one line per trial and a closing table; the sessions' logs, and a closing JSON line of
    the counts for scripts, go to the sweep's log file
    (:func:`biv_pipeline.sweeps.console.sweep_log_path`).
    """
    if backend not in EXECUTORS:
        raise ParameterError(f"backend must be one of {', '.join(EXECUTORS)}; got {backend!r}")
    spec = spec.with_overrides(overrides or {})
    seeds = planned_seeds(spec)
    groups = expand(spec)
    use_wal(tracking_uri)  # before the first query opens the database
    done = done_runs(tracking_uri, spec.name)
    progress = Progress(total=sum(len(group.trials) for group in groups))
    log = sweep_log_path(project, spec.name)
    report(f"sweep {spec.name}: {progress.total} trials; the runs' logs go to {log}")
    for method, reason in refused_methods(spec).items():
        report(f"not planned: {method} ({reason})")
    jobs: list[TrialJob] = []
    with trial_logs_to(log):
        for group in groups:
            todo = [trial for trial in group.trials if not is_trial_done(trial, done)]
            progress.skip([trial for trial in group.trials if trial not in todo])
            if not todo:
                continue
            try:
                version = prepare_labels(project, group, todo, done, tracking_uri)
            except SessionFailedError as failure:
                for trial in todo:
                    detail = f"preparing the labels of {group.key} failed: {failure}"
                    record_failure(tracking_uri, trial.tags(spec.name, seeds), detail)
                    report(progress.record(trial, FAILED, 0.0))
                continue
            jobs += [TrialJob(trial, version, trial.tags(spec.name, seeds)) for trial in todo]
        report(f"{progress.skipped} already done, {len(jobs)} to run ({backend})")
        for job, status, seconds in EXECUTORS[backend](project, tracking_uri)(jobs):
            report(progress.record(job.trial, status, seconds))
        result = SweepResult(progress.total, progress.skipped, progress.done, progress.failed)
        logger.info(json.dumps({"sweep": spec.name, **asdict(result)}))
    report(summary_table(progress.outcomes))
    return result
