"""Sweep statistics against independent float64 formulas."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from biv_pipeline.errors import ParameterError
from biv_pipeline.markdown import format_interval, markdown_table
from biv_pipeline.parameters.contract import ReportConfig, parse_block
from biv_pipeline.reporting import (
    SweepRuns,
    axis_columns,
    learning_curve_table,
    mean_interval,
    numeric_axis,
    paired_differences,
    parse_tag,
    results_markdown,
    results_table,
    select_trials,
    setting_order,
)

CONFIG = ReportConfig()


def t_quantile(q: float, degrees: int) -> float:
    """Student-t quantile in closed form: Cauchy for 1 degree of freedom, and
    (2q - 1) / sqrt(2 q (1 - q)) for 2."""
    if degrees == 1:
        return math.tan(math.pi * (q - 0.5))
    assert degrees == 2
    return (2 * q - 1) / math.sqrt(2 * q * (1 - q))


def by_hand(values: list[float], confidence: float) -> tuple[float, float, float]:
    n = len(values)
    mean = sum(values) / n
    s = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_quantile((1 + confidence) / 2, n - 1) * s / math.sqrt(n)
    return mean, mean - half, mean + half


def run(
    method: str,
    seed: int,
    final: float,
    setting: str = "noise.p=0.3",
    status: str = "FINISHED",
    start: int = 0,
    trial: str | None = None,
    **axes: float | str,
) -> dict:
    """One row of a runs table, as the sweep dataset loads it."""
    return {
        "run_id": f"{method}-{setting}-{seed}-{start}",
        "status": status,
        "start_time": start,
        "trial": trial or f"{method}-{setting}-{seed}",
        "method": method,
        "seed": seed,
        "setting": setting,
        **{f"axis.{name}": value for name, value in axes.items()},
        "final_test_mse": final,
        "mean_effective_batch_size": 100.0 + seed,
    }


def sweep(rows: list[dict], histories: list[dict] | None = None) -> SweepRuns:
    columns = ["run_id", "epoch", "test_mse"]
    return SweepRuns(pd.DataFrame(rows), pd.DataFrame(histories or [], columns=columns))


@pytest.mark.parametrize(
    ("values", "confidence"),
    [([1.0, 2.0, 4.0], 0.95), ([0.3, 0.7, 0.4], 0.9), ([2.0, 5.0], 0.95)],
)
def test_mean_interval_is_the_student_t_interval(values: list[float], confidence: float) -> None:
    frame = pd.DataFrame({"group": "a", "value": values})
    (row,) = mean_interval(frame, ["group"], "value", confidence).itertuples()
    assert row.n == len(values)
    assert (row.mean, row.ci_low, row.ci_high) == pytest.approx(
        by_hand(values, confidence), rel=1e-12
    )


def test_mean_interval_is_undefined_for_one_value() -> None:
    frame = pd.DataFrame({"group": ["a"], "value": [0.5]})
    (row,) = mean_interval(frame, ["group"], "value", 0.95).itertuples()
    assert (row.n, row.mean) == (1, 0.5)
    assert math.isnan(row.ci_low) and math.isnan(row.ci_high)


def test_paired_differences_subtract_the_baseline_of_the_same_setting_and_seed() -> None:
    rows = [
        run("mse", 0, 1.0),
        run("mse", 1, 3.0),
        run("biv", 1, 2.5),
        run("biv", 0, 0.75),
        run("biv", 2, 9.0),  # no mse run for seed 2: no difference
        run("mse", 0, 7.0, setting="noise.p=0.5"),
    ]
    differences = paired_differences(pd.DataFrame(rows), "mse", "final_test_mse")
    assert differences.sort_values("seed").to_dict("records") == [
        {"setting": "noise.p=0.3", "seed": 0, "method": "biv", "difference": -0.25},
        {"setting": "noise.p=0.3", "seed": 1, "method": "biv", "difference": -0.5},
    ]


def test_paired_differences_refuse_two_trials_of_one_seed() -> None:
    rows = [run("mse", 0, 1.0, trial="a"), run("mse", 0, 2.0, trial="b")]
    with pytest.raises(ValueError, match=r"share a setting, method and seed: \['b'\]"):
        paired_differences(pd.DataFrame(rows), "mse", "final_test_mse")


def test_select_trials_keeps_the_newest_finished_run_of_each_trial() -> None:
    rows = [
        run("biv", 0, 9.0, status="FAILED", start=1),
        run("biv", 0, 1.0, start=2),
        run("biv", 0, 2.0, start=3),
        run("biv", 0, 8.0, status="FAILED", start=4),  # a later retry that failed
        run("mse", 0, 9.0, status="FAILED", start=1),
        run("mse", 0, 9.5, status="KILLED", start=2),
    ]
    histories = [
        {"run_id": rows[2]["run_id"], "epoch": 1, "test_mse": 2.0},
        {"run_id": rows[1]["run_id"], "epoch": 1, "test_mse": 1.0},
    ]
    trials = select_trials(sweep(rows, histories))
    assert trials.runs[["method", "status", "final_test_mse"]].values.tolist() == [
        ["mse", "KILLED", 9.5],
        ["biv", "FINISHED", 2.0],
    ]
    assert trials.histories[["method", "seed", "test_mse"]].values.tolist() == [["biv", 0, 2.0]]


def test_results_table_counts_failed_trials_and_leaves_them_out() -> None:
    rows = [
        run("mse", 0, 1.0),
        run("mse", 1, 2.0),
        run("biv", 0, 0.5),
        run("biv", 1, 1.25),
        run("biv", 2, 100.0, status="FAILED"),
        run("iv", 0, 100.0, status="FAILED"),
    ]
    table = results_table(sweep(rows), CONFIG).set_index("method")
    assert table["seeds"].to_dict() == {"mse": 2, "iv": 0, "biv": 2}
    assert table["failed"].to_dict() == {"mse": 0, "iv": 1, "biv": 1}
    biv = table.loc["biv"]
    assert biv["test_mse_mean"] == 0.875
    assert biv["effective_batch_size"] == 100.5
    expected = by_hand([0.5 - 1.0, 1.25 - 2.0], 0.95)
    paired = (biv["paired_diff_mean"], biv["paired_diff_ci_low"], biv["paired_diff_ci_high"])
    assert paired == pytest.approx(expected, rel=1e-12)
    assert biv["pairs"] == 2
    assert math.isnan(table.loc["mse", "paired_diff_mean"])


def test_paired_interval_is_narrower_than_the_spread_of_means_when_seeds_share_noise() -> None:
    seed_effect = [0.0, 1.0, 2.0, 3.0]
    rows = [run("mse", s, 1.0 + e) for s, e in enumerate(seed_effect)]
    rows += [run("biv", s, 0.8 + e + 0.01 * s) for s, e in enumerate(seed_effect)]
    biv = results_table(sweep(rows), CONFIG).set_index("method").loc["biv"]
    paired_width = biv["paired_diff_ci_high"] - biv["paired_diff_ci_low"]
    assert paired_width < (biv["test_mse_ci_high"] - biv["test_mse_ci_low"]) / 100
    assert biv["paired_diff_mean"] == pytest.approx(-0.2 + 0.015)


def test_results_are_ordered_by_the_numeric_axis_and_configured_methods_clean_last() -> None:
    rows = []
    for epochs in (10, 2):  # as text "epochs=10" sorts before "epochs=2"
        for method in ("cutoff", "biv", "zeta", "mse"):
            rows.append(run(method, 0, 1.0, setting=f"epochs={epochs}", epochs=epochs))
    rows.append(run("clean", 0, 0.1, setting="clean"))
    table = results_table(sweep(rows), CONFIG)
    assert list(zip(table["setting"], table["method"], strict=True)) == [
        ("epochs=2", "mse"),
        ("epochs=2", "biv"),
        ("epochs=2", "cutoff"),
        ("epochs=2", "zeta"),
        ("epochs=10", "mse"),
        ("epochs=10", "biv"),
        ("epochs=10", "cutoff"),
        ("epochs=10", "zeta"),
        ("clean", "clean"),
    ]
    assert table["axis.epochs"].iloc[0] == 2
    assert math.isnan(table["axis.epochs"].iloc[-1])


def test_axes_follow_the_setting_key_and_the_first_numeric_one_is_the_x_axis() -> None:
    rows = [
        run("mse", 0, 1.0, setting="clean"),
        run("mse", 0, 1.0, setting="epsilon=auto,noise.p=0.3", **{"noise.p": 0.3}, epsilon="auto"),
    ]
    frame = pd.DataFrame(rows)[["setting", "axis.noise.p", "axis.epsilon"]]
    assert axis_columns(frame) == ["axis.epsilon", "axis.noise.p"]
    assert numeric_axis(frame) == "axis.noise.p"
    assert numeric_axis(frame.drop(columns="axis.noise.p")) is None


def test_a_numeric_noise_axis_is_the_x_axis_before_an_earlier_numeric_axis() -> None:
    setting = "epochs=2,lr=0.1,noise.p=0.3"
    rows = [run("mse", 0, 1.0, setting=setting, epochs=2, lr=0.1, **{"noise.p": 0.3})]
    frame = pd.DataFrame(rows)
    assert axis_columns(frame) == ["axis.epochs", "axis.lr", "axis.noise.p"]
    assert numeric_axis(frame) == "axis.noise.p"
    assert numeric_axis(frame.drop(columns="axis.noise.p")) == "axis.epochs"


def test_settings_without_an_axis_are_ordered_by_name() -> None:
    rows = [run("mse", 0, 1.0, setting=s) for s in ("default", "clean", "b")]
    assert setting_order(pd.DataFrame(rows)) == ["b", "default", "clean"]


def test_learning_curve_table_averages_each_epoch_over_seeds() -> None:
    rows = [run("biv", seed, 1.0) for seed in (0, 1)]
    histories = [
        {"run_id": rows[seed]["run_id"], "epoch": epoch, "test_mse": 1.0 / epoch + seed}
        for seed in (0, 1)
        for epoch in (2, 1)
    ]
    curves = learning_curve_table(select_trials(sweep(rows, histories)), CONFIG)
    assert curves["epoch"].tolist() == [1, 2]
    assert curves["n"].tolist() == [2, 2]
    expected = [by_hand([1.0 / epoch, 1.0 / epoch + 1], 0.95) for epoch in (1, 2)]
    actual = curves[["mean", "ci_low", "ci_high"]].to_numpy()
    np.testing.assert_allclose(actual, np.array(expected), rtol=1e-12)


@pytest.mark.parametrize(
    ("text", "value"), [("3", 3), ("0.3", 0.3), ("1e-2", 0.01), ("auto", "auto")]
)
def test_tags_are_parsed_as_numbers_where_they_are(text: str, value: float | str) -> None:
    parsed = parse_tag(text)
    assert parsed == value
    assert type(parsed) is type(value)


def test_format_interval_shows_the_mean_alone_without_an_interval() -> None:
    assert format_interval(0.123456, 0.1, 0.15, 3) == "0.123 [0.1, 0.15]"
    assert format_interval(0.123456, math.nan, math.nan, 3) == "0.123"
    assert format_interval(math.nan, math.nan, math.nan, 3) == "-"


def test_markdown_table_aligns_the_numeric_columns() -> None:
    table = markdown_table(["a", "n"], [["x", "1"], ["y", "22"]], right={1})
    assert table == "| a | n |\n| --- | ---: |\n| x | 1 |\n| y | 22 |"


def test_results_markdown_names_the_baseline_and_the_failed_trials() -> None:
    rows = [
        run("mse", 0, 1.0),
        run("mse", 1, 2.0),
        run("biv", 0, 0.5),
        run("biv", 1, 1.0, status="FAILED", trial="biv-seed-1"),
    ]
    trials = sweep(rows)
    config = ReportConfig(confidence=0.9, digits=3)
    markdown = results_markdown(results_table(trials, config), trials, "toy", config)
    mse_mean, low, high = by_hand([1.0, 2.0], 0.9)
    expected_mse = f"| noise.p=0.3 | mse | 2 | 0 | 0 | {mse_mean:.3g} [{low:.3g}, {high:.3g}] | - |"
    assert expected_mse in markdown
    assert "| noise.p=0.3 | biv | 1 | 1 | 0 | 0.5 | -0.5 | 100 |" in markdown
    assert "| test MSE (90% CI) | Δ vs mse (90% CI) |" in markdown
    assert "left out of the statistics: 1; `biv-seed-1`." in markdown
    assert markdown.endswith("Missing trials (planned seeds with no run): 0.\n")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("confidence", 1.0, r"report.confidence: input should be less than 1; got 1.0"),
        ("digits", 0, "report.digits: input should be greater than or equal to 1; got 0"),
        ("panel_columns", 1.5, "report.panel_columns: input should be a valid integer; got 1.5"),
        ("panel_size", [5.0], r"report.panel_size: list should have at least 2 items"),
        ("methodz", ["mse"], "report.methodz: unknown parameter; did you mean report.methods"),
    ],
)
def test_report_config_names_the_bad_field(field: str, value: object, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        parse_block("report", {field: value})


def test_killed_running_and_metric_less_runs_count_as_failed_and_absent_seeds_as_missing() -> None:
    rows = [
        run("mse", 0, 1.0),
        run("mse", 1, 2.0, status="KILLED"),
        run("mse", 2, 3.0, status="RUNNING"),
        run("mse", 3, float("nan")),  # FINISHED, but it never logged its final metric
        run("mse", 4, 5.0),
        run("biv", 0, 0.5),
    ]
    for row in rows:
        row["planned_seeds"] = "0,1,2,3,4,5"
    table = results_table(select_trials(sweep(rows)), CONFIG).set_index("method")
    assert table.loc["mse", ["seeds", "failed", "missing"]].tolist() == [2, 3, 1]
    assert table.loc["mse", "test_mse_mean"] == pytest.approx(3.0)
    assert table.loc["biv", ["seeds", "failed", "missing"]].tolist() == [1, 0, 5]


def test_a_retried_trial_counts_once_as_done() -> None:
    rows = [
        run("mse", 0, 9.0, status="KILLED", start=0, trial="t"),
        run("mse", 0, 1.0, status="FINISHED", start=1, trial="t"),
        run("mse", 0, float("nan"), status="FINISHED", start=2, trial="t"),
    ]
    chosen = select_trials(sweep(rows)).runs
    assert chosen["final_test_mse"].tolist() == [1.0]


def estimated(method: str, seed: int, value: float) -> dict:
    """A run on test labels without clean ones: it logged the clean-MSE estimate only."""
    return {**run(method, seed, math.nan), "final_test_mse_clean_est": value}


def test_without_clean_test_labels_the_report_compares_the_estimates_and_says_so() -> None:
    rows = [estimated("mse", 0, 1.0), estimated("mse", 1, 2.0), estimated("biv", 0, 0.5)]
    rows.append(estimated("biv", 1, 1.5))
    histories = [
        {"run_id": row["run_id"], "epoch": 1, "test_mse": math.nan, "test_mse_clean_est": 3.0}
        for row in rows
    ]
    trials = select_trials(SweepRuns(pd.DataFrame(rows), pd.DataFrame(histories)))
    table = results_table(trials, CONFIG).set_index("method")
    assert table["seeds"].to_dict() == {"mse": 2, "biv": 2}  # done without final_test_mse
    assert table.loc["biv", "test_mse_mean"] == 1.0
    assert table.loc["biv", "paired_diff_mean"] == -0.5
    assert set(table["metric"]) == {"final_test_mse_clean_est"}
    markdown = results_markdown(table.reset_index(), trials, "toy", CONFIG)
    assert "| test MSE estimated from noisy labels (95% CI) |" in markdown
    assert "estimated from the noisy test labels" in markdown
    curves = learning_curve_table(trials, CONFIG)
    assert curves["mean"].tolist() == [3.0, 3.0]


def test_a_sweep_with_clean_test_labels_reports_the_clean_test_mse() -> None:
    rows = [{**run("mse", 0, 1.0), "final_test_mse_clean_est": 9.0}, run("biv", 0, 0.5)]
    table = results_table(sweep(rows), CONFIG)
    assert set(table["metric"]) == {"final_test_mse"}
    assert table.set_index("method").loc["mse", "test_mse_mean"] == 1.0


def test_a_sweep_of_models_compares_with_the_networks_mse_by_default() -> None:
    rows = [run(f"{model}/{loss}", seed, value + seed, setting="default")
            for model, loss, value in [("vanilla_ann", "mse", 1.0), ("gbm", "iv", 0.5),
                                       ("vanilla_ann", "iv", 0.7), ("linear", "mse", 0.9)]
            for seed in (0, 1)]  # fmt: skip
    rows += [run("clean", seed, 0.4, setting="clean") for seed in (0, 1)]
    table = results_table(sweep(rows), CONFIG)
    assert table["method"].tolist() == [
        "vanilla_ann/mse",
        "vanilla_ann/iv",
        "gbm/iv",
        "linear/mse",
        "clean",
    ]
    differences = table.set_index("method")["paired_diff_mean"]
    assert differences["gbm/iv"] == pytest.approx(-0.5)
    assert math.isnan(differences["vanilla_ann/mse"])
    markdown = results_markdown(table, sweep(rows), "models", CONFIG)
    assert "| Δ vs vanilla_ann/mse (95% CI) |" in markdown
    assert "| default | gbm/iv | 2 | 0 | 0 | 1 [" in markdown
    assert "Δ vs mse" not in markdown
