"""A ``kedro`` command's exit without the garbage collector's passes over everything it loaded.

When the interpreter exits it tears every module down and runs the cyclic garbage collector
over what is left. After a training run (torch, ``torch._dynamo``, MLflow, Kedro: some 5,000
modules and millions of objects) that took 1-3 s of the command's wall time, to free memory
the operating system frees at once anyway. :func:`skip_collection_at_exit` has ``gc.freeze``
run at exit: the objects alive then move out of the collector's reach, and the teardown that
remains only drops references. ``atexit`` handlers and ``weakref.finalize`` callbacks (open
runs, temporary folders, log handlers) run as before.
"""

from __future__ import annotations

import atexit
import gc


def skip_collection_at_exit() -> None:
    """Freeze every object left when the interpreter exits (registered once)."""
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
