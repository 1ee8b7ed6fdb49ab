"""A run reads only its own data: train-only after a re-ingest, pins, overlapping runs, kills."""

from __future__ import annotations

import json
import pickle
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
import torch
from kedro.framework.hooks import hook_impl
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.pipeline import Node

from biv_pipeline.data.registry import feature_columns
from biv_pipeline.data.schema import LABEL
from biv_pipeline.errors import LineageError, MissingVersionError
from biv_pipeline.training import predict
from tests.pipelines.conftest import (
    QUICK_TRAINING,
    noisy_versions,
    read_version,
    run_kedro,
    tracking_uri,
    training_runs,
    versioned_file,
)
from tests.test_cli import ENV, KEDRO


def test_train_only_after_a_reingest_scores_on_the_split_of_its_labels(
    project: Path, wine_params: dict[str, Any]
) -> None:
    run_kedro(project, ["ingest", "noise"], **wine_params)
    (labels,) = noisy_versions(project, "wine")
    run_kedro(project, ["ingest"], **wine_params, ingest={"split_seed": 1})
    run_kedro(project, ["noise"], **wine_params)  # newer labels, of the newer split (seed 1)
    run_kedro(project, ["train"], **wine_params, **QUICK_TRAINING)
    run = training_runs(project).iloc[0]
    made_from = labels.parent.name
    assert run["tags.noisy_train_version"] == made_from  # made with this run's parameters
    assert run["tags.ingest_version"] == made_from
    assert run["params.data.ingest.split_seed"] == "7159"
    predictions = pd.read_parquet(
        versioned_file(project, "07_model_output", "wine", "test_predictions.parquet",
                       run["tags.run_id"])
    )  # fmt: skip
    test = pd.read_parquet(versioned_file(project, "03_primary", "wine", "test.parquet", made_from))
    assert predictions.index.equals(test.index)
    assert read_version(labels).index.intersection(predictions.index).empty


def test_labels_from_another_data_folder_are_refused(
    project: Path, wine_params: dict[str, Any]
) -> None:
    run_kedro(project, ["ingest", "noise"], **wine_params)
    (labels,) = noisy_versions(project, "wine")
    elsewhere = project / "elsewhere"
    with pytest.raises(LineageError) as refused:
        run_kedro(project, ["train"], dataset="wine", data_dir=str(elsewhere))
    assert str(refused.value).startswith(
        "no noisy_train version of dataset 'wine' was made with this run's parameters; versions "
        f"there: {labels.parent.name} (data_dir={Path(wine_params['data_dir']).resolve()} (here "
        f"{elsewhere}))"
    )
    assert training_runs(project).empty


def test_a_pinned_version_of_another_dataset_says_whose_it_is(
    project: Path, wine_params: dict[str, Any]
) -> None:
    run_kedro(project, ["ingest", "noise"], **wine_params)
    version = noisy_versions(project, "wine")[0].parent.name
    with pytest.raises(MissingVersionError, match=f"{version} is a version of dataset wine"):
        run_kedro(project, ["train"], load_versions={"noisy_train": version})


def test_a_pinned_test_split_that_the_labels_did_not_come_from_is_refused(
    project: Path, wine_params: dict[str, Any]
) -> None:
    run_kedro(project, ["ingest", "noise"], **wine_params)
    run_kedro(project, ["ingest"], **wine_params, ingest={"split_seed": 1})
    other = sorted((project / "data/03_primary/wine/test.parquet").iterdir())[-1].name
    with pytest.raises(LineageError, match="not the ingest version these labels were made from"):
        run_kedro(project, ["train"], load_versions={"test_split": other}, **wine_params)


def test_training_without_noisy_labels_says_to_make_them(
    project: Path, wine_params: dict[str, Any]
) -> None:
    with pytest.raises(MissingVersionError, match=r"noisy_train has no complete version.*kedro"):
        run_kedro(project, ["train"], **wine_params)
    assert training_runs(project).empty


class RunAnotherProcessBefore:
    """Pause this run before one node and run another ``kedro`` process to completion."""

    def __init__(self, node_name: str, command: list[str]) -> None:
        self.node_name = node_name
        self.command = command

    @hook_impl
    def before_node_run(self, node: Node) -> None:
        if node.name == self.node_name:
            other = subprocess.run(self.command, env=ENV, capture_output=True, text=True,
                                   check=False, timeout=600)  # fmt: skip
            assert other.returncode == 0, other.stderr[-2000:]


def run_interleaved(
    project: Path, pause: RunAnotherProcessBefore, pipelines: list[str] | None, **params: Any
) -> None:
    bootstrap_project(project)
    params = {"mlflow_tracking_uri": tracking_uri(project), **params}
    with KedroSession.create(project_path=project, runtime_params=params) as session:
        session._hook_manager.register(pause)
        session.run(pipeline_names=pipelines)


def test_a_run_trains_on_its_own_labels_while_another_run_saves_newer_ones(
    project: Path, shared_data: Path
) -> None:
    wine = f"dataset=wine,data_dir={shared_data}"
    other = [KEDRO, "run", "--pipelines=ingest,noise", "--params", f"{wine},noise.p=0.9"]
    pause = RunAnotherProcessBefore("train_model", other)
    run_interleaved(project, pause, None, dataset="wine", data_dir=str(shared_data),
                    noise={"p": 0.1}, **QUICK_TRAINING)  # fmt: skip
    mine, newer = noisy_versions(project, "wine")
    assert read_version(newer).attrs["noise"]["p"] == 0.9
    run = training_runs(project).iloc[0]
    assert run["params.data.noise.p"] == "0.1"
    assert run["tags.noisy_train_version"] == mine.parent.name
    assert read_version(mine).attrs["noise"]["p"] == 0.1


def test_a_run_logs_its_own_model_while_another_run_trains(
    project: Path, shared_data: Path, wine_params: dict[str, Any]
) -> None:
    run_kedro(project, ["ingest", "noise"], **wine_params)
    cutoff = f"dataset=wine,data_dir={shared_data},loss=cutoff,epochs=1"
    pause = RunAnotherProcessBefore("predict_test_set", [KEDRO, "run", "--pipeline=train",
                                                         "--params", cutoff])  # fmt: skip
    run_interleaved(project, pause, ["train"], **wine_params, loss="mse", **QUICK_TRAINING)
    runs = training_runs(project).set_index("params.train.loss")
    mine = runs.loc["mse"]
    # Re-score, by another path, the model this run saved on the split its labels came from.
    model_file = versioned_file(
        project, "06_models", "wine", "trained_model.pkl", mine["tags.run_id"]
    )
    model = pickle.loads(model_file.read_bytes())
    test = pd.read_parquet(versioned_file(project, "03_primary", "wine", "test.parquet",
                                          mine["tags.ingest_version"]))  # fmt: skip
    inputs = torch.tensor(test[feature_columns(test)].to_numpy(dtype=np.float32))
    rescored = float(((predict(model, inputs).numpy() - test[LABEL].to_numpy()) ** 2).mean())
    assert mine["metrics.final_test_mse"] == pytest.approx(rescored, rel=1e-5)
    assert mine["metrics.final_test_mse"] != runs.loc["cutoff", "metrics.final_test_mse"]
    logged = mlflow.search_logged_models(
        experiment_ids=[mine["experiment_id"]], filter_string=f"source_run_id = '{mine['run_id']}'"
    )
    served_model = mlflow.pyfunc.load_model(f"models:/{logged.iloc[0]['model_id']}")
    logged_network = served_model.unwrap_python_model().model.predictor.network
    for saved, served in zip(model.parameters(), logged_network.parameters(), strict=True):
        assert torch.equal(saved.cpu(), served.cpu())


KILLED_DURING_NOISE_SAVE = """
import io, json, os, signal, sys
from pathlib import Path
import pandas as pd
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

write_parquet = pd.DataFrame.to_parquet

def half_then_killed(frame, target, *args, **kwargs):
    if "y_noisy" not in frame.columns:
        return write_parquet(frame, target, *args, **kwargs)
    buffer = io.BytesIO()
    write_parquet(frame, buffer, *args, **kwargs)
    target.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    target.flush()
    os.kill(os.getpid(), signal.SIGKILL)

pd.DataFrame.to_parquet = half_then_killed
bootstrap_project(Path.cwd())
with KedroSession.create(project_path=Path.cwd(), runtime_params=json.loads(sys.argv[1])) as s:
    s.run(pipeline_names=["ingest", "noise"])
"""


def kill_during_noise_save(project: Path, params: dict[str, Any]) -> None:
    """A real ingest + noise run, SIGKILLed half-way through writing ``noisy_train``."""
    params = {**params, "mlflow_tracking_uri": tracking_uri(project)}
    killed = subprocess.run([sys.executable, "-c", KILLED_DURING_NOISE_SAVE, json.dumps(params)],
                            cwd=project, env=ENV, capture_output=True, check=False)  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]


def test_a_run_killed_while_saving_leaves_no_loadable_version(
    project: Path, wine_params: dict[str, Any]
) -> None:
    kill_during_noise_save(project, wine_params)
    (partial,) = (project / "data/05_model_input/wine/noisy_train.parquet").glob("*/.*.partial")
    assert partial.stat().st_size > 0
    assert noisy_versions(project, "wine") == []
    with pytest.raises(MissingVersionError, match="noisy_train has no complete version"):
        run_kedro(project, ["train"], **wine_params)
    run_kedro(project, ["ingest", "noise"], **wine_params)
    (complete,) = noisy_versions(project, "wine")
    kill_during_noise_save(project, wine_params)
    run_kedro(project, ["train"], **wine_params, **QUICK_TRAINING)
    assert list(training_runs(project)["tags.noisy_train_version"]) == [complete.parent.name]
