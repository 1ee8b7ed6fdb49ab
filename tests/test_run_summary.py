"""The block a training run prints at its end: tau2_hat, and a note on incomplete variances."""

from __future__ import annotations

import re

from biv_pipeline.tracking.run_summary import describe_tau2, format_summary


def test_the_summary_gives_tau2_hat_and_the_variance_share() -> None:
    block = format_summary(describe_tau2(0.5312, 0.0213, 0.904))
    line = r"^tau2_hat \(noise the variances miss\) +0\.5312 ± 0\.021 \(variance share 0\.904\)$"
    assert re.search(line, block, re.MULTILINE)
    assert "incomplete" not in block


def test_a_share_below_0_8_says_in_one_line_that_the_variances_look_incomplete() -> None:
    lines = format_summary(describe_tau2(2.6, 0.1, 0.66)).splitlines()
    (note,) = [line for line in lines if "incomplete" in line]
    assert note.startswith("note")
    assert "the given label variances look incomplete (share 0.66 < 0.8" in note
    assert note.endswith("test_mse_clean_est then reads high")
