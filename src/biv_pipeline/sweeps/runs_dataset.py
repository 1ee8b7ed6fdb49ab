"""A read-only Kedro dataset: the MLflow runs of one sweep and their test-score histories.

Every training run of a sweep is an MLflow run tagged ``sweep=<name>``, ``trial``, ``method``,
``seed``, ``setting`` and ``axis.<name>`` (see :mod:`biv_pipeline.reporting`). Loading searches
the experiment for that tag and returns a :class:`~biv_pipeline.reporting.SweepRuns`.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError
from mlflow.entities import Run, ViewType
from mlflow.tracking import MlflowClient

from biv_pipeline.errors import SweepNameError, SweepRunsError
from biv_pipeline.reporting import EPOCH, SweepRuns, parse_tag
from biv_pipeline.run_record import (
    AXIS_PREFIX,
    FINAL_METRICS,
    FINISHED,
    HEADLINE_METRICS,
    PLANNED_SEEDS_TAG,
    TRIAL_TAGS,
)
from biv_pipeline.sweeps.spec import sweep_file_named
from biv_pipeline.tracking.contract import SWEEP_TAG

SWEEP_NAME = re.compile(r"[\w.\-]+")  # also keeps the name safe inside an MLflow filter string
PAGE_SIZE = 1000  # runs per MLflow search request
UNKNOWN = "unknown"  # method or setting of a failed run that never got its tags
HISTORIES = tuple(HEADLINE_METRICS.values())  # test_mse, and test_mse_clean_est where logged


class SweepRunsDataset(AbstractDataset[None, SweepRuns]):
    """The runs of sweep ``sweep`` in the MLflow experiment ``experiment`` at ``tracking_uri``.

    ``load()`` returns ``SweepRuns(runs, histories)``: ``runs`` has one row per run (``run_id``,
    ``status``, ``start_time``, the trial tags, the ``axis.*`` tags parsed as numbers where they
    are, the final metrics); ``histories`` has the per-epoch ``test_mse`` and
    ``test_mse_clean_est`` of the finished runs (``run_id``, ``epoch``, one column each, empty
    where a run did not log it). Deleted runs are ignored. Read-only.
    """

    def __init__(
        self,
        sweep: str | int | None,
        tracking_uri: str,
        experiment: str,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._sweep = sweep
        self._tracking_uri = tracking_uri
        self._experiment = experiment
        self.metadata = metadata

    def load(self) -> SweepRuns:
        """Search the runs tagged with the sweep's name and read their histories."""
        client, runs = self._find()
        histories: dict[tuple[str, int], dict[str, float]] = {}
        for run in runs:
            if run.info.status != FINISHED:
                continue
            for name in HISTORIES:
                for metric in client.get_metric_history(run.info.run_id, name):
                    histories.setdefault((run.info.run_id, metric.step), {})[name] = metric.value
        rows = [
            {"run_id": run_id, EPOCH: epoch, **values}
            for (run_id, epoch), values in histories.items()
        ]
        return SweepRuns(
            pd.DataFrame([_record(run, str(self._sweep)) for run in runs]),
            pd.DataFrame(rows, columns=["run_id", EPOCH, *HISTORIES]),
        )

    def check(self) -> None:
        """Raise the error ``load()`` would for a missing name or a sweep without runs, reading
        one run at most: for a ``before_pipeline_run`` hook, before any MLflow run opens (Kedro
        wraps an error raised by ``load()`` in a ``DatasetError``)."""
        self._find(limit=1)

    def _find(self, limit: int | None = None) -> tuple[MlflowClient, list[Run]]:
        """The client and the sweep's runs (the first ``limit``), oldest first."""
        name = _sweep_name(self._sweep)
        client = MlflowClient(tracking_uri=self._tracking_uri)
        experiment = client.get_experiment_by_name(self._experiment)
        experiment_id = None if experiment is None else experiment.experiment_id
        runs = _search(client, experiment_id, f"tags.{SWEEP_TAG} = '{name}'", limit)
        if not runs:
            known = sorted({run.data.tags[SWEEP_TAG] for run in _search(client, experiment_id)})
            spec = sweep_file_named(name)
            command = f", `kedro sweep {spec.as_posix()}`," if spec is not None else ""
            raise SweepRunsError(
                f"no runs of sweep {name!r} in MLflow experiment {self._experiment!r} at "
                f"{self._tracking_uri}; sweeps there: {', '.join(known) or 'none'} (run the "
                f"sweep first{command} or pass --params mlflow_tracking_uri=... to read another "
                "store)"
            )
        return client, runs

    def save(self, data: SweepRuns) -> None:
        """Not supported: the sweep command writes these runs."""
        raise DatasetError(f"{type(self).__name__} is read-only")

    def _describe(self) -> dict[str, Any]:
        return {
            "sweep": self._sweep,
            "tracking_uri": self._tracking_uri,
            "experiment": self._experiment,
        }


def _sweep_name(sweep: str | int | None) -> str:
    """The sweep's name as its MLflow tag spells it; one line saying how to set it otherwise."""
    if sweep is None:
        raise SweepNameError(
            "sweep is not set: name the sweep to report, "
            "`kedro run --pipelines=report --params sweep=NAME`"
        )
    name = str(sweep)
    if not SWEEP_NAME.fullmatch(name):
        raise SweepNameError(
            f"sweep must be a name of letters, digits, '_', '.' and '-'; got {name!r}"
        )
    return name


def _search(
    client: MlflowClient, experiment_id: str | None, query: str = "", limit: int | None = None
) -> list[Run]:
    """The active runs of the experiment matching ``query`` (without one: every run with a
    sweep tag), oldest first, page by page up to ``limit`` runs (None: all)."""
    if experiment_id is None:
        return []
    runs: list[Run] = []
    token = None
    while limit is None or len(runs) < limit:
        page = client.search_runs(
            [experiment_id],
            query or f"tags.{SWEEP_TAG} LIKE '%'",
            run_view_type=ViewType.ACTIVE_ONLY,
            max_results=PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - len(runs)),
            order_by=["attributes.start_time ASC"],
            page_token=token,
        )
        runs.extend(page)
        token = page.token
        if not token:
            break
    return runs


def _record(run: Run, sweep: str) -> dict[str, Any]:
    """One row of the runs table. A finished run must carry every trial tag; a failed run that
    lacks some (it failed before they were set) is kept, as ``unknown``, to be counted."""
    tags = run.data.tags
    missing = [tag for tag in TRIAL_TAGS if tag not in tags]
    if missing and run.info.status == FINISHED:
        raise SweepRunsError(
            f"run {run.info.run_id} of sweep {sweep!r} is FINISHED but lacks the tags "
            f"{', '.join(missing)}; every trial run must carry {', '.join(TRIAL_TAGS)}"
        )
    return {
        "run_id": run.info.run_id,
        "status": run.info.status,
        "start_time": run.info.start_time,
        "trial": tags.get("trial", run.info.run_id),
        "method": tags.get("method", UNKNOWN),
        "seed": parse_tag(tags["seed"]) if "seed" in tags else None,
        "setting": tags.get("setting", UNKNOWN),
        PLANNED_SEEDS_TAG: tags.get(PLANNED_SEEDS_TAG),
        **{tag: parse_tag(value) for tag, value in tags.items() if tag.startswith(AXIS_PREFIX)},
        **{metric: run.data.metrics.get(metric, float("nan")) for metric in FINAL_METRICS},
    }
