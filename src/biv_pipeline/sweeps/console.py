"""What a sweep shows: one line per trial and a closing table on the console; everything the
trials' sessions log (Kedro, kedro-mlflow, the project, warnings) goes to the sweep's log file.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from biv_pipeline.progress import PROGRESS_ENV
from biv_pipeline.run_record import FINISHED

# beside the sweep's report (catalog.yml: data/08_reporting/sweeps/<sweep>/)
SWEEP_LOG = "data/08_reporting/sweeps/{sweep}/sweep.log"
LOG_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
SKIPPED = "SKIPPED"  # status of a trial that was already done before this sweep ran


def sweep_log_path(project: Path, sweep: str) -> Path:
    """The log file of the sweep named ``sweep``."""
    return project / SWEEP_LOG.format(sweep=sweep)


@contextmanager
def trial_logs_to(path: Path) -> Iterator[Path]:
    """While the block runs, send every log record to ``path`` (appended) instead of the
    root logger's console handlers, and turn the per-epoch progress bars off."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    console, root.handlers = root.handlers, [handler]
    progress = os.environ.get(PROGRESS_ENV)
    os.environ[PROGRESS_ENV] = "0"
    try:
        yield path
    finally:
        root.handlers = console
        handler.close()
        if progress is None:
            os.environ.pop(PROGRESS_ENV, None)
        else:
            os.environ[PROGRESS_ENV] = progress


def summary_table(outcomes: Iterable[tuple[str, str, str]]) -> str:
    """The closing table of a sweep from ``(setting, method, status)`` per trial: the count of
    each status, then per setting and method the trials done (finished now or before) of all."""
    outcomes = list(outcomes)
    statuses = Counter(status for _, _, status in outcomes)
    lines = ["trials: " + ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))]
    methods = sorted({method for _, method, _ in outcomes})
    settings = sorted({setting for setting, _, _ in outcomes})
    planned = Counter((setting, method) for setting, method, _ in outcomes)
    done = Counter(
        (setting, method) for setting, method, status in outcomes if status in (FINISHED, SKIPPED)
    )
    header = ["setting \\ method", *methods]
    rows = [
        [setting, *(f"{done[setting, m]}/{planned[setting, m]}" if planned[setting, m] else "-"
                    for m in methods)]
        for setting in settings
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    return "\n".join(line.rstrip() for line in lines)
