"""Errors in the user's input as one line on stderr, for every ``kedro`` command, and as
one line in a notebook (``%reload_kedro``)."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl
from kedro.io import DatasetError

from biv_pipeline.project.input_errors import (
    INPUT_ERRORS,
    input_error_line,
    input_error_within,
    tracebacks_wanted,
)

IPYTHON = "IPython"


class ConciseErrorsHook:
    """Show errors in the user's input as one line on stderr instead of a traceback, for
    every ``kedro`` command (the project's ``run`` and ``sweep`` catch them themselves).

    Bugs keep their full traceback, and ``BIV_TRACEBACK=1`` shows it for every error.
    """

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        """Wrap the interpreter's exception hook (after Kedro installed its rich one); in
        IPython (a notebook), show input errors of a cell in one line too."""
        if tracebacks_wanted():
            return
        concise_in_ipython()
        if getattr(sys.excepthook, "concise", False):
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


def show_input_error(
    shell: Any, kind: type[BaseException], error: BaseException, trace: Any, tb_offset: Any = None
) -> None:
    """IPython's handler of a cell's error: an input error (also one a ``DatasetError``
    wraps, as ``catalog.load`` raises it) as its one line on stderr (the cell still fails,
    so "run all" stops there), any other error as usual."""
    cause = input_error_within(error)
    if cause is None:
        shell.showtraceback((kind, error, trace), tb_offset=tb_offset)
        return
    print(input_error_line(cause), file=sys.stderr)


def concise_in_ipython() -> None:
    """Install :func:`show_input_error` in the running IPython shell, if there is one."""
    ipython = sys.modules.get(IPYTHON)
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None:
        shell.set_custom_exc((DatasetError, *INPUT_ERRORS), show_input_error)
