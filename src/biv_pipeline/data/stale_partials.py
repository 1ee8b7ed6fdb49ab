"""Partial files of the image cache that a killed process left behind, removed by the next run.

A cache is decoded into ``<name>.<pid>.partial.npy`` and renamed into place once complete, so
a process killed meanwhile (SIGKILL, out of memory) leaves its partial file: tens of megabytes
per run, for ever. The next run that builds a cache in the same folder removes the partial
files whose process no longer runs, and says how much it removed. A partial file without a
process id in its name was written by an earlier version of the project, which no longer
runs either.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

logger = logging.getLogger(__name__)

PARTIAL_SUFFIX = ".partial.npy"
WRITER = re.compile(r"\.(\d+)\.partial\.npy$")  # the writing process's id, in the file name
MEGABYTE = 1_000_000


def partial_path(final: Path) -> Path:
    """The file this process writes before ``final`` (a ``.npy``) is complete."""
    return final.with_suffix(f".{os.getpid()}{PARTIAL_SUFFIX}")


def _running(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine (signal 0 checks without sending)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_partials(folder: Path, pattern: str) -> tuple[int, int]:
    """Remove the partial files in ``folder`` matching ``pattern`` (a glob ending in
    ``.partial.npy``) whose writing process no longer runs; log and return how many files
    and bytes were removed."""
    files, size = 0, 0
    for path in sorted(folder.glob(pattern)) if folder.is_dir() else ():
        writer = WRITER.search(path.name)
        if writer is not None and _running(int(writer.group(1))):
            continue
        try:
            length = path.stat().st_size
            path.unlink()
        except FileNotFoundError:  # another run removed it first
            continue
        files, size = files + 1, size + length
    if files:
        logger.warning(
            "removed %d partial file%s (%.1f MB) in %s left by runs killed while writing them",
            files,
            "s" * (files > 1),
            size / MEGABYTE,
            folder,
        )
    return files, size
