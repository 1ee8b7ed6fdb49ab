"""Errors in the user's input as one line on stderr, for every ``kedro`` command."""

from __future__ import annotations

import sys
from types import TracebackType

from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl

from biv_pipeline.project.input_errors import input_error_line, tracebacks_wanted


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
