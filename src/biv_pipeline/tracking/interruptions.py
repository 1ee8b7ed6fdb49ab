"""Ctrl-C and SIGTERM end the open MLflow run as KILLED, with the reason as a tag.

Without this, Kedro hands a ``KeyboardInterrupt`` to no hook, and MLflow's exit handler then
ends the open run as FINISHED (with no metrics); a SIGTERM ends the process with the run left
RUNNING. A sweep would skip such a trial for good.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from biv_pipeline.run_record import KILLED
from biv_pipeline.tracking.active_run import active_mlflow_run
from biv_pipeline.tracking.contract import END_REASON_TAG


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every ``finally`` and context manager still runs."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated(f"terminated by signal {signal.Signals(signum).name}")


def end_active_run_killed(reason: str) -> None:
    """End the open MLflow run, if any, as KILLED with ``reason`` in the ``end_reason`` tag."""
    if active_mlflow_run() is None:
        return
    import mlflow  # noqa: PLC0415 - loaded: a run is open

    mlflow.set_tag(END_REASON_TAG, reason)
    mlflow.end_run(KILLED)


@contextmanager
def runs_end_killed_on_interrupt() -> Iterator[None]:
    """Inside: SIGTERM raises ``Terminated``; Ctrl-C or SIGTERM end the open run KILLED."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM)
    if in_main_thread:  # signal handlers can only be set from the main thread
        signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    except KeyboardInterrupt as interruption:
        reason = str(interruption) if isinstance(interruption, Terminated) else "Ctrl-C"
        end_active_run_killed(f"interrupted: {reason}")
        raise
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
