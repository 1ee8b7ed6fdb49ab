"""Hook that makes the tables declared under the ``datasets`` parameter known by name."""

from __future__ import annotations

from typing import Any

from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl

DATASETS_PARAMETER = "datasets"


def raw_parameters(context: KedroContext) -> dict[str, Any]:
    """The run's parameters (``--params`` included) as configured, without loading pipelines.

    ``context.params`` validates them against the type hints of every registered pipeline's
    nodes, which imports all of them (torch and MLflow included) before anything is checked.
    """
    return context.config_loader["parameters"]


class DeclaredDatasetsHook:
    """Register ``params:datasets`` when a context is created (runtime ``--params`` included).

    Nodes that receive the declarations take ``params:datasets``; this covers callers that
    only know a dataset's name (parameter validation, ``lr: auto``, ``model: auto``).
    """

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        """Register this run's declarations, replacing those of an earlier session."""
        # here, not at the top: the registry loads pandas, which settings (every command) need not
        from biv_pipeline.data.registry import register_datasets  # noqa: PLC0415

        register_datasets(raw_parameters(context).get(DATASETS_PARAMETER))
