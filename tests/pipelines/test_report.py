"""report end to end: a fake sweep's MLflow runs -> table, figures, the report's MLflow run."""

from __future__ import annotations

import math
import re
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from kedro.framework.project import pipelines
from kedro.framework.startup import bootstrap_project
from matplotlib.figure import Figure
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from biv_pipeline.errors import MissingDataError, ParameterError
from biv_pipeline.parameters.contract import ReportConfig
from biv_pipeline.pipelines.report.nodes import plot_final_test_mse, plot_learning_curves
from biv_pipeline.reporting import SweepRuns, parse_tag, results_table
from biv_pipeline.sweeps.runs_dataset import SweepRunsDataset
from biv_pipeline.tracking.contract import EXPERIMENT
from tests.pipelines.conftest import run_kedro, tracking_uri

SWEEP = "toy"
SEEDS = (0, 1, 2)
NOISE_P = (0.1, 0.3)
EPOCHS = 3
REPORT = Path("data/08_reporting/sweeps") / SWEEP
ARTIFACTS = [
    "final_test_mse.png",
    "learning_curves.csv",
    "learning_curves.png",
    "results.csv",
    "results.md",
]


def final_mse(method: str, p: float, seed: int) -> float:
    """A made-up final test MSE: worse with more noise, seeds differ, biv better than mse."""
    base = {"clean": 0.2, "mse": 0.6, "biv": 0.4}[method]
    spread = {"clean": 0.02, "mse": 0.01 * seed**2, "biv": 0.03 * seed}[method]
    return base + 0.5 * p + spread


def log_trial(
    client: MlflowClient,
    experiment_id: str,
    tags: dict[str, str],
    final: float,
    status: str = "FINISHED",
) -> None:
    """One training run as the sweep writes it: tags, final metrics, a test_mse history."""
    run_id = client.create_run(experiment_id, tags=tags).info.run_id
    history = [Metric("test_mse", final * (1 + 1 / epoch), 0, epoch) for epoch in range(1, 4)]
    finals = [
        Metric("final_test_mse", final, 0, EPOCHS),
        Metric("final_test_rmse_raw", math.sqrt(final), 0, EPOCHS),
        Metric("mean_effective_batch_size", 128.0 if tags["method"] == "biv" else 256.0, 0, 3),
        Metric("skipped_batches", 0.0, 0, EPOCHS),
    ]
    client.log_batch(run_id, metrics=history + finals)
    client.set_terminated(run_id, status=status)


def log_fake_sweep(uri: str, sweep: str = SWEEP) -> None:
    """mse and biv at noise.p 0.1 and 0.3, three seeds each, one clean run per seed, and a
    fourth biv seed at noise.p 0.3 that failed."""
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(EXPERIMENT)
    for seed in SEEDS:
        clean = {"sweep": sweep, "trial": f"clean-{seed}", "method": "clean", "setting": "clean"}
        log_trial(client, experiment_id, {**clean, "seed": str(seed)}, final_mse("clean", 0, seed))
        for p in NOISE_P:
            for method in ("mse", "biv"):
                tags = {
                    "sweep": sweep,
                    "trial": f"{method}-{p}-{seed}",
                    "method": method,
                    "seed": str(seed),
                    "setting": f"noise.p={p}",
                    "axis.noise.p": str(p),
                }
                log_trial(client, experiment_id, tags, final_mse(method, p, seed))
    failed = {"sweep": sweep, "trial": "biv-0.3-3", "method": "biv", "seed": "3"}
    tags = {**failed, "setting": "noise.p=0.3", "axis.noise.p": "0.3"}
    log_trial(client, experiment_id, tags, 0.0, status="FAILED")


def t_interval(values: list[float]) -> tuple[float, float, float]:
    """Mean and 95% Student-t interval of three values; t_{0.975, 2} in closed form for two
    degrees of freedom: t = (2q - 1) / sqrt(2 q (1 - q)), q = 0.975."""
    assert len(values) == 3
    q = 0.975
    t = (2 * q - 1) / math.sqrt(2 * q * (1 - q))
    mean = float(np.mean(values))
    half = t * float(np.std(values, ddof=1)) / math.sqrt(3)
    return mean, mean - half, mean + half


@pytest.fixture
def fake_sweep(project: Path) -> Path:
    log_fake_sweep(tracking_uri(project))
    return project


def test_report_table_has_the_means_and_paired_differences(fake_sweep: Path) -> None:
    run_kedro(fake_sweep, ["report"], sweep=SWEEP)
    table = pd.read_csv(fake_sweep / REPORT / "results.csv").set_index(["setting", "method"])
    biv = table.loc[("noise.p=0.3", "biv")]
    expected = t_interval([final_mse("biv", 0.3, seed) for seed in SEEDS])
    assert (biv["seeds"], biv["failed"], biv["axis.noise.p"]) == (3, 1, 0.3)
    assert [biv["test_mse_mean"], biv["test_mse_ci_low"], biv["test_mse_ci_high"]] == (
        pytest.approx(expected, abs=1e-12)
    )
    differences = [final_mse("biv", 0.3, s) - final_mse("mse", 0.3, s) for s in SEEDS]
    paired = [biv["paired_diff_mean"], biv["paired_diff_ci_low"], biv["paired_diff_ci_high"]]
    assert paired == pytest.approx(t_interval(differences), abs=1e-12)
    assert biv["effective_batch_size"] == 128.0
    assert list(table.index) == [
        ("noise.p=0.1", "mse"),
        ("noise.p=0.1", "biv"),
        ("noise.p=0.3", "mse"),
        ("noise.p=0.3", "biv"),
        ("clean", "clean"),
    ]


def test_report_writes_markdown_and_figures_and_prints_the_table_and_folder(
    fake_sweep: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_kedro(fake_sweep, ["report"], sweep=SWEEP)
    markdown = (fake_sweep / REPORT / "results.md").read_text()
    assert "| noise.p=0.3 | biv | 3 | 1 |" in markdown
    printed = capsys.readouterr().out
    assert markdown.rstrip() in printed
    files = ", ".join(sorted(ARTIFACTS))
    assert re.search(rf"^files +{REPORT.as_posix()}/ \({re.escape(files)}\)$", printed, re.M)
    assert re.search(r"^MLflow run +report \([0-9a-f]{32}\)$", printed, re.M)
    assert "left out of the statistics: 1; `biv-0.3-3`." in markdown
    for figure in ("learning_curves.png", "final_test_mse.png"):
        assert (fake_sweep / REPORT / figure).read_bytes().startswith(b"\x89PNG")
    curves = pd.read_csv(fake_sweep / REPORT / "learning_curves.csv")
    assert len(curves) == 5 * EPOCHS
    assert set(curves["n"]) == {3}


def test_report_run_in_mlflow_holds_the_artifacts(fake_sweep: Path) -> None:
    run_kedro(fake_sweep, ["report"], sweep=SWEEP)
    mlflow.set_tracking_uri(tracking_uri(fake_sweep))
    runs = mlflow.search_runs(experiment_names=[EXPERIMENT], filter_string="params.sweep = 'toy'")
    (run_id,) = runs["run_id"]
    artifacts = sorted(a.path for a in MlflowClient().list_artifacts(run_id))
    assert artifacts == ARTIFACTS


def innermost(error: BaseException) -> BaseException:
    """The error at the end of the ``raise ... from`` chain: what the user got wrong, whether
    Kedro wrapped it in ``DatasetError``s (raised by ``load()``) or not (raised by a hook)."""
    while error.__cause__ is not None:
        error = error.__cause__
    return error


def test_report_without_a_sweep_name_says_how_to_give_one(project: Path) -> None:
    with pytest.raises(Exception) as raised:
        run_kedro(project, ["report"])
    error = innermost(raised.value)
    assert isinstance(error, ParameterError)
    assert str(error).startswith("sweep is not set: ")
    assert "`kedro run --pipelines=report --params sweep=NAME`" in str(error)


def test_unknown_sweep_lists_the_sweeps_there(fake_sweep: Path) -> None:
    with pytest.raises(Exception) as raised:
        run_kedro(fake_sweep, ["report"], sweep="tyo")
    error = innermost(raised.value)
    assert isinstance(error, MissingDataError)
    assert re.match(
        r"no runs of sweep 'tyo' in MLflow experiment 'biv-pipeline' at sqlite:", str(error)
    )
    assert "; sweeps there: toy (run the sweep first" in str(error)


def test_check_fails_like_load_without_reading_the_runs(fake_sweep: Path) -> None:
    uri = tracking_uri(fake_sweep)
    SweepRunsDataset(SWEEP, uri, EXPERIMENT).check()
    with pytest.raises(MissingDataError, match="no runs of sweep 'tyo'"):
        SweepRunsDataset("tyo", uri, EXPERIMENT).check()
    with pytest.raises(ParameterError, match="sweep must be a name of letters"):
        SweepRunsDataset("a'b", uri, EXPERIMENT).check()


def test_report_is_not_part_of_the_default_run(project: Path) -> None:
    bootstrap_project(project)
    assert "report" in pipelines
    assert not set(pipelines["report"].nodes) & set(pipelines["__default__"].nodes)


def results_of(settings: dict[str, dict[str, str]]) -> pd.DataFrame:
    """The results table of two seeds of mse and biv per setting, plus a clean baseline."""
    rows = [
        {"setting": "clean", "method": "clean", "seed": s, "final_test_mse": 0.1 + 0.01 * s}
        for s in (0, 1)
    ]
    for setting, axes in settings.items():
        for method in ("mse", "biv"):
            rows += [
                {"setting": setting, "method": method, "seed": s, "final_test_mse": 1.0 + s}
                | {f"axis.{name}": parse_tag(value) for name, value in axes.items()}
                for s in (0, 1)
            ]
    runs = pd.DataFrame(rows).assign(
        run_id=range(len(rows)), status="FINISHED", start_time=0, mean_effective_batch_size=1.0
    )
    runs["trial"] = runs["run_id"]
    empty = pd.DataFrame(columns=["run_id", "epoch", "test_mse"])
    return results_table(SweepRuns(runs, empty), ReportConfig())


def legend_labels(figure: Figure) -> list[str]:
    return [text.get_text() for text in figure.axes[0].get_legend().get_texts()]


def test_final_mse_without_a_numeric_axis_is_drawn_per_setting() -> None:
    results = results_of({"loss_scale=low": {"loss_scale": "low"}, "default": {}})
    figure = plot_final_test_mse(results, SWEEP, ReportConfig())
    ticks = [tick.get_text() for tick in figure.axes[0].get_xticklabels()]
    assert ticks == ["default", "loss_scale=low"]
    assert legend_labels(figure) == ["clean", "mse", "biv"]


def test_final_mse_draws_one_line_per_value_of_the_other_axes() -> None:
    settings = {
        f"noise.p={p},epsilon={e}": {"noise.p": str(p), "epsilon": e}
        for p in (0.1, 0.3)
        for e in ("auto", "0.5x")
    }
    figure = plot_final_test_mse(results_of(settings), SWEEP, ReportConfig())
    assert figure.axes[0].get_xlabel() == "noise.p"
    assert legend_labels(figure) == [
        "clean",
        "mse (epsilon=0.5x)",
        "biv (epsilon=0.5x)",
        "mse (epsilon=auto)",
        "biv (epsilon=auto)",
    ]


def test_learning_curves_draw_a_method_fitted_once_as_its_final_level() -> None:
    results = results_of({"default": {}})
    curves = pd.DataFrame(
        {"setting": "default", "method": "mse", "epoch": [1, 2], "n": 2}
        | {"mean": [1.0, 0.9], "ci_low": [0.8, 0.7], "ci_high": [1.2, 1.1]}
    )
    figure = plot_learning_curves(curves, SWEEP, ReportConfig(), results)
    assert legend_labels(figure) == ["mse", "biv (fitted once)"]
    no_curves = plot_learning_curves(curves.iloc[0:0], SWEEP, ReportConfig(), results)
    assert legend_labels(no_curves) == ["mse (fitted once)", "biv (fitted once)"]
    assert [axis.get_title() for axis in no_curves.axes] == ["default"]
