"""What a run shows on the console: third-party warning noise filtered out, and Kedro's
per-node lines at a level the user picks with ``BIV_LOG_LEVEL`` (default: warnings only).

Applied from ``settings.py``, so every ``kedro`` command gets it; ``conf/logging.yml`` keeps
the handlers and the project's own loggers.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections.abc import Mapping

LOG_LEVEL_ENV = "BIV_LOG_LEVEL"
DEFAULT_FRAMEWORK_LEVEL = "WARNING"
# Kedro's "Loading data from ...", "Running node ...", kedro-mlflow's "Mlflow run ...";
# kedro_mlflow sets its own top logger to INFO when imported, so its sub-packages are named
FRAMEWORK_LOGGERS = ("kedro", "kedro_mlflow.framework", "kedro_mlflow.io", "kedro_mlflow.config")
# (message regex, category): warnings of the installed kedro, kedro-mlflow, MLflow and
# torchvision that this project cannot act on; each was printed on every training run
THIRD_PARTY_WARNINGS: tuple[tuple[str, type[Warning]], ...] = (
    (r"register_new_resolver\(\) is deprecated", UserWarning),  # kedro, kedro-mlflow
    (r".*Add type hints to the `predict` method", UserWarning),  # kedro-mlflow's PythonModel
    (r"The given NumPy array is not writable", UserWarning),  # mlflow.pytorch input example
    (r"The image decoding and encoding capabilities of TorchVision", DeprecationWarning),
)
# kedro-mlflow 2.0.3 still calls pydantic v1 methods (PydanticDeprecatedSince20)
THIRD_PARTY_DEPRECATION_MODULES = (r"kedro_mlflow(\..*)?",)
# Kedro logs a failing node's error here before the error reaches the command
NODE_ERROR_LOGGER = "kedro.pipeline.node"
# and the runner (its module's logger) then advises repeating the command
RUNNER_LOGGERS = (
    "kedro.runner.sequential_runner",
    "kedro.runner.parallel_runner",
    "kedro.runner.thread_runner",
)
NOTHING_RAN = "No nodes ran."
# Kedro routes warnings through this logger; MLflow shows its type-hint warning with its own
# filter ("once"), so it is dropped here as well
WARNINGS_LOGGER = "py.warnings"
# MLflow logs a caution about pickled models on every pytorch or pyfunc model it saves (and,
# for a pyfunc model, that it checks the input example)
QUIET_THIRD_PARTY_LOGGERS = ("mlflow.pytorch", "mlflow.pyfunc")
# kedro-viz warns on every in-process session (a sweep's trials, a notebook) that it does not
# record the run for its workflow view, which this project does not use
KEDRO_VIZ_RUN_LOGGER = "kedro_viz.integrations.kedro.run_hooks"
KEDRO_VIZ_NOT_TRACKING = "Workflow tracking is disabled"


class DropThirdPartyWarnings(logging.Filter):
    """Drop the log records of the warnings in ``THIRD_PARTY_WARNINGS``."""

    patterns = tuple(re.compile(message) for message, _ in THIRD_PARTY_WARNINGS)

    def filter(self, record: logging.LogRecord) -> bool:
        """False (drop) for a record whose text contains one of the patterns."""
        text = record.getMessage()
        return not any(pattern.search(text) for pattern in self.patterns)


class DropKedroVizNotTracking(logging.Filter):
    """Drop kedro-viz's "Workflow tracking is disabled ..." warnings."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False (drop) for kedro-viz's record saying it does not track this run."""
        return not record.getMessage().startswith(KEDRO_VIZ_NOT_TRACKING)


def quiet_third_party_warnings() -> None:
    """Ignore the third-party warnings above; every other warning still shows."""
    for message, category in THIRD_PARTY_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)
    warnings_logger = logging.getLogger(WARNINGS_LOGGER)
    if not any(isinstance(f, DropThirdPartyWarnings) for f in warnings_logger.filters):
        warnings_logger.addFilter(DropThirdPartyWarnings())
    for module in THIRD_PARTY_DEPRECATION_MODULES:
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=module)
    for name in QUIET_THIRD_PARTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    viz = logging.getLogger(KEDRO_VIZ_RUN_LOGGER)
    if not any(isinstance(f, DropKedroVizNotTracking) for f in viz.filters):
        viz.addFilter(DropKedroVizNotTracking())


def framework_log_level(environ: Mapping[str, str] = os.environ) -> int:
    """The level of Kedro's and kedro-mlflow's loggers: ``BIV_LOG_LEVEL`` or WARNING."""
    name = environ.get(LOG_LEVEL_ENV, DEFAULT_FRAMEWORK_LEVEL).upper()
    level = logging.getLevelName(name)
    if not isinstance(level, int):
        raise ValueError(
            f"{LOG_LEVEL_ENV} must be DEBUG, INFO, WARNING or ERROR; got {environ[LOG_LEVEL_ENV]!r}"
        )
    return level


class DropNothingRan(logging.Filter):
    """Drop Kedro's "No nodes ran. Repeat the previous command" (repeating a run stopped by its
    input cannot help; a run stopped half-way still gets its ``--from-nodes`` hint)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False (drop) for the record that says no node ran."""
        return not record.getMessage().startswith(NOTHING_RAN)


def set_framework_log_level(environ: Mapping[str, str] = os.environ) -> None:
    """Set Kedro's and kedro-mlflow's loggers to ``framework_log_level``; at the default
    level, leave out Kedro's echo of a failing node's error and its "No nodes ran" advice:
    the command shows the error once (one line for an input error, the traceback for a bug)."""
    level = framework_log_level(environ)
    for name in FRAMEWORK_LOGGERS:
        logging.getLogger(name).setLevel(level)
    quiet = LOG_LEVEL_ENV not in environ
    logging.getLogger(NODE_ERROR_LOGGER).setLevel(logging.CRITICAL if quiet else logging.NOTSET)
    for name in RUNNER_LOGGERS:
        runner = logging.getLogger(name)
        for old in [f for f in runner.filters if isinstance(f, DropNothingRan)]:
            runner.removeFilter(old)
        if quiet:
            runner.addFilter(DropNothingRan())
