"""What a sweep shows: the closing table, and the sessions' logs sent to a file."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from biv_pipeline.progress import PROGRESS_ENV
from biv_pipeline.sweeps.console import summary_table, trial_logs_to


def test_summary_counts_statuses_and_done_trials_per_setting_and_method() -> None:
    outcomes = [
        ("p=0.3", "biv", "FINISHED"),
        ("p=0.3", "biv", "SKIPPED"),
        ("p=0.3", "mse", "FAILED"),
        ("p=0.5", "biv", "FINISHED"),
    ]
    assert summary_table(outcomes).splitlines() == [
        "trials: 1 FAILED, 2 FINISHED, 1 SKIPPED",
        "setting \\ method  biv  mse",
        "p=0.3             2/2  0/1",
        "p=0.5             1/1  -",
    ]


def test_logs_go_to_the_file_and_the_console_handlers_come_back(tmp_path: Path) -> None:
    root = logging.getLogger()
    console = list(root.handlers)
    log = tmp_path / "sweeps" / "toy" / "sweep.log"
    with trial_logs_to(log):
        assert os.environ[PROGRESS_ENV] == "0"
        logging.getLogger("biv_pipeline.test").warning("inside the sweep")
    logging.getLogger("biv_pipeline.test").warning("after the sweep")
    assert root.handlers == console
    assert PROGRESS_ENV not in os.environ
    text = log.read_text()
    assert "inside the sweep" in text
    assert "after the sweep" not in text
