"""In-memory pipeline slices: a pipeline's real ``create_pipeline()`` run by Kedro's
``SequentialRunner`` over a ``DataCatalog`` of ``MemoryDataset``s, fed the project's real
parameters (``conf/base``, with a few overrides as ``--params`` would give them).

No session, no hooks, no files, no MLflow: a slice takes a second or two (train: its two epochs
and torch's first optimiser) and fails on a wiring mistake as a real run would (an input no
upstream pipeline outputs, a node whose signature no longer matches its inputs, a parameter the
YAML lacks or the node's type refuses).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from kedro.config import OmegaConfigLoader
from kedro.framework.hooks import _create_hook_manager, hook_impl
from kedro.io import DataCatalog
from kedro.pipeline import Pipeline
from kedro.runner import SequentialRunner
from kedro.validation.parameter_validator import ParameterValidator
from kedro.validation.utils import get_typed_fields

from biv_pipeline.catalog.image_cache import ImageCacheDataset
from biv_pipeline.catalog.names import IMAGE_CACHE

CONF = Path(__file__).resolve().parents[2] / "conf"
PARAMS_PREFIX = "params:"


def project_parameters(**overrides: Any) -> dict[str, Any]:
    """The parameters of ``conf/base`` with ``overrides`` merged in, as ``kedro run --params``
    merges them (a nested dict overrides only the keys it names).

    ``conf/local`` is left out: a developer's local settings must not change a test.
    """
    loader = OmegaConfigLoader(
        conf_source=str(CONF),
        base_env="base",
        default_run_env="base",
        runtime_params=overrides,
        merge_strategy={"parameters": "soft"},
    )
    return loader["parameters"]


def parameter_feed(parameters: dict[str, Any]) -> dict[str, Any]:
    """``params:<key>`` for every key, nested ones included (``params:noise.p``), as Kedro's
    context adds them to a run's catalog."""
    feed: dict[str, Any] = {}

    def add(name: str, value: Any) -> None:
        feed[PARAMS_PREFIX + name] = value
        fields = value if isinstance(value, dict) else get_typed_fields(value)
        for field, field_value in (fields or {}).items():
            add(f"{name}.{field}", field_value)

    for name, value in parameters.items():
        add(name, value)
    return feed


class _NodeOutputs:
    """Keeps every node output: the runner releases a MemoryDataset once no node needs it."""

    def __init__(self) -> None:
        self.outputs: dict[str, Any] = {}

    @hook_impl
    def after_node_run(self, outputs: dict[str, Any]) -> None:
        self.outputs.update(outputs)


def run_slice(
    pipeline: Pipeline, parameters: dict[str, Any], workdir: Path, **datasets: Any
) -> dict[str, Any]:
    """Run ``pipeline`` in memory with ``parameters`` and upstream ``datasets`` (by catalog
    name); return what each of its nodes output, by dataset name.

    Parameters are validated against the nodes' type hints, as a Kedro run does before the
    catalog is built (a typed block arrives as its dataclass). The run happens in ``workdir``
    so that a relative path written by mistake lands there, not in the checkout.
    """
    typed = ParameterValidator({"slice": pipeline}).validate_raw_params(parameters)
    catalog = DataCatalog()
    # the real image-cache dataset: a table saves nothing in it and loads None from it
    catalog[IMAGE_CACHE] = ImageCacheDataset(str(workdir / "image_cache"))
    for name, value in {**parameter_feed(typed), **datasets}.items():
        if not (name == IMAGE_CACHE and value is None):
            catalog[name] = value
    recorder = _NodeOutputs()
    hook_manager = _create_hook_manager()
    hook_manager.register(recorder)
    with contextlib.chdir(workdir):
        SequentialRunner().run(pipeline, catalog, hook_manager=hook_manager)
    return recorder.outputs
