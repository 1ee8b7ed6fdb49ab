"""kedro-mlflow's hook, made to record runs the way the README describes them.

``settings.py`` turns off the hook kedro-mlflow registers through its entry point and
registers :class:`TrackingHook` instead, which hands every event to kedro-mlflow's own
``MlflowHook`` (imported at the first event, so ``kedro --help`` loads no MLflow) with three
differences:

- a run that trains is named when it opens (the console line and the UI agree) after what
  sets it apart: dataset, loss, epsilon or cutoff, model, the noise setting of the labels it
  trains on and seed (:func:`biv_pipeline.tracking.contract.training_run_name`, e.g.
  ``wine-biv-eps0.5-vanilla_ann-p0.5-noise3f2a1c-seed0``), and its parameters are the ones
  :class:`biv_pipeline.project.hooks.lineage.LineageHook` logs
  (``train.*``, ``data.*``, ``runtime.*``): kedro-mlflow's copy of the node inputs
  (``loss``, ``epsilon``, ``noise.p`` ...) is not logged beside them. Other runs (ingest,
  noise, report) keep kedro-mlflow's node-input parameters, their only copy;
- run parameters that Kedro passes as object reprs (``runner=<...SequentialRunner object at
  0x...>``, or ``None`` for a session run in-process) are tagged with the class name
  (``runner=SequentialRunner``), and paths are tagged relative to the project
  (``project_path=.``; MLflow's ``mlflow.source.name``, the command, by its name), so a run
  shared with others carries no path of this machine;
- the tracking store is checked before kedro-mlflow first contacts it
  (:mod:`biv_pipeline.tracking.store`): an unreachable server or a locked ``mlflow.db`` is one
  line, before any data is written or any run opened.

It is registered under the name of kedro-mlflow's entry point (``mlflow_hook``): a session
loads a plugin's hook module (MLflow with kedro-mlflow's) only if no hook of that name is
registered yet, and unregisters those of ``DISABLE_HOOKS_FOR_PLUGINS`` only afterwards. So a
run that stops on a bad parameter imports no MLflow.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kedro.config import MissingConfigException
from kedro.framework.hooks import hook_impl

from biv_pipeline.catalog.names import NOISY_TRAIN, TRAINING_CONFIG  # TRAINING_CONFIG: trains
from biv_pipeline.parameters.labels import noise_block
from biv_pipeline.parameters.training import TRAINING_PARAMETERS
from biv_pipeline.tracking.active_run import active_mlflow_run
from biv_pipeline.tracking.contract import training_run_name
from biv_pipeline.tracking.sqlite_wal import use_wal
from biv_pipeline.tracking.store import check_tracking_store, locked_database_as_tracking_error

if TYPE_CHECKING:
    from kedro.framework.context import KedroContext
    from kedro.io import CatalogProtocol, DataCatalog
    from kedro.pipeline import Node, Pipeline
    from kedro_mlflow.framework.hooks.mlflow_hook import MlflowHook

PARAMETER_PREFIX = "params:"
ALL_PARAMETERS = "parameters"
OBJECT_REPR = re.compile(r"^<(?:[\w.]+\.)?(\w+) object at 0x[0-9a-fA-F]+>$")
RUNNER = "runner"
# KedroSession.run records str(None) when given no runner, then runs this one
DEFAULT_RUNNER = "SequentialRunner"
# where kedro-mlflow reads its configuration, and what it falls back on without a URI there
MLFLOW_CONFIG = "mlflow"
MLFLOW_CONFIG_PATTERNS = ["mlflow*", "mlflow*/**", "**/mlflow*"]
TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"
KEDRO_MLFLOW_FALLBACK_URI = "mlruns"
PROJECT_PATH = "project_path"  # kedro-mlflow tags every run with Kedro's run parameters
SOURCE_NAME_TAG = "mlflow.source.name"  # MLflow's: the command that opened the run
KEDRO_MLFLOW_HOOK_NAME = "mlflow_hook"  # the name of kedro-mlflow's `kedro.hooks` entry point


def clean_run_params(run_params: dict[str, Any]) -> dict[str, Any]:
    """``run_params`` with every ``<module.Class object at 0x...>`` value replaced by ``Class``
    and the runner named when Kedro recorded none (``"None"``)."""
    cleaned = {}
    for key, value in run_params.items():
        match = OBJECT_REPR.match(value) if isinstance(value, str) else None
        cleaned[key] = match.group(1) if match else value
    if cleaned.get(RUNNER) == str(None):
        cleaned[RUNNER] = DEFAULT_RUNNER
    if cleaned.get(PROJECT_PATH):
        cleaned[PROJECT_PATH] = "."  # the project itself; paths are relative to it
    return cleaned


def relative_to_project(path: str, project: Path) -> str:
    """``path`` relative to ``project`` when it lies inside it, else its last part (the
    ``kedro`` of ``/home/me/.venv/bin/kedro``)."""
    try:
        return Path(path).resolve().relative_to(project.resolve()).as_posix()
    except ValueError:
        return Path(path).name


def without_parameters(inputs: dict[str, Any]) -> dict[str, Any]:
    """The node inputs that are not parameters (kedro-mlflow logs those it is given)."""
    return {
        name: value
        for name, value in inputs.items()
        if not name.startswith(PARAMETER_PREFIX) and name != ALL_PARAMETERS
    }


def configured_tracking_uri(context: KedroContext) -> str:
    """The tracking URI kedro-mlflow will set for this context, read as it reads it.

    ``server.mlflow_tracking_uri`` of mlflow.yml (``--params mlflow_tracking_uri=...`` through
    the ``runtime_params`` resolver), else ``MLFLOW_TRACKING_URI``, else kedro-mlflow's
    ``mlruns``.
    """
    loader = context.config_loader
    if MLFLOW_CONFIG not in loader.config_patterns:
        loader.config_patterns.update({MLFLOW_CONFIG: MLFLOW_CONFIG_PATTERNS})
    try:
        conf = loader[MLFLOW_CONFIG]
    except MissingConfigException:
        conf = {}
    uri = (conf.get("server") or {}).get("mlflow_tracking_uri")
    return uri or os.environ.get(TRACKING_URI_ENV, KEDRO_MLFLOW_FALLBACK_URI)


def run_name(parameters: dict[str, Any], labels_noise: dict[str, Any] | None = None) -> str:
    """The name of a training run with these parameters, on labels made with
    ``labels_noise`` (None: labels this run makes, with its own ``noise`` block)."""
    # `model: auto` resolves through the dataset registry, which loads pandas: only when a run
    # is named, not when `kedro --help` or a bad parameter imports this module
    from biv_pipeline.parameters.resolved_training import make_training_config  # noqa: PLC0415

    dataset = parameters["dataset"]
    config = make_training_config(
        dataset, **{name: parameters[name] for name in TRAINING_PARAMETERS}
    )
    noise = noise_block(labels_noise if labels_noise is not None else parameters["noise"])
    return training_run_name(
        dataset, config.loss, config.model, config.seed, noise, config.epsilon, config.cutoff
    )


def mlflow_run_is_active() -> bool:
    """Whether an MLflow run is open in this process (kedro-mlflow then ignores mlflow.yml)."""
    return active_mlflow_run() is not None


class TrackingHook:
    """kedro-mlflow's ``MlflowHook`` with one copy of each parameter, clean tags and the run
    named after its settings from the start (see the module docstring)."""

    def __init__(self) -> None:
        self.__name__ = KEDRO_MLFLOW_HOOK_NAME  # the name pluggy registers it under
        self._delegate: MlflowHook | None = None
        self._trains = False
        self._tracking_uri = ""

    @property
    def _hook(self) -> MlflowHook:
        """kedro-mlflow's hook, created (and MLflow imported) at the first event."""
        if self._delegate is None:
            from kedro_mlflow.framework.hooks.mlflow_hook import MlflowHook  # noqa: PLC0415

            self._delegate = MlflowHook()
        return self._delegate

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        """Check the tracking store, then read mlflow.yml and set the tracking URI and
        experiment (kedro-mlflow), which is the first time MLflow contacts the store."""
        hook = self._hook  # imports MLflow
        self._tracking_uri = "" if mlflow_run_is_active() else configured_tracking_uri(context)
        if self._tracking_uri:
            check_tracking_store(self._tracking_uri)
            use_wal(self._tracking_uri)
        with locked_database_as_tracking_error(self._tracking_uri):
            hook.after_context_created(context)

    @hook_impl
    def after_catalog_created(  # kedro-mlflow's signature
        self,
        catalog: CatalogProtocol,
        conf_catalog: dict[str, Any],
        conf_creds: dict[str, Any],
        parameters: dict[str, Any],
        save_version: str,
        load_versions: dict[str, str],
    ) -> None:
        """Prefix the metric datasets (kedro-mlflow)."""
        self._hook.after_catalog_created(
            catalog, conf_catalog, conf_creds, parameters, save_version, load_versions
        )

    @hook_impl
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: DataCatalog
    ) -> None:
        """Open the MLflow run, named after its settings if it trains (the labels' noise
        setting for labels it reads, pinned by the lineage hook before), with clean tags."""
        self._trains = TRAINING_CONFIG in pipeline.datasets()
        hook = self._hook
        run_options = hook.mlflow_config.tracking.run
        configured_name = run_options.name
        if self._trains and configured_name is None:
            parameters = catalog.load(ALL_PARAMETERS)
            labels = catalog.load(NOISY_TRAIN) if NOISY_TRAIN in pipeline.inputs() else None
            run_options.name = run_name(
                parameters, None if labels is None else labels.attrs["noise"]
            )
        try:
            with locked_database_as_tracking_error(self._tracking_uri):
                hook.before_pipeline_run(clean_run_params(run_params), pipeline, catalog)
        finally:
            run_options.name = configured_name
        run = active_mlflow_run()
        source = run.data.tags.get(SOURCE_NAME_TAG) if run is not None else None
        if source and run_params.get(PROJECT_PATH):
            import mlflow  # noqa: PLC0415 - loaded by then: kedro-mlflow opened the run

            project = Path(run_params[PROJECT_PATH])
            mlflow.set_tag(SOURCE_NAME_TAG, relative_to_project(source, project))

    @hook_impl
    def before_node_run(
        self, node: Node, catalog: DataCatalog, inputs: dict[str, Any], is_async: bool
    ) -> None:
        """Reopen the run for the node; log its parameters unless the run trains."""
        logged = without_parameters(inputs) if self._trains else inputs
        self._hook.before_node_run(node, catalog, logged, is_async)

    @hook_impl
    def after_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: DataCatalog
    ) -> None:
        """Close the run (kedro-mlflow)."""
        self._hook.after_pipeline_run(clean_run_params(run_params), pipeline, catalog)

    @hook_impl
    def on_pipeline_error(
        self,
        error: Exception,
        run_params: dict[str, Any],
        pipeline: Pipeline,
        catalog: DataCatalog,
    ) -> None:
        """Close the run as failed (kedro-mlflow)."""
        self._hook.on_pipeline_error(error, clean_run_params(run_params), pipeline, catalog)
