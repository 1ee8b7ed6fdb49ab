"""What a run shows on the console: third-party warning noise filtered out, Kedro's
per-node lines at a level the user picks with ``BIV_LOG_LEVEL`` (default: warnings only),
and an error in the user's input as one line (``BIV_TRACEBACK=1`` keeps the traceback).

Applied from ``settings.py``, so every ``kedro`` command gets it; ``conf/logging.yml`` keeps
the handlers and the project's own loggers.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import click
from kedro.validation.exceptions import ParameterValidationError
from pydantic import ValidationError

from biv_pipeline.errors import (
    MissingDataError,
    NonFiniteLossError,
    ParameterError,
    TrackingError,
)
from biv_pipeline.parameter_types import describe_validation_error

LOG_LEVEL_ENV = "BIV_LOG_LEVEL"
TRACEBACK_ENV = "BIV_TRACEBACK"  # set (to anything): errors in the input keep their traceback
INPUT_ERROR_STATUS = 1  # exit status of a command stopped by an error in its input
# errors that mean "the input is wrong" (parameters, data files, versions, tracking), not a bug
INPUT_ERRORS: tuple[type[BaseException], ...] = (
    ParameterError,
    MissingDataError,
    NonFiniteLossError,
    TrackingError,
    ParameterValidationError,
    ValidationError,
)
PROGRESS_ENV = "BIV_PROGRESS"  # "0": no per-epoch progress bars (a sweep sets it)
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
# Kedro routes warnings through this logger; MLflow shows its type-hint warning with its own
# filter ("once"), so it is dropped here as well
WARNINGS_LOGGER = "py.warnings"
# MLflow logs a caution about pickled models on every pytorch model it saves
QUIET_THIRD_PARTY_LOGGERS = ("mlflow.pytorch",)


class DropThirdPartyWarnings(logging.Filter):
    """Drop the log records of the warnings in ``THIRD_PARTY_WARNINGS``."""

    patterns = tuple(re.compile(message) for message, _ in THIRD_PARTY_WARNINGS)

    def filter(self, record: logging.LogRecord) -> bool:
        """False (drop) for a record whose text contains one of the patterns."""
        text = record.getMessage()
        return not any(pattern.search(text) for pattern in self.patterns)


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


def framework_log_level(environ: Mapping[str, str] = os.environ) -> int:
    """The level of Kedro's and kedro-mlflow's loggers: ``BIV_LOG_LEVEL`` or WARNING."""
    name = environ.get(LOG_LEVEL_ENV, DEFAULT_FRAMEWORK_LEVEL).upper()
    level = logging.getLevelName(name)
    if not isinstance(level, int):
        raise ValueError(
            f"{LOG_LEVEL_ENV} must be DEBUG, INFO, WARNING or ERROR; got {environ[LOG_LEVEL_ENV]!r}"
        )
    return level


def set_framework_log_level(environ: Mapping[str, str] = os.environ) -> None:
    """Set Kedro's and kedro-mlflow's loggers to ``framework_log_level``."""
    level = framework_log_level(environ)
    for name in FRAMEWORK_LOGGERS:
        logging.getLogger(name).setLevel(level)


def input_error_line(error: BaseException) -> str | None:
    """``Error: <reason>`` in one line for an error in the user's input; None for a bug."""
    if not isinstance(error, INPUT_ERRORS):
        return None
    reason = describe_validation_error(error) if isinstance(error, ValidationError) else str(error)
    return f"Error: {' '.join(reason.split())}"


def tracebacks_wanted(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the user asked for full tracebacks (``BIV_TRACEBACK``)."""
    return bool(environ.get(TRACEBACK_ENV))


@contextmanager
def input_errors_in_one_line() -> Iterator[None]:
    """Turn an error in the user's input into its one line on stderr and exit status 1."""
    try:
        yield
    except INPUT_ERRORS as error:
        if tracebacks_wanted():
            raise
        click.echo(input_error_line(error), err=True)
        raise SystemExit(INPUT_ERROR_STATUS) from None
