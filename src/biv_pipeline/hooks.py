"""Project hooks: fail fast on bad parameters, and record the lineage of every training run.

Every ``kedro`` command imports this module (through ``settings.py``), ``kedro --help``
included: torch, MLflow and the training nodes are imported inside the hooks that use them.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import asdict
from types import TracebackType
from typing import Any

from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl
from kedro.io import DataCatalog
from kedro.pipeline import Node, Pipeline

from biv_pipeline.datasets import get_dataset, register_datasets
from biv_pipeline.declared_datasets import DATASETS_PARAMETER, raw_parameters
from biv_pipeline.images import check_image_size
from biv_pipeline.input_errors import input_error_line, tracebacks_wanted
from biv_pipeline.lineage import INGEST_VERSION, NOISY_TRAIN, pin, plan_versions
from biv_pipeline.parameter_contract import check_parameters
from biv_pipeline.params import flatten
from biv_pipeline.tracking_contract import (
    FINAL_METRIC,
    FINAL_RMSE_METRIC,
    INGEST_VERSION_TAG,
    NOISY_TRAIN_VERSION_TAG,
    SWEEP_TAG,
    USER_TAG,
)
from biv_pipeline.training_config import TRAINING_PARAMETERS, make_training_config

SWEEP_RUNS = "sweep_runs"
DATASET = "dataset"
IMAGE_SIZE = "image_size"
TRAINING_CONFIG = "training_config"
TRAINING_METRICS = "training_metrics"
MLFLOW_UI_HINT = "kedro mlflow ui"

logger = logging.getLogger(__name__)


class EarlyValidationHook:
    """Check every parameter a run uses before anything heavy is loaded or written.

    The checks that need nothing but the parameters (the whole contract of
    :mod:`biv_pipeline.parameter_contract`, the dataset's declaration, the training settings
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


class LineageHook:
    """Pin every version a run reads (:mod:`biv_pipeline.lineage`), and tag the training run
    with them and with how its labels were made.

    Logs ``data.*`` (the provenance stored in the noisy table), ``train.*`` (the training
    settings after ``auto`` was resolved, e.g. ``train.model``, ``train.lr``) and
    ``runtime.torch_threads``.
    """

    @hook_impl(tryfirst=True)
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: DataCatalog
    ) -> None:
        """Pin the versions this run reads and writes, before any node (or MLflow run) starts."""
        save_version = run_params["run_id"]  # Kedro's save version of this run
        parameters = catalog.load("parameters")
        lineage = plan_versions(
            catalog, pipeline, save_version, run_params.get("load_versions") or {}, parameters
        )
        pin(catalog, lineage.pins, save_version)
        if lineage.provenance:
            provenance = lineage.provenance
            logger.info(
                "Training on noisy_train %s of dataset %s (split seed %s, noise seed %s, p %s), "
                "scored on the test split of ingest %s",
                lineage.pins[NOISY_TRAIN], provenance.get("dataset"),
                provenance.get("ingest", {}).get("split_seed"),
                provenance.get("noise", {}).get("seed"), provenance.get("noise", {}).get("p"),
                provenance.get(INGEST_VERSION),
            )  # fmt: skip

    @hook_impl
    def before_node_run(self, node: Node, catalog: DataCatalog, inputs: dict[str, Any]) -> None:
        """On the training node: set the lineage tags and log the resolved parameters.

        The run is named ``<dataset>-<loss>`` when it opens (:mod:`biv_pipeline.tracking_hook`).
        """
        if not {NOISY_TRAIN, TRAINING_CONFIG} <= set(node.inputs):
            return
        import mlflow  # noqa: PLC0415 - loaded by then: kedro-mlflow opened the run

        from biv_pipeline.catalog_io import VERSION_ATTR  # noqa: PLC0415

        if mlflow.active_run() is None:
            return
        provenance = dict(inputs[NOISY_TRAIN].attrs)
        config = inputs[TRAINING_CONFIG]
        tags = {
            NOISY_TRAIN_VERSION_TAG: provenance.pop(VERSION_ATTR),
            INGEST_VERSION_TAG: provenance.get(INGEST_VERSION),
        }
        user_tag = catalog.load("params:tag")
        if user_tag is not None:
            tags[USER_TAG] = str(user_tag)
        tags.update({k: str(v) for k, v in flatten(catalog.load("params:run_tags")).items()})
        mlflow.set_tags(tags)
        mlflow.log_params(
            flatten(
                {
                    "data": provenance,
                    "train": asdict(config),
                    # what train_model sets (biv_pipeline.training.torch_threads)
                    "runtime": {"torch_threads": config.threads},
                }
            )
        )


class ConciseErrorsHook:
    """Show errors in the user's input as one line on stderr instead of a traceback, for
    every ``kedro`` command (the project's ``run`` and ``sweep`` catch them themselves).

    Bugs keep their full traceback, and ``BIV_TRACEBACK=1`` shows it for every error.
    """

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        """Wrap the interpreter's exception hook (after Kedro installed its rich one)."""
        if tracebacks_wanted() or getattr(sys.excepthook, "concise", False):
            return
        fallback = sys.excepthook

        def concise(
            kind: type[BaseException], error: BaseException, trace: TracebackType | None
        ) -> None:
            line = input_error_line(error)
            if line is None:
                fallback(kind, error, trace)
            else:
                print(line, file=sys.stderr)

        concise.concise = True  # type: ignore[attr-defined]
        sys.excepthook = concise


class RunSummaryHook:
    """At the end of a training run, print one block: what was trained, how it scored, where
    it went (the save version of its files, the MLflow run) and how to look at it."""

    def __init__(self) -> None:
        self._summary: dict[str, str] = {}
        self._quiet = False

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], catalog: DataCatalog) -> None:
        """Forget the previous run's summary (one hook object serves every session)."""
        self._summary = {"outputs": f"data/*/<dataset>/*/{run_params['run_id']}/"}
        # a sweep reports each trial in one line of its own
        self._quiet = SWEEP_TAG in (catalog.load("parameters").get("run_tags") or {})

    @hook_impl
    def before_node_run(self, node: Node, inputs: dict[str, Any]) -> None:
        """On the training node: note the dataset, loss and labels it trains on."""
        if not {NOISY_TRAIN, TRAINING_CONFIG} <= set(node.inputs):
            return
        from biv_pipeline.catalog_io import VERSION_ATTR  # noqa: PLC0415 - loaded by then

        attrs, config = inputs[NOISY_TRAIN].attrs, inputs[TRAINING_CONFIG]
        dataset = str(attrs.get("dataset"))
        self._summary.update(
            dataset=dataset,
            loss=config.loss,
            noisy_train=str(attrs.get(VERSION_ATTR)),
            outputs=self._summary.get("outputs", "").replace("<dataset>", dataset),
        )
        run = _active_mlflow_run()
        if run is not None:
            self._summary["mlflow_run"] = f"{run.info.run_name} ({run.info.run_id})"

    @hook_impl
    def after_node_run(self, outputs: dict[str, Any]) -> None:
        """On the metrics node: note the final clean test MSE and raw RMSE."""
        metrics = outputs.get(TRAINING_METRICS)
        if metrics is not None:
            self._summary["test_mse"] = f"{metrics[FINAL_METRIC][-1]['value']:.4g}"
            self._summary["test_rmse_raw"] = f"{metrics[FINAL_RMSE_METRIC][-1]['value']:.4g}"

    @hook_impl
    def after_pipeline_run(self) -> None:
        """Print the block if this run trained a model."""
        if "test_mse" in self._summary and not self._quiet:
            print(format_summary(self._summary))


def _active_mlflow_run() -> Any:
    """The MLflow run kedro-mlflow opened (an ``mlflow.ActiveRun``), if MLflow is loaded and
    one is; else None."""
    mlflow = sys.modules.get("mlflow")
    return mlflow.active_run() if mlflow is not None else None


SUMMARY_LINES = (
    ("dataset", "dataset"),
    ("loss", "loss"),
    ("test_mse", "final test MSE (clean labels, normalised units)"),
    ("test_rmse_raw", "final test RMSE (raw label units)"),
    ("noisy_train", "noisy_train version"),
    ("outputs", "files"),
    ("mlflow_run", "MLflow run"),
)


def format_summary(summary: dict[str, str]) -> str:
    """The end-of-run block: one ``label: value`` line per known item, then the UI hint."""
    width = max(len(label) for _, label in SUMMARY_LINES)
    lines = [f"{label:<{width}}  {summary[key]}" for key, label in SUMMARY_LINES if key in summary]
    lines.append(f"{'browse runs':<{width}}  {MLFLOW_UI_HINT}")
    rule = "-" * max(len(line) for line in lines)
    return "\n".join([rule, *lines, rule])
