"""Project pipelines: one folder each under ``pipelines/``.

``__default__`` (plain ``kedro run``) is ingest -> noise -> train; ``report`` summarises a
sweep's MLflow runs and only runs when named.
"""

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

DEFAULT_PIPELINES = ("ingest", "noise", "train")


def register_pipelines() -> dict[str, Pipeline]:
    """Register every pipeline found under ``pipelines/`` plus ``__default__``."""
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = sum(
        (pipelines[name] for name in DEFAULT_PIPELINES if name in pipelines), Pipeline([])
    )
    return pipelines
