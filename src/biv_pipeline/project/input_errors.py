"""An error in the user's input, shown as one line on stderr with exit status 1 instead of
a traceback (``BIV_TRACEBACK=1`` keeps the traceback). Bugs keep their traceback."""

from __future__ import annotations

import os
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
from biv_pipeline.parameters.types import describe_validation_error

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


def input_error_line(error: BaseException) -> str | None:
    """``Error: <reason>`` in one line for an error in the user's input; None for a bug."""
    if not isinstance(error, INPUT_ERRORS):
        return None
    reason = describe_validation_error(error) if isinstance(error, ValidationError) else str(error)
    return f"Error: {' '.join(reason.split())}"


def input_error_within(error: BaseException) -> BaseException | None:
    """The input error that ``error`` is or was raised from (a Kedro ``DatasetError`` wraps
    the error of a dataset's ``load``), else None."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, INPUT_ERRORS):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


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
