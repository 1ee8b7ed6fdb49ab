"""Kedro sessions of a sweep: one per data group (ingest + noise) and one per trial (train)."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import Any

from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from biv_pipeline.catalog.lineage import versions
from biv_pipeline.catalog.names import NOISY_TRAIN
from biv_pipeline.errors import SessionFailedError, one_line
from biv_pipeline.parameters.dotted_keys import nest
from biv_pipeline.project.session import ProjectSession
from biv_pipeline.tracking.interruptions import runs_end_killed_on_interrupt

logger = logging.getLogger(__name__)


def run_session(
    project: Path,
    params: dict[str, Any],
    pipelines: list[str],
    load_versions: dict[str, str] | None = None,
) -> str:
    """Run ``pipelines`` in a new KedroSession of ``project`` with the dotted ``params``.

    Returns the session's save version (the version of everything it wrote). Ctrl-C and
    SIGTERM end its MLflow run as KILLED and propagate; any other error is logged with its
    traceback (a sweep's log file) and becomes a ``SessionFailedError`` whose message is the
    error in one line.
    """
    bootstrap_project(project)
    with ProjectSession.create(project_path=project, runtime_params=nest(params)) as session:
        try:
            with runs_end_killed_on_interrupt():
                session.run(pipeline_names=pipelines, load_versions=load_versions)
        except Exception as error:
            detail = traceback.format_exc()
            logger.error("session %s (%s) failed:\n%s", session.session_id, pipelines, detail)
            raise SessionFailedError(session.session_id, detail, one_line(error)) from error
        return session.session_id


def noisy_label_versions(project: Path, params: dict[str, Any]) -> list[str]:
    """The complete ``noisy_train`` versions on disk for the dataset ``params`` name."""
    bootstrap_project(project)
    with KedroSession.create(project_path=project, runtime_params=nest(params)) as session:
        return versions(session.load_context().catalog.get(NOISY_TRAIN))
