"""The results table as Markdown text: cells, intervals, a GitHub-flavoured table (used by
:func:`biv_pipeline.reporting.results_markdown`)."""

from __future__ import annotations

import pandas as pd

MISSING = "-"  # printed for a value that does not exist (an interval from one seed)


def markdown_table(header: list[str], rows: list[list[str]], right: set[int]) -> str:
    """A GitHub-flavoured Markdown table; the columns whose index is in ``right`` are
    right-aligned."""
    rule = ["---:" if index in right else "---" for index in range(len(header))]
    lines = [header, rule, *rows]
    return "\n".join(f"| {' | '.join(line)} |" for line in lines)


def format_interval(mean: float, low: float, high: float, digits: int) -> str:
    """``mean [low, high]`` with ``digits`` significant digits; the mean alone when the interval
    is undefined, a dash when the mean is."""
    if pd.isna(mean):
        return MISSING
    if pd.isna(low):
        return f"{mean:.{digits}g}"
    return f"{mean:.{digits}g} [{low:.{digits}g}, {high:.{digits}g}]"


def markdown_row(row: tuple, digits: int) -> list[str]:
    """One row of the results table (``results_table``) as Markdown cells."""
    batch = row.effective_batch_size
    return [
        row.setting,
        row.method,
        str(row.seeds),
        str(row.failed),
        str(row.missing),
        format_interval(row.test_mse_mean, row.test_mse_ci_low, row.test_mse_ci_high, digits),
        format_interval(
            row.paired_diff_mean, row.paired_diff_ci_low, row.paired_diff_ci_high, digits
        ),
        MISSING if pd.isna(batch) else f"{batch:.{digits}g}",
    ]
