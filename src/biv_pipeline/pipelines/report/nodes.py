"""Nodes of the report pipeline: the figures of a sweep (the tables come from the core,
:mod:`biv_pipeline.reporting`)."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from biv_pipeline.figures import epoch_axis, plain_log_axis
from biv_pipeline.parameters.contract import ReportConfig
from biv_pipeline.reporting import (
    AXIS_PREFIX,
    CLEAN,
    METRIC,
    axis_columns,
    numeric_axis,
)
from biv_pipeline.run_record import FINAL_METRIC

CLEAN_COLOUR = "0.35"  # grey: the clean-label baseline, drawn behind the methods
BAND_ALPHA = 0.2  # opacity of a confidence band
LEVEL_ALPHA = 0.1  # opacity of the band of a method without curves, drawn across the panel
DODGE = 0.6  # share of a setting's slot that the methods' points spread over (no numeric axis)
LINESTYLES = ("-", "--", ":", "-.")  # one per combination of the other swept axes
CAPSIZE = 3  # points: width of an error bar's caps
Y_LABEL = "clean test MSE (normalised units)"
Y_LABEL_ESTIMATED = "clean test MSE, estimated from noisy labels (normalised units)"


def _y_label(table: pd.DataFrame) -> str:
    """The y label of a figure of ``table`` (results or curves): which score it shows."""
    estimated = METRIC in table and table[METRIC].ne(FINAL_METRIC).any()
    return Y_LABEL_ESTIMATED if estimated else Y_LABEL


def plot_learning_curves(
    curves: pd.DataFrame, sweep: str, config: ReportConfig, results: pd.DataFrame | None = None
) -> Figure:
    """Clean test MSE per epoch, one panel per setting and one line per method (log-y).

    Each line is the mean over seeds with its confidence band; the clean baseline is drawn,
    dashed, in every panel. A method without per-epoch curves (a classical model, fitted
    once) is drawn from ``results``, when given, as its final test MSE: a dotted level line
    with its band.
    """
    levels = _without_curves(curves, results)
    every_setting = dict.fromkeys([*curves["setting"], *levels["setting"]])
    settings = [s for s in every_setting if s != CLEAN] or [CLEAN]
    figure, panels = _panels(len(settings), config)
    colours = _colours(pd.concat([curves["method"], levels["method"]]), config)
    clean = curves[curves["setting"].eq(CLEAN)]
    for panel, setting in zip(panels, settings, strict=True):
        for method, curve in curves[curves["setting"].eq(setting)].groupby("method", sort=False):
            _band(panel, curve["epoch"], curve, label=method, color=colours[method])
        for row in levels[levels["setting"].eq(setting)].itertuples():
            _level(panel, row, label=f"{row.method} (fitted once)", color=colours[row.method])
        if setting != CLEAN and not clean.empty:
            _band(panel, clean["epoch"], clean, label=CLEAN, color=CLEAN_COLOUR, linestyle="--")
        panel.set(title=setting, yscale="log", xlabel="epoch")
        plain_log_axis(panel.yaxis)
        epoch_axis(panel.xaxis)
    panels[0].set_ylabel(_y_label(curves))
    if panels[0].get_legend_handles_labels()[0]:
        panels[0].legend()
    figure.suptitle(f"{sweep}: test MSE per epoch, mean and {config.confidence:.0%} CI over seeds")
    return figure


def plot_final_test_mse(results: pd.DataFrame, sweep: str, config: ReportConfig) -> Figure:
    """Final clean test MSE (mean and confidence interval over seeds) of every method (log-y).

    Against the first numeric swept axis when there is one (one line per method and per value
    of the other axes), else per setting; the clean baseline is a horizontal band.
    """
    figure, axis = plt.subplots(figsize=config.panel_size)
    methods = results[~results["method"].eq(CLEAN) & results["seeds"].gt(0)]
    colours = _colours(methods["method"], config)
    x_axis = numeric_axis(methods)
    if x_axis is None:
        _points_per_setting(axis, methods, colours)
    else:
        _lines_against_axis(axis, methods, x_axis, colours)
    clean = results[results["method"].eq(CLEAN) & results["seeds"].gt(0)]
    for row in clean.itertuples():
        axis.axhspan(
            row.test_mse_ci_low, row.test_mse_ci_high, color=CLEAN_COLOUR, alpha=BAND_ALPHA
        )
        axis.axhline(row.test_mse_mean, color=CLEAN_COLOUR, linestyle="--", label=CLEAN)
    axis.set(yscale="log", ylabel=_y_label(results))
    plain_log_axis(axis.yaxis)
    axis.set_title(f"{sweep}: final test MSE\nmean and {config.confidence:.0%} CI over seeds")
    axis.legend()
    figure.tight_layout()
    return figure


def _panels(count: int, config: ReportConfig) -> tuple[Figure, list[Axes]]:
    """A grid of ``count`` panels sharing the y axis, ``config.panel_columns`` per row."""
    columns = min(count, config.panel_columns)
    rows = math.ceil(count / columns)
    width, height = config.panel_size
    figure, grid = plt.subplots(
        rows, columns, figsize=(width * columns, height * rows), sharey=True, squeeze=False
    )
    panels = list(grid.flat)
    for unused in panels[count:]:
        unused.set_visible(False)
    figure.set_layout_engine("constrained")
    return figure, panels[:count]


def _colours(methods: pd.Series, config: ReportConfig) -> dict[str, str]:
    """One colour per method, the same in every figure: by position in ``config.methods``,
    then the methods not listed there."""
    extra = sorted(set(methods) - set(config.methods))
    return {method: f"C{index}" for index, method in enumerate([*config.methods, *extra])}


def _band(axis: Axes, x: pd.Series, summary: pd.DataFrame, **style: str) -> None:
    """The mean as a line and the interval (``ci_low``, ``ci_high``) as a band around it."""
    axis.plot(x, summary["mean"], **style)
    axis.fill_between(
        x, summary["ci_low"], summary["ci_high"], color=style["color"], alpha=BAND_ALPHA
    )


def _without_curves(curves: pd.DataFrame, results: pd.DataFrame | None) -> pd.DataFrame:
    """The rows of ``results`` (methods other than clean, with a finished seed) that have no
    per-epoch curve in ``curves``."""
    if results is None:
        return pd.DataFrame(columns=["setting", "method"])
    drawn = set(zip(curves["setting"], curves["method"], strict=True))
    pairs = zip(results["setting"], results["method"], strict=True)
    no_curve = pd.Series([pair not in drawn for pair in pairs], index=results.index, dtype=bool)
    return results[no_curve & ~results["method"].eq(CLEAN) & results["seeds"].gt(0)]


def _level(axis: Axes, row: tuple, **style: str) -> None:
    """A method's final test MSE over seeds as a dotted level line with its interval."""
    axis.axhline(row.test_mse_mean, linestyle=":", **style)
    if not pd.isna(row.test_mse_ci_low):
        axis.axhspan(
            row.test_mse_ci_low, row.test_mse_ci_high, color=style["color"], alpha=LEVEL_ALPHA
        )


def _error_bars(axis: Axes, x: np.ndarray | pd.Series, rows: pd.DataFrame, **style: str) -> None:
    """The mean with its interval as error bars (none where the interval is undefined)."""
    mean = rows["test_mse_mean"]
    below = (mean - rows["test_mse_ci_low"]).fillna(0.0)
    above = (rows["test_mse_ci_high"] - mean).fillna(0.0)
    axis.errorbar(x, mean, yerr=[below, above], capsize=CAPSIZE, marker="o", **style)


def _lines_against_axis(
    axis: Axes, methods: pd.DataFrame, x_axis: str, colours: dict[str, str]
) -> None:
    """One line per method and combination of the other swept axes (a line style each),
    over ``x_axis``."""
    others = [column for column in axis_columns(methods) if column != x_axis]
    groups = methods.groupby(others, sort=False) if others else [((), methods)]
    for index, (values, rows) in enumerate(groups):
        suffix = ", ".join(
            f"{other.removeprefix(AXIS_PREFIX)}={value}"
            for other, value in zip(others, values, strict=True)
        )
        linestyle = LINESTYLES[index % len(LINESTYLES)]
        for method, line in rows.sort_values(x_axis).groupby("method", sort=False):
            label = f"{method} ({suffix})" if suffix else method
            _error_bars(axis, line[x_axis], line, label=label, color=colours[method], ls=linestyle)
    axis.set_xlabel(x_axis.removeprefix(AXIS_PREFIX))


def _points_per_setting(axis: Axes, methods: pd.DataFrame, colours: dict[str, str]) -> None:
    """Settings side by side on x, the methods of each spread across its slot."""
    settings = list(methods["setting"].unique())
    names = list(methods["method"].unique())
    offsets = (np.arange(len(names)) - (len(names) - 1) / 2) * DODGE / max(len(names), 1)
    for offset, method in zip(offsets, names, strict=True):
        rows = methods[methods["method"].eq(method)]
        x = rows["setting"].map(settings.index) + offset
        _error_bars(axis, x, rows, label=method, color=colours[method], linestyle="none")
    axis.set_xticks(range(len(settings)), settings)
    axis.set_xlabel("setting")
