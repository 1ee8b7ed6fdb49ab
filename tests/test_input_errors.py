"""Input errors in one line, also when a Kedro dataset wrapped them (a notebook's
``catalog.load``); other errors keep their traceback."""

from __future__ import annotations

import pytest
from kedro.io import DatasetError

from biv_pipeline.errors import SweepRunsError
from biv_pipeline.project.hooks.concise_errors import show_input_error
from biv_pipeline.project.input_errors import input_error_within


def wrapped(error: Exception) -> DatasetError:
    """``error`` as Kedro's dataset ``load`` raises it: a DatasetError from it."""
    try:
        try:
            raise error
        except Exception as cause:
            raise DatasetError("Failed while loading data from dataset X") from cause
    except DatasetError as outer:
        return outer


class FakeShell:
    def __init__(self) -> None:
        self.tracebacks: list[tuple] = []

    def showtraceback(self, exc_tuple: tuple, tb_offset: object = None) -> None:
        self.tracebacks.append(exc_tuple)


def test_the_input_error_a_dataset_error_wraps_is_found() -> None:
    missing = SweepRunsError("no runs of sweep 'x'")
    assert input_error_within(wrapped(missing)) is missing
    assert input_error_within(wrapped(KeyError("bug"))) is None


def test_a_notebook_shows_a_wrapped_input_error_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    shell = FakeShell()
    error = wrapped(SweepRunsError("no runs of sweep 'x';\n run it first"))
    show_input_error(shell, DatasetError, error, None)
    assert capsys.readouterr().err == "Error: no runs of sweep 'x'; run it first\n"
    assert shell.tracebacks == []


def test_a_notebook_shows_a_bug_with_its_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    shell = FakeShell()
    error = wrapped(KeyError("bug"))
    show_input_error(shell, DatasetError, error, None)
    assert shell.tracebacks == [(DatasetError, error, None)]
    assert capsys.readouterr().err == ""
