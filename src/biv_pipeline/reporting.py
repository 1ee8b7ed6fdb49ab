"""Statistics of a sweep: one run per trial, Student-t intervals over seeds, paired differences.

Plain pandas and scipy (no Kedro, no MLflow), usable from a notebook. The input follows the
sweep's MLflow contract: a runs table with one row per MLflow run (``run_id``, ``status``,
``start_time``, the tags ``trial``, ``method``, ``seed``, ``setting`` and ``axis.<name>``, the
final metrics) and a long table of the per-epoch clean test MSE (``run_id``, ``epoch``,
``test_mse``, and ``test_mse_clean_est`` where logged). The design is paired: for one (setting,
seed) every method trained on the same noisy labels, so a method is compared with the baseline
through its per-seed differences. The score compared is ``final_test_mse`` where every trial
has it, else ``final_test_mse_clean_est`` (test labels without clean ones): ``score_metric``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from biv_pipeline.markdown import markdown_row, markdown_table
from biv_pipeline.methods import method_ranks, resolve_method
from biv_pipeline.parameters.contract import ReportConfig
from biv_pipeline.run_record import (
    AXIS_PREFIX,
    CLEAN,
    EFFECTIVE_BATCH_METRIC,
    FINAL_METRIC,
    FINISHED,
    HEADLINE_METRICS,
    HISTORY_METRIC,
    PLANNED_SEEDS_TAG,
)

NOISE_AXIS_PREFIX = f"{AXIS_PREFIX}noise."  # the figures plot against a noise axis first
EFFECTIVE_BATCH = EFFECTIVE_BATCH_METRIC
EPOCH = "epoch"
DONE = "done"  # column: the run FINISHED and logged its final metric (see ``is_done``)
PLANNED_SEEDS = PLANNED_SEEDS_TAG  # column: the seeds the sweep asked for ("0,1,2")
KEYS = ["setting", "method"]
METRIC = "metric"  # column of the results and curves: the final metric they summarise
ESTIMATED = " estimated from the noisy test labels as mean((f - noisy label)^2 - its variance)"
SCORE_NAMES = {  # how the Markdown table names each score (``score_metric``)
    FINAL_METRIC: "test MSE",
    "final_test_mse_clean_est": "test MSE estimated from noisy labels",
}


@dataclass(frozen=True)
class SweepRuns:
    """A sweep's MLflow runs (``runs``, one row per run) and their ``test_mse`` histories
    (``histories``: ``run_id``, ``epoch``, ``test_mse``; after :func:`select_trials` also
    ``setting``, ``method`` and ``seed``)."""

    runs: pd.DataFrame
    histories: pd.DataFrame


def parse_tag(value: str) -> int | float | str:
    """A tag's value as a number where it is one: ``"3"`` -> 3, ``"0.3"`` -> 0.3, ``"auto"``
    unchanged."""
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            continue
    return value


def mark_done(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with the column ``done``: FINISHED *and* a final score was logged (the test MSE,
    or its estimate from noisy test labels).

    A RUNNING run (its process was killed), a KILLED, FAILED or metric-less one is not done.
    """
    logged = runs.reindex(columns=list(HEADLINE_METRICS)).notna().any(axis=1)
    return runs.assign(**{DONE: runs["status"].eq(FINISHED) & logged})


def score_metric(runs: pd.DataFrame) -> str:
    """The final metric a report compares: ``final_test_mse`` where every done run logged it,
    else ``final_test_mse_clean_est`` (some test labels have no clean labels)."""
    done = mark_done(runs)
    if FINAL_METRIC in runs and runs.loc[done[DONE], FINAL_METRIC].notna().all():
        return FINAL_METRIC
    return next(name for name in HEADLINE_METRICS if name != FINAL_METRIC)


def select_trials(sweep: SweepRuns) -> SweepRuns:
    """One run per trial: its newest done run, else its newest run (a failed trial).

    A trial that was retried after a failure therefore counts once, as done. The histories
    are kept for the chosen done runs only, labelled with their setting, method and seed.
    """
    chosen = (
        mark_done(sweep.runs)
        .sort_values([DONE, "start_time"])
        .groupby("trial", sort=False)
        .tail(1)
        .sort_values("start_time")
        .reset_index(drop=True)
    )
    done = chosen.loc[chosen[DONE], ["run_id", *KEYS, "seed"]]
    return SweepRuns(chosen, sweep.histories.merge(done, on="run_id"))


def missing_seeds(runs: pd.DataFrame) -> pd.Series:
    """Per (setting, method): how many planned seeds have no run at all.

    The planned seeds are those the sweep tagged its runs with (``planned_seeds``), and any
    seed seen in the sweep, so a trial that never started (a killed sweep) is still counted.
    """
    planned = {seed for seed in runs["seed"].dropna()}
    if PLANNED_SEEDS in runs:
        for listed in runs[PLANNED_SEEDS].dropna().unique():
            planned.update(parse_tag(seed) for seed in str(listed).split(",") if seed)
    seen = runs.groupby(KEYS)["seed"].agg(lambda seeds: len(planned - set(seeds)))
    return seen.rename("missing")


def mean_interval(
    frame: pd.DataFrame, by: list[str], value: str, confidence: float
) -> pd.DataFrame:
    """Per group of ``by``: ``n``, ``mean`` and the Student-t interval ``ci_low``, ``ci_high``.

    mean ± t_{(1+c)/2, n-1} · s / sqrt(n), with s the sample standard deviation (ddof 1) and
    c the confidence; the bounds are NaN for a group of one value.
    """
    # scipy.stats takes 1-2 s to import: only a report pays it, not every run whose catalog
    # builds the sweep_runs dataset (which imports this module)
    from scipy import stats  # noqa: PLC0415

    summary = frame.groupby(by, sort=False)[value].agg(n="count", mean="mean", std="std")
    quantile = stats.t.ppf((1.0 + confidence) / 2.0, summary["n"] - 1)
    half_width = quantile * summary["std"] / np.sqrt(summary["n"])
    return (
        summary.assign(ci_low=summary["mean"] - half_width, ci_high=summary["mean"] + half_width)
        .drop(columns="std")
        .reset_index()
    )


def paired_differences(finished: pd.DataFrame, baseline: str, value: str) -> pd.DataFrame:
    """d = value(method) - value(baseline) on the same (setting, seed), for every other method.

    Returns ``setting``, ``seed``, ``method``, ``difference``; a (setting, seed) without a
    baseline run gives no difference.
    """
    duplicated = finished.duplicated([*KEYS, "seed"])
    if duplicated.any():
        raise ValueError(
            "several finished trials share a setting, method and seed: "
            f"{finished.loc[duplicated, 'trial'].tolist()}"
        )
    wide = finished.pivot(index=["setting", "seed"], columns="method", values=value)
    if baseline not in wide:
        return pd.DataFrame(columns=["setting", "seed", "method", "difference"])
    differences = wide.sub(wide[baseline], axis=0).drop(columns=baseline)
    return differences.stack().dropna().rename("difference").reset_index()


def axis_columns(frame: pd.DataFrame) -> list[str]:
    """The ``axis.<name>`` columns in the order the sweep lists them in its setting keys
    (``noise.p=0.3,epsilon=auto``)."""
    columns = [column for column in frame.columns if column.startswith(AXIS_PREFIX)]
    key = next((setting for setting in frame["setting"] if setting != CLEAN), "")
    names = [f"{AXIS_PREFIX}{part.split('=')[0]}" for part in key.split(",") if "=" in part]
    return sorted(columns, key=lambda column: names.index(column) if column in names else math.inf)


def numeric_axis(frame: pd.DataFrame) -> str | None:
    """The swept axis to plot against: the first whose values are all numbers, a noise axis
    (``axis.noise.*``) before any other; None without a numeric axis."""
    numeric = [
        column
        for column in axis_columns(frame)
        if pd.api.types.is_numeric_dtype(frame[column]) and frame[column].notna().any()
    ]
    noise = [column for column in numeric if column.startswith(NOISE_AXIS_PREFIX)]
    return next(iter(noise + numeric), None)


def setting_order(runs: pd.DataFrame) -> list[str]:
    """Settings by the first numeric axis (then by name), the clean baseline last."""
    axis = numeric_axis(runs)
    settings = runs.drop_duplicates("setting").sort_values(
        [axis, "setting"] if axis else ["setting"], na_position="last"
    )["setting"]
    return [*settings[settings != CLEAN], *settings[settings == CLEAN]]


def order_rows(
    table: pd.DataFrame, settings: list[str], methods: list[str], then: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Rows by setting (in ``settings`` order), by method (in ``methods`` order, others after,
    grouped by model, by name; see ``method_ranks``), then by the columns ``then``."""
    ranks = method_ranks(table["method"].unique(), methods)
    keys = pd.DataFrame(
        table["method"].map(ranks).tolist(),
        index=table.index,
        columns=["method_rank", "model_name", "loss_rank"],
    ).assign(setting_rank=table["setting"].map({s: i for i, s in enumerate(settings)}))
    order = pd.concat([keys, table[["method", *then]]], axis=1).sort_values(
        ["setting_rank", "method_rank", "model_name", "loss_rank", "method", *then]
    )
    return table.loc[order.index].reset_index(drop=True)


def results_table(trials: SweepRuns, config: ReportConfig) -> pd.DataFrame:
    """Per setting and method: seeds, failed trials, the mean final clean test MSE with its
    interval over seeds, the paired difference against ``config.baseline`` (method - baseline on
    the same setting and seed) with its interval, and the mean effective batch size.

    Failed trials are excluded from every statistic and counted in ``failed``; the setting's
    axis values are repeated as ``axis.<name>`` columns.
    """
    runs = mark_done(trials.runs)
    finished = runs[runs[DONE]]
    metric = score_metric(runs)
    scores = _renamed(mean_interval(finished, KEYS, metric, config.confidence), "test_mse")
    baseline = resolve_method(config.baseline, finished["method"])
    differences = mean_interval(
        paired_differences(finished, baseline, metric),
        KEYS,
        "difference",
        config.confidence,
    )
    batch = finished.groupby(KEYS)[EFFECTIVE_BATCH].mean().rename("effective_batch_size")
    failed = runs[~runs[DONE]].groupby(KEYS).size().rename("failed")
    axes = axis_columns(runs)
    table = (
        scores.merge(_renamed(differences, "paired_diff"), how="left", on=KEYS)
        .merge(batch.reset_index(), how="left", on=KEYS)
        .merge(failed.reset_index(), how="outer", on=KEYS)
        .merge(missing_seeds(runs).reset_index(), how="left", on=KEYS)
        .merge(runs.groupby("setting")[axes].first().reset_index(), how="left", on="setting")
    )
    counts = {"test_mse_n": 0, "paired_diff_n": 0, "failed": 0, "missing": 0}
    table = table.fillna(counts).astype(dict.fromkeys(counts, int))
    table = table.rename(columns={"test_mse_n": "seeds", "paired_diff_n": "pairs"})
    columns = ["setting", *axes, "method", "seeds", "failed", "missing"]
    table = table[columns + [c for c in table.columns if c not in columns]]
    return order_rows(table.assign(**{METRIC: metric}), setting_order(runs), config.methods)


def _renamed(summary: pd.DataFrame, prefix: str) -> pd.DataFrame:
    statistics = ("n", "mean", "ci_low", "ci_high")
    return summary.rename(columns={name: f"{prefix}_{name}" for name in statistics})


def learning_curve_table(trials: SweepRuns, config: ReportConfig) -> pd.DataFrame:
    """Per setting, method and epoch: ``n`` seeds, the mean clean test MSE (or its estimate,
    ``score_metric``) and its interval."""
    metric = score_metric(trials.runs)
    history = HEADLINE_METRICS[metric] if HEADLINE_METRICS[metric] in trials.histories else None
    curves = mean_interval(
        trials.histories, [*KEYS, EPOCH], history or HISTORY_METRIC, config.confidence
    ).assign(**{METRIC: metric})
    return order_rows(curves, setting_order(trials.runs), config.methods, then=(EPOCH,))


def results_markdown(
    results: pd.DataFrame, trials: SweepRuns, sweep: str, config: ReportConfig
) -> str:
    """The results table as Markdown for the README, with a caption saying what the numbers are
    and which trials failed (those are left out of the statistics)."""
    level, baseline = f"{config.confidence:.0%}", resolve_method(config.baseline, results.method)
    metric = results[METRIC].iloc[0] if len(results) else FINAL_METRIC
    header = [
        "setting",
        "method",
        "seeds",
        "failed",
        "missing",
        f"{SCORE_NAMES[metric]} ({level} CI)",
        f"Δ vs {baseline} ({level} CI)",
        "effective batch",
    ]
    rows = [markdown_row(row, config.digits) for row in results.itertuples()]
    runs = mark_done(trials.runs)
    failed = runs.loc[~runs[DONE], "trial"]
    caption = (
        f"Final clean test MSE{ESTIMATED if metric != FINAL_METRIC else ''} (normalised label "
        f"units) of sweep `{sweep}`: mean over seeds "
        f"with a Student-t {level} interval. Δ = method - {baseline} on the same "
        f"setting and seed (negative: better than {baseline}), with the {level} "
        f"interval of the paired differences. Failed trials (not FINISHED with a final "
        f"metric), left out of the statistics: {len(failed)}"
        f"{''.join(f'; `{trial}`' for trial in failed)}. Missing trials (planned seeds with "
        f"no run): {int(results['missing'].sum())}."
    )
    table = markdown_table(header, rows, right={2, 3, 4, 7})
    return f"## Sweep `{sweep}`\n\n{table}\n\n{caption}\n"
