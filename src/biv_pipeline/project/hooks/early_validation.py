"""Check every parameter a run uses before anything heavy is loaded or written."""

from __future__ import annotations

from typing import Any

from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl
from kedro.io import DataCatalog
from kedro.pipeline import Pipeline

from biv_pipeline.catalog.names import SWEEP_RUNS
from biv_pipeline.data.image_limits import check_image_size
from biv_pipeline.parameters.contract import check_parameters
from biv_pipeline.parameters.training import TRAINING_PARAMETERS
from biv_pipeline.project.hooks.declared_datasets import DATASETS_PARAMETER, raw_parameters

DATASET = "dataset"
IMAGE_SIZE = "image_size"


class EarlyValidationHook:
    """Check every parameter a run uses before anything heavy is loaded or written.

    The checks that need nothing but the parameters (the whole contract of
    :mod:`biv_pipeline.parameters.contract`, the dataset's declaration, the training settings
    with ``auto`` resolved) run when the context is created: before the pipelines, hence
    torch, are imported, so ``--params loss=bvi`` is named in the time Kedro takes to start.
    Before the first node (and before kedro-mlflow opens a run, hence ``tryfirst``) the device
    is checked against the hardware and the sweep a report reads is looked up.
    """

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        """Raise a one-line reason naming the bad parameter, before the pipelines load."""
        parameters = raw_parameters(context)
        check_parameters(parameters)
        # the registry loads pandas: not before the contract has named any bad parameter
        from biv_pipeline.data.registry import get_dataset, register_datasets  # noqa: PLC0415
        from biv_pipeline.parameters.resolved_training import make_training_config  # noqa: PLC0415

        declarations = parameters[DATASETS_PARAMETER]
        get_dataset(parameters[DATASET], declarations)
        check_image_size(parameters[IMAGE_SIZE])
        register_datasets(declarations)  # `lr: auto` resolves through the registry
        make_training_config(
            parameters[DATASET], **{name: parameters[name] for name in TRAINING_PARAMETERS}
        )

    @hook_impl(tryfirst=True)
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: DataCatalog
    ) -> None:
        """Check what needs the hardware or the tracking store, before any data is written."""
        inputs = pipeline.inputs()
        if "params:device" in inputs:
            from biv_pipeline.training import resolve_device  # noqa: PLC0415 - torch is loaded

            resolve_device(catalog.load("params:device"))
        if SWEEP_RUNS in inputs:
            catalog.get(SWEEP_RUNS).check()
