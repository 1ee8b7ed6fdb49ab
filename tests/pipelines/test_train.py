"""train end to end: same noisy labels for several losses, tracked in MLflow."""

from __future__ import annotations

import re
from pathlib import Path

import mlflow
import pytest

from biv_pipeline.tracking.contract import EXPERIMENT
from tests.pipelines.conftest import (
    QUICK_TRAINING,
    noisy_versions,
    run_kedro,
    training_runs,
)


def test_two_losses_train_on_the_same_noisy_version(
    project: Path, wine_params, capsys: pytest.CaptureFixture[str]
) -> None:
    run_kedro(project, ["ingest", "noise"], **wine_params)
    assert "final test MSE" not in capsys.readouterr().out  # no model, no summary
    (version,) = noisy_versions(project, "wine")
    summaries = []
    for loss, epsilon in (("biv", "tau2_hat"), ("mse", 0.5)):
        run_kedro(project, ["train"], **wine_params, **QUICK_TRAINING, loss=loss, epsilon=epsilon)
        summaries.append(capsys.readouterr().out)
    runs = training_runs(project)
    for summary, (_, run) in zip(summaries, runs.sort_values("start_time").iterrows(), strict=True):
        name, run_id = run["tags.mlflow.runName"], run["run_id"]
        assert re.search(rf"^MLflow run +{name} \({run_id}\)$", summary, re.MULTILINE)
        assert f"{run['metrics.final_test_mse']:.4g}" in summary
        assert f"{run['metrics.final_test_rmse_raw']:.4g}" in summary
        assert version.parent.name in summary
        training_on = (
            rf"^Training on noisy_train {version.parent.name} of dataset wine \(split seed 7159, "
            rf"noise seed 7159, p 0.5\), scored on the test split of ingest {version.parent.name}$"
        )
        assert re.search(training_on, summary, re.MULTILINE)  # a plain line, not a log record
        assert summary.rstrip().splitlines()[-2].endswith("kedro runs-ui")
        assert f"{run['metrics.tau2_hat']:.4g} ± " in summary
    names = sorted(runs["tags.mlflow.runName"])
    assert [name.split("-noise")[0] for name in names] == [
        "wine-biv-epstau2_hat-vanilla_ann-p0.5",
        "wine-mse-vanilla_ann-p0.5",
    ]
    assert {name.split("-noise")[1][6:] for name in names} == {"-seed0"}
    # labels with variances: tau2_hat and the variance share; epsilon: tau2_hat trains with it
    assert runs["metrics.tau2_hat"].nunique() == 1
    assert runs["metrics.variance_share"].between(0, 1).all()
    biv = runs[runs["params.train.loss"] == "biv"].iloc[0]
    assert biv["params.train.epsilon"] == "tau2_hat"
    assert float(biv["params.train.epsilon_value"]) == pytest.approx(biv["metrics.tau2_hat"])
    assert biv["metrics.epsilon_mean"] == pytest.approx(biv["metrics.tau2_hat"], rel=1e-6)
    assert set(runs["tags.noisy_train_version"]) == {version.parent.name}
    assert set(runs["status"]) == {"FINISHED"}
    client = mlflow.MlflowClient()
    for run_id in runs["run_id"]:
        history = client.get_metric_history(run_id, "test_mse")
        assert [metric.step for metric in history] == [1, 2]
        assert client.get_metric_history(run_id, "test_rmse_raw")
        assert [a.path for a in client.list_artifacts(run_id)] == ["learning_curve.png"]
    run = runs.iloc[0]
    assert run["params.data.noise.p"] == "0.5"
    assert run["params.data.train_rows"] == "4000"
    assert run["metrics.final_test_mse"] == pytest.approx(run["metrics.test_mse"])
    # one copy of each parameter (the resolved train.*), no object reprs as tags
    logged = {column for column in runs if column.startswith("params.") and run[column]}
    assert {"params.train.loss", "params.train.lr"} <= logged
    assert not logged & {"params.loss", "params.lr", "params.epsilon", "params.noise.p"}
    assert set(runs["tags.runner"]) == {"SequentialRunner"}
    # no path of this machine: the project is ".", the command is named, not located
    assert set(runs["tags.project_path"]) == {"."}
    assert not any("/" in source for source in runs["tags.mlflow.source.name"])
    # each run's learning curve is a version of its own, named by the run's kedro run id
    curves = project / "data/08_reporting/wine/learning_curve.png"
    assert {path.parent.name for path in curves.glob("*/learning_curve.png")} == set(
        runs["tags.run_id"]
    )
    experiment = mlflow.get_experiment_by_name(EXPERIMENT)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"


def test_pinned_version_is_the_one_trained_on(project: Path, wine_params) -> None:
    run_kedro(project, ["ingest", "noise"], **wine_params)
    run_kedro(project, ["noise"], **wine_params, noise={"seed": 1})
    _, second = noisy_versions(project, "wine")
    pin = {"noisy_train": second.parent.name}  # not made with this run's noise.seed: it wins
    run_kedro(project, ["train"], load_versions=pin, **wine_params, **QUICK_TRAINING)
    runs = training_runs(project)
    assert list(runs["tags.noisy_train_version"]) == [second.parent.name]
    assert runs.iloc[0]["params.data.noise.seed"] == "1"  # the labels' parameters


def test_full_default_run_tracks_the_model(project: Path) -> None:
    run_kedro(project, **QUICK_TRAINING)
    runs = training_runs(project)
    (run_id,) = runs["run_id"]
    models = mlflow.search_logged_models(experiment_ids=[runs.iloc[0]["experiment_id"]])
    assert list(models["source_run_id"]) == [run_id]
    model = mlflow.pyfunc.load_model(f"models:/{models.iloc[0]['model_id']}")
    network = model.unwrap_python_model().model.predictor.network
    assert sum(p.numel() for p in network.parameters()) > 0
    predictions = list((project / "data/07_model_output/synthetic").glob("*/*/*.parquet"))
    assert len(predictions) == 1


def test_a_bad_loss_lists_the_valid_losses(project: Path, wine_params) -> None:
    run_kedro(project, ["ingest", "noise"], **wine_params)
    with pytest.raises(
        ValueError, match="loss: input should be 'mse', 'iv', 'biv' or 'cutoff'; got 'l1'"
    ):
        run_kedro(project, ["train"], **wine_params, loss="l1")


@pytest.mark.parametrize("loss", ["iv", "cutoff"])
def test_every_loss_runs_end_to_end(project: Path, loss: str) -> None:
    run_kedro(project, **QUICK_TRAINING, loss=loss, epsilon="auto")
    runs = training_runs(project)
    setting = {"iv": "-epsauto", "cutoff": "-cutoff1"}[loss]
    (name,) = runs["tags.mlflow.runName"]
    assert name.startswith(f"synthetic-{loss}{setting}-vanilla_ann-p0.5-noise")
    assert runs.iloc[0]["metrics.mean_effective_batch_size"] > 0
