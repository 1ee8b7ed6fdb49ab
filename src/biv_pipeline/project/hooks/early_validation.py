"""Check every parameter a run uses before anything heavy is loaded or written."""

from __future__ import annotations

from typing import Any

from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl
from kedro.io import DataCatalog
from kedro.pipeline import Pipeline

from biv_pipeline.catalog.names import SWEEP_RUNS
from biv_pipeline.data.image_limits import check_image_size
from biv_pipeline.parameters.contract import check_parameters, parse_block
from biv_pipeline.parameters.training import TRAINING_PARAMETERS
from biv_pipeline.project.hooks.declared_datasets import DATASETS_PARAMETER, raw_parameters

DATASET = "dataset"
IMAGE_SIZE = "image_size"
NOISE = "noise"


def check_run_parameters(parameters: dict[str, Any]) -> None:
    """Raise a one-line reason naming the first bad parameter of a run's ``parameters``
    (every key of every pipeline, as configured and given), as a run checks them at start."""
    check_parameters(parameters)
    # the registry loads pandas: not before the contract has named any bad parameter
    from biv_pipeline.data.declared_noise import resolve_source  # noqa: PLC0415
    from biv_pipeline.data.registry import get_dataset, register_datasets  # noqa: PLC0415
    from biv_pipeline.parameters.resolved_training import make_training_config  # noqa: PLC0415

    declarations = parameters[DATASETS_PARAMETER]
    spec = get_dataset(parameters[DATASET], declarations)
    noise = parse_block(NOISE, parameters[NOISE])
    resolve_source(noise, spec.declares_noise, parameters[DATASET])
    check_image_size(parameters[IMAGE_SIZE])
    register_datasets(declarations)  # `lr: auto` resolves through the registry
    make_training_config(
        parameters[DATASET], **{name: parameters[name] for name in TRAINING_PARAMETERS}
    )


class EarlyValidationHook:
    """Check every parameter a run uses before anything heavy is loaded or written.

    The checks that need nothing but the parameters (the whole contract of
    :mod:`biv_pipeline.parameters.contract`, the dataset's declaration, whether it declares
    the variances ``noise.source`` asks for, the training settings with ``auto`` resolved)
    run when the context is created: before the pipelines, hence torch, are imported, so
    ``--params loss=bvi`` is named in the time Kedro takes to start.
    Before the first node (and before kedro-mlflow opens a run, hence ``tryfirst``) the device
    is checked against the hardware and the sweep a report reads is looked up.
    """

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        """Raise a one-line reason naming the bad parameter, before the pipelines load."""
        check_run_parameters(raw_parameters(context))

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
