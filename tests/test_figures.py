"""The figures of the train and report pipelines read at a glance: whole epochs on the epoch
axis, plain numbers (``0.7 0.8 1.0``, never ``7x10^-1``) on the log axis."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from biv_pipeline.figures import plain_log_axis
from biv_pipeline.parameters.contract import ReportConfig
from biv_pipeline.parameters.training import TrainingConfig
from biv_pipeline.pipelines.report.nodes import plot_final_test_mse, plot_learning_curves
from biv_pipeline.pipelines.train.nodes import plot_learning_curve

PLAIN_NUMBER = re.compile(r"^\d+(\.\d+)?$")


def visible_labels(axis: Axes, which: str) -> list[str]:
    """The non-empty tick labels of the x or y axis (major and minor), after a draw."""
    axis.figure.canvas.draw()
    ticks = getattr(axis, f"get_{which}ticklabels")
    labels = [*ticks(minor=False), *ticks(minor=True)]
    return [label.get_text() for label in labels if label.get_text() and label.get_visible()]


def check_plain_log_axis(axis: Axes) -> list[str]:
    labels = visible_labels(axis, "y")
    assert labels, "the log axis has no labels"
    assert all(PLAIN_NUMBER.match(text) for text in labels), labels
    return labels


def check_whole_epochs(axis: Axes) -> None:
    labels = visible_labels(axis, "x")
    assert labels and all(re.fullmatch(r"\d+", text) for text in labels), labels


@pytest.fixture
def close_figures():
    yield
    plt.close("all")


def history(epochs: int) -> pd.DataFrame:
    """A learning curve between 0.6 and 1.2: less than a decade on the log axis."""
    epoch = list(range(1, epochs + 1))
    frame = pd.DataFrame(
        {
            "epoch": epoch,
            "train_loss": [1.2 - 0.5 * (e - 1) / max(epochs - 1, 1) for e in epoch],
            "test_mse": [1.1 - 0.4 * (e - 1) / max(epochs - 1, 1) for e in epoch],
        }
    )
    # clean test labels: the scores on them as given are the clean test MSE
    return frame.assign(test_mse_noisy=frame["test_mse"], test_mse_clean_est=frame["test_mse"])


@pytest.mark.usefixtures("close_figures")
@pytest.mark.parametrize("epochs", [2, 3, 20])
def test_the_learning_curve_has_whole_epochs_and_plain_log_labels(epochs: int) -> None:
    config = TrainingConfig(loss="biv", model="vanilla_ann", lr=0.01)
    figure: Figure = plot_learning_curve(history(epochs), config)
    (axis,) = figure.axes
    check_whole_epochs(axis)
    labels = check_plain_log_axis(axis)
    assert {"0.7", "0.8", "1.0"} <= set(labels)


@pytest.mark.usefixtures("close_figures")
def test_the_report_learning_curves_have_plain_log_labels() -> None:
    rows = [
        {"setting": setting, "method": method, "epoch": epoch, "mean": m, "ci_low": m * 0.95,
         "ci_high": m * 1.05}
        for setting in ("noise.p=0.3", "clean")
        for method in (["clean"] if setting == "clean" else ["mse", "biv"])
        for epoch, m in zip((1, 2, 3), (1.1, 0.8, 0.65), strict=True)
    ]  # fmt: skip
    figure = plot_learning_curves(pd.DataFrame(rows), "toy", ReportConfig())
    check_whole_epochs(figure.axes[0])
    check_plain_log_axis(figure.axes[0])


@pytest.mark.usefixtures("close_figures")
def test_the_report_final_mse_has_plain_log_labels() -> None:
    rows = [
        {"setting": f"noise.p={p}", "method": method, "seeds": 2, "axis.noise.p": p,
         "test_mse_mean": m, "test_mse_ci_low": m * 0.95, "test_mse_ci_high": m * 1.05}
        for p, m in ((0.3, 0.9), (0.5, 0.7))
        for method in ("mse", "biv")
    ]  # fmt: skip
    figure = plot_final_test_mse(pd.DataFrame(rows), "toy", ReportConfig())
    check_plain_log_axis(figure.axes[0])


@pytest.mark.usefixtures("close_figures")
def test_a_log_axis_over_decades_labels_the_decades_plainly() -> None:
    _, axis = plt.subplots()
    axis.plot([1, 2], [0.01, 10])
    axis.set_yscale("log")
    plain_log_axis(axis.yaxis)
    labels = check_plain_log_axis(axis)
    assert {"0.01", "0.1", "1", "10"} <= set(labels)
