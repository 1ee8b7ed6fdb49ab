"""Whether long work draws progress bars: for a person at a terminal, not on CI or in sweeps."""

from __future__ import annotations

import os
from collections.abc import Mapping

PROGRESS_ENV = "BIV_PROGRESS"  # "0": no per-epoch progress bars (a sweep sets it)


def progress_bars_wanted(environ: Mapping[str, str] = os.environ) -> bool:
    """False on CI (``CI`` set) and with ``BIV_PROGRESS=0``; True otherwise."""
    return not environ.get("CI") and environ.get(PROGRESS_ENV) != "0"
