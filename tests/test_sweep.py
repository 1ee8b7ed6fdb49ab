"""Sweeps: grid expansion and pairing, resume, failures, and the Ray backend."""

from __future__ import annotations

import pickle
import re
import subprocess
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from biv_pipeline.data.registry import feature_columns
from biv_pipeline.errors import ParameterError, SessionFailedError
from biv_pipeline.sweeps import executors, sessions
from biv_pipeline.sweeps.plan import expand, refused_methods
from biv_pipeline.sweeps.runner import run_sweep
from biv_pipeline.sweeps.spec import SweepSpec, load_spec
from biv_pipeline.tracking.contract import EXPERIMENT
from tests.pipelines.conftest import run_kedro, tracking_uri, versioned_file
from tests.test_cli import ENV, KEDRO

SMOKE = Path(__file__).resolve().parents[1] / "conf/base/sweeps/smoke_wine.yml"


def sweep_runs(project: Path, sweep: str):
    mlflow.set_tracking_uri(tracking_uri(project))
    return mlflow.search_runs(
        experiment_names=[EXPERIMENT], filter_string=f"tags.sweep = '{sweep}'"
    )


def spec(grid: dict, clean: bool = False) -> SweepSpec:
    return SweepSpec("test", {"dataset": "wine", "epochs": 1}, grid, clean)


def test_every_loss_of_a_seed_and_setting_shares_one_data_group() -> None:
    groups = expand(spec({"loss": ["mse", "biv"], "seed": [0, 1], "noise.p": [0.3, 0.7]}))
    assert len(groups) == 4
    for group in groups:
        assert sorted(trial.method for trial in group.trials) == ["biv", "mse"]
        assert len({(trial.seed, trial.setting) for trial in group.trials}) == 1
    first = groups[0]
    assert first.params["noise.p"] == 0.3
    assert first.params["noise.seed"] == first.params["ingest.split_seed"] == 0


def test_training_axes_reuse_the_noisy_labels() -> None:
    groups = expand(spec({"loss": ["biv"], "seed": [0], "epsilon": [0.1, "auto"]}))
    (group,) = groups
    assert [trial.setting for trial in group.trials] == ["epsilon=0.1", "epsilon=auto"]
    assert "epsilon" not in group.params


def test_clean_baseline_adds_one_clean_trial_per_seed() -> None:
    groups = expand(spec({"loss": ["mse"], "seed": [0, 1]}, clean=True))
    clean = [group for group in groups if group.trials[0].method == "clean"]
    assert len(clean) == 2
    assert clean[0].params["noise.enabled"] is False
    assert clean[0].trials[0].params["loss"] == "mse"
    assert clean[0].trials[0].tags("test", [0, 1])["setting"] == "clean"


def test_trial_keys_are_unique_and_deterministic() -> None:
    grid = {"loss": ["mse", "iv", "biv"], "seed": [0, 1, 2], "noise.p": [0.3, 0.5]}
    keys = [trial.key for group in expand(spec(grid, clean=True)) for trial in group.trials]
    assert len(keys) == len(set(keys)) == 3 * 3 * 2 + 3
    assert keys == [t.key for g in expand(spec(grid, clean=True)) for t in g.trials]


def test_model_is_a_method_axis_trained_on_the_same_labels() -> None:
    grid = {"model": ["vanilla_ann", "gbm"], "loss": ["mse", "iv"], "seed": [0]}
    (group,) = expand(spec(grid))
    methods = ["vanilla_ann/mse", "vanilla_ann/iv", "gbm/mse", "gbm/iv"]
    assert [trial.method for trial in group.trials] == methods
    assert {trial.setting for trial in group.trials} == {"default"}
    assert [trial.params["model"] for trial in group.trials] == ["vanilla_ann"] * 2 + ["gbm"] * 2
    assert group.trials[2].key == "gbm/mse|seed=0|default"


def test_a_model_and_loss_a_run_would_refuse_is_not_planned() -> None:
    grid = {"model": ["vanilla_ann", "linear"], "loss": ["iv", "biv"], "seed": [0]}
    (group,) = expand(spec(grid))
    assert [trial.method for trial in group.trials] == [
        "vanilla_ann/iv",
        "vanilla_ann/biv",
        "linear/iv",
    ]
    (reason,) = refused_methods(spec(grid)).values()
    assert list(refused_methods(spec(grid))) == ["linear/biv"]
    assert reason.startswith("loss biv normalises its weights per batch, and model linear")


def test_without_a_model_axis_methods_and_fingerprints_are_as_before() -> None:
    (group,) = expand(spec({"loss": ["biv"], "seed": [3]}))
    (trial,) = group.trials
    assert (trial.method, trial.key) == ("biv", "biv|seed=3|default")
    seeds = dict.fromkeys(("seed", "noise.seed", "ingest.split_seed"), 3)
    assert trial.params == {"dataset": "wine", "epochs": 1, "loss": "biv", **seeds}
    assert trial.fingerprint == "a60832ee91eaef79"


def test_a_sweep_file_with_an_unknown_model_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("grid:\n  loss: [mse]\n  model: [gbm, xgboost]\n")
    with pytest.raises(ParameterError, match=r"grid.model must use .*gp; got \['xgboost'\]"):
        load_spec(path)


def test_a_sweep_file_without_loss_axis_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("grid:\n  seed: [0, 1]\n")
    with pytest.raises(ParameterError, match="include loss"):
        load_spec(path)


def expected_test_rows(shared_data: Path, seed: int) -> pd.DataFrame:
    """Wine's test split for ``seed``, computed here: red then white rows, a seeded
    permutation, the 2,497 rows after the first 4,000 (label ``quality``, raw units)."""
    wine = shared_data / "wine"
    raw = pd.concat(
        [pd.read_csv(wine / f"winequality-{colour}.csv", sep=";") for colour in ("red", "white")],
        ignore_index=True,
    )
    order = np.random.default_rng(seed).permutation(len(raw))
    return raw.iloc[order[4000:]]


def test_paired_sweep_scores_each_seed_on_its_own_split_and_resumes(
    project: Path, shared_data: Path
) -> None:
    overrides = {"data_dir": str(shared_data), "epochs": 1}
    smoke = load_spec(SMOKE)
    first = run_sweep(smoke, project, tracking_uri(project), overrides=overrides, report=print)
    assert (first.finished, first.failed) == (4, [])
    runs = sweep_runs(project, "smoke_wine")
    assert len(runs) == 4
    for _, seed_runs in runs.groupby("tags.seed"):
        assert sorted(seed_runs["tags.method"]) == ["biv", "mse"]
        assert seed_runs["tags.noisy_train_version"].nunique() == 1
    assert runs["tags.noisy_train_version"].nunique() == 2
    for _, run in runs.iterrows():
        expected = expected_test_rows(shared_data, int(run["tags.seed"]))
        predictions = pd.read_parquet(
            versioned_file(project, "07_model_output", "wine", "test_predictions.parquet",
                           run["tags.run_id"])
        )  # fmt: skip
        assert predictions.index.tolist() == expected.index.tolist()
        assert np.allclose(predictions["y_raw"], expected["quality"])
        rescored = ((predictions["y_pred"] - predictions["y"]) ** 2).mean()
        assert run["metrics.final_test_mse"] == pytest.approx(rescored)
    again = run_sweep(smoke, project, tracking_uri(project), overrides=overrides, report=print)
    assert (again.skipped, again.finished) == (4, 0)
    changed = {**overrides, "epochs": 2}
    rerun = run_sweep(smoke, project, tracking_uri(project), overrides=changed, report=print)
    assert (rerun.skipped, rerun.finished) == (0, 4)
    assert len(sweep_runs(project, "smoke_wine")) == 8


def test_a_sweep_of_models_trains_each_on_the_same_labels_and_reports_one_table(
    project: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    grid = {"model": ["vanilla_ann", "gbm"], "loss": ["mse", "iv", "biv"], "seed": [0]}
    models = SweepSpec("models", {"dataset": "wine", "data_dir": str(shared_data)}, grid)
    result = run_sweep(models, project, tracking_uri(project), overrides={"epochs": 1})
    assert (result.finished, result.failed) == (5, [])
    assert (
        "not planned: gbm/biv (loss biv normalises its weights per batch" in capsys.readouterr().out
    )
    runs = sweep_runs(project, "models").set_index("tags.method")
    assert set(runs["status"]) == {"FINISHED"}
    assert runs["tags.noisy_train_version"].nunique() == 1
    gbm_name = runs.loc["gbm/iv", "tags.mlflow.runName"]
    assert re.fullmatch(r"wine-iv-eps0\.5-gbm-p0\.5-noise[0-9a-f]{6}-seed0", gbm_name)
    network_name = runs.loc["vanilla_ann/iv", "tags.mlflow.runName"]
    assert network_name == gbm_name.replace("-gbm-", "-vanilla_ann-")  # the same labels
    assert runs.loc["gbm/iv", "params.train.model"] == "gbm"
    # the classical run re-scored by a second path: its pickled model on the test split of the
    # ingest version it names, and its logged model on the raw rows of that split (bit for bit:
    # it standardises them as the ingest did, so no tree threshold is crossed by rounding)
    gbm = runs.loc["gbm/iv"]

    def saved(layer: str, name: str, version: str) -> Path:
        return versioned_file(project, layer, "wine", name, version)

    model = pickle.loads(saved("06_models", "trained_model.pkl", gbm["tags.run_id"]).read_bytes())
    test = pd.read_parquet(saved("03_primary", "test.parquet", gbm["tags.ingest_version"]))
    features = test[feature_columns(test)]
    rescored = np.mean((model.predict(features.to_numpy(np.float64)) - test["y"]) ** 2)
    assert gbm["metrics.final_test_mse"] == pytest.approx(rescored, rel=1e-12)
    logged = mlflow.search_logged_models(filter_string=f"source_run_id = '{gbm['run_id']}'")
    raw = expected_test_rows(shared_data, 0).drop(columns="quality")  # the CSV's own values
    served = mlflow.pyfunc.load_model(f"models:/{logged['model_id'].iloc[0]}").predict(raw)
    predictions = pd.read_parquet(
        saved("07_model_output", "test_predictions.parquet", gbm["tags.run_id"])
    )
    np.testing.assert_allclose(served, predictions["y_pred_raw"], rtol=1e-12)
    run_kedro(project, ["report"], sweep="models")
    report = project / "data/08_reporting/sweeps/models"
    table = pd.read_csv(report / "results.csv")
    assert table["method"].tolist() == [
        "vanilla_ann/mse", "vanilla_ann/iv", "vanilla_ann/biv", "gbm/mse", "gbm/iv"
    ]  # fmt: skip
    assert table["pairs"].tolist() == [0, 1, 1, 1, 1]  # each paired with vanilla_ann/mse
    assert "| Δ vs vanilla_ann/mse (95% CI) |" in (report / "results.md").read_text()


def test_a_bad_data_axis_value_fails_only_its_trials(project: Path, shared_data: Path) -> None:
    bad_axis = SweepSpec(
        "bad_axis",
        {"dataset": "wine", "data_dir": str(shared_data), "epochs": 1},
        {"loss": ["mse"], "seed": [0], "noise.p": [0.5, 1.5]},
    )
    result = run_sweep(bad_axis, project, tracking_uri(project), report=print)
    assert (result.finished, result.failed) == (1, ["mse|seed=0|noise.p=1.5"])
    runs = sweep_runs(project, "bad_axis").set_index("tags.trial")
    failed = runs.loc["mse|seed=0|noise.p=1.5"]
    assert failed["status"] == "FAILED"
    assert "noise.p: input should be less than or equal to 1; got 1.5" in failed["tags.error"]
    assert "Traceback" not in failed["tags.error"] and "\n" not in failed["tags.error"]
    assert "Traceback" in (project / "data/08_reporting/sweeps/bad_axis/sweep.log").read_text()
    assert runs.loc["mse|seed=0|noise.p=0.5", "status"] == "FINISHED"


def test_a_failing_trial_is_recorded_and_the_sweep_goes_on(
    project: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failing = SweepSpec(
        "failing",
        {"dataset": "wine", "data_dir": str(shared_data), "epochs": 1},
        {"loss": ["mse"], "seed": [0], "lr": [0.01, -1.0]},
    )
    result = run_sweep(failing, project, tracking_uri(project), report=print)
    assert (result.finished, result.failed) == (1, ["mse|seed=0|lr=-1.0"])
    runs = sweep_runs(project, "failing").set_index("tags.trial")
    assert runs.loc["mse|seed=0|lr=-1.0", "status"] == "FAILED"
    error = runs.loc["mse|seed=0|lr=-1.0", "tags.error"]
    assert error.startswith("ParameterError: ") and "\n" not in error
    assert "lr: input should be greater than 0, or 'auto'; got -1.0" in error
    assert runs.loc["mse|seed=0|lr=0.01", "status"] == "FINISHED"
    assert runs.loc["mse|seed=0|lr=0.01", "tags.axis.lr"] == "0.01"
    # the console: one line per trial and the closing table; the sessions' logs: the file
    console = capsys.readouterr().out
    assert len(re.findall(r"^\[\d/2\] .* \| (FINISHED|FAILED) ", console, re.MULTILINE)) == 2
    assert "trials: 1 FAILED, 1 FINISHED" in console
    assert "Training on noisy_train" not in console
    log = (project / "data/08_reporting/sweeps/failing/sweep.log").read_text()
    assert "Training on noisy_train" in log
    assert '"sweep": "failing"' not in console  # the closing JSON counts: for the log
    assert '"failed": ["mse|seed=0|lr=-1.0"]' in log.splitlines()[-1]
    assert "Workflow tracking is disabled" not in log  # kedro-viz, on every in-process run


def test_ray_backend_runs_the_smoke_sweep_through_a_tracking_server(
    project: Path, shared_data: Path
) -> None:
    sweeps = project / "conf/base/sweeps"
    result = subprocess.run(
        [KEDRO, "sweep", str(sweeps / "smoke_wine.yml"), "--backend", "ray",
         "--params", f"data_dir={shared_data},epochs=1"],
        cwd=project, env=ENV, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert '"finished": 4' not in result.stdout  # the closing JSON line is for the log
    log = (project / "data/08_reporting/sweeps/smoke_wine/sweep.log").read_text()
    assert '"finished": 4' in log.splitlines()[-1]
    runs = sweep_runs(project, "smoke_wine")
    assert sorted(runs["status"]) == ["FINISHED"] * 4
    assert runs["tags.run_id"].nunique() == 4  # parallel trials wrote separate versions
    for _, seed_runs in runs.groupby("tags.seed"):
        assert seed_runs["metrics.final_test_mse"].nunique() == 2  # mse and biv differ
    for _, run in runs.iterrows():
        predictions = pd.read_parquet(
            versioned_file(project, "07_model_output", "wine", "test_predictions.parquet",
                           run["tags.run_id"])
        )  # fmt: skip
        rescored = ((predictions["y_pred"] - predictions["y"]) ** 2).mean()
        assert run["metrics.final_test_mse"] == pytest.approx(rescored)


class FailingSession:
    """A stand-in for a KedroSession whose run raises an input error over two lines."""

    session_id = "2026-12-03T10.00.00.000Z"

    @classmethod
    def create(cls, **_: object) -> FailingSession:
        return cls()

    def __enter__(self) -> FailingSession:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def run(self, **_: object) -> None:
        raise ParameterError("lr must be > 0;\n  got -1.0")


def test_a_failed_session_is_one_line_and_its_traceback_goes_to_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sessions, "bootstrap_project", lambda _: None)
    monkeypatch.setattr(sessions, "ProjectSession", FailingSession)
    with pytest.raises(SessionFailedError) as failure:
        sessions.run_session(tmp_path, {}, ["train"])
    assert str(failure.value) == "ParameterError: lr must be > 0; got -1.0"
    assert "Traceback (most recent call last)" in caplog.text


def test_a_failed_trial_records_the_error_line_not_the_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded = []
    traceback = 'Traceback (most recent call last):\n  File "/home/me/x.py"\nParameterError: bad'

    def fail(*_: object) -> None:
        raise SessionFailedError("v1", traceback, "ParameterError: bad lr")

    monkeypatch.setattr(executors, "run_session", fail)
    monkeypatch.setattr(executors, "record_failure", lambda *args: recorded.append(args))
    (trial,) = expand(spec({"loss": ["mse"], "seed": [0]}))[0].trials
    job = executors.TrialJob(trial, "v0", trial.tags("test", [0]))
    status, _ = executors.run_trial(str(tmp_path), job, "sqlite:///unused.db")
    assert status == "FAILED"
    ((_, _, error, version),) = recorded
    assert (error, version) == ("ParameterError: bad lr", "v1")
