"""The project's errors, in one place, and the "did you mean" hint they share.

Errors that mean "the input is wrong", as opposed to a bug, are shown by the CLI in one line.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ParameterError(ValueError):
    """A parameter has a value that is not allowed; the message names it, the value, the rule."""


class MissingDataError(FileNotFoundError):
    """Data a run needs is not where it should be; the message says how to provide it."""


class NonFiniteLossError(RuntimeError):
    """A training loss became NaN or infinite; the message says where (epoch, batch)."""


class TrackingError(RuntimeError):
    """The MLflow tracking store cannot be used (an unreachable server, a locked database);
    the message names it and says what to do."""


class ConfigFileError(ParameterError):
    """A configuration file cannot be read as configuration; the message names the file and
    the line (a tab in the indentation, a key set twice)."""


class LineageError(ParameterError):
    """The versions a run would read do not belong together, or a pinned one is unusable."""


class MissingVersionError(MissingDataError):
    """A dataset a run reads has no (complete) version, or not the pinned one."""


class SweepNameError(ParameterError):
    """``sweep`` is missing or not a usable name."""


class SweepRunsError(MissingDataError):
    """The sweep has no runs in the experiment, or a finished run lacks a trial tag."""


class SessionFailedError(RuntimeError):
    """A session raised; ``version`` is its save version, ``detail`` the traceback, the
    message the error in one line (``summary``, else the traceback's last line)."""

    def __init__(self, version: str, detail: str, summary: str | None = None) -> None:
        last = detail.strip().splitlines()[-1] if detail.strip() else "failed"
        super().__init__(summary or last)
        self.version = version
        self.detail = detail


def one_line(error: BaseException) -> str:
    """``Type: message`` on one line (whitespace runs, newlines included, become a space)."""
    message = " ".join(str(error).split())
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


class RawRowError(ValueError):
    """Rows sent to a logged model that it cannot take (a missing, extra or non-numeric
    column, an unseen category, NaN or infinity); the message names the column."""


class LegacyArgumentError(ValueError):
    """An original flag whose value cannot be translated; the message names the flag."""


def closest_name(name: str, choices: Iterable[str]) -> str | None:
    """The valid name closest to a misspelt ``name`` (for "did you mean"), or None."""
    close = difflib.get_close_matches(name, list(choices), n=1)
    return close[0] if close else None
