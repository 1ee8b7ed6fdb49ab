"""Tables declared in YAML only run end to end; the logged model serves raw rows."""

from __future__ import annotations

import json
import re
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from biv_pipeline.errors import RawRowError
from tests.pipelines.conftest import (
    QUICK_TRAINING,
    noisy_versions,
    run_kedro,
    training_runs,
    versioned_file,
)

TOY_ROWS = 400
TOY = {
    "kind": "csv",
    "files": ["toy/readings.csv"],
    "label": "reading",
    "drop": ["station"],
    "categorical": ["colour"],
    "cyclic": {"hour": 24},
    "split": [300, 99],
}


def write_toy_table(folder: Path) -> None:
    """A label with one missing value, a text category, an hour of the day, a dropped id."""
    rng = np.random.default_rng(0)
    hour = rng.integers(0, 24, TOY_ROWS)
    colour = rng.choice(["red", "green", "blue"], TOY_ROWS)
    x = rng.normal(size=TOY_ROWS)
    reading = 10 + 3 * np.sin(2 * np.pi * hour / 24) + 2 * x + (colour == "red")
    frame = pd.DataFrame(
        {"station": range(TOY_ROWS), "hour": hour, "colour": colour, "x": x, "reading": reading}
    )
    frame.loc[5, "reading"] = np.nan
    (folder / "toy").mkdir(parents=True)
    frame.to_csv(folder / "toy" / "readings.csv", index=False)


@pytest.fixture
def toy_project(project: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The project with the toy table declared in conf/local only, and its data folder."""
    data_dir = tmp_path / "raw"
    write_toy_table(data_dir)
    declaration = yaml.safe_dump({"datasets": {"toy": TOY}})
    (project / "conf" / "local" / "parameters_datasets.yml").write_text(declaration)
    return project, data_dir


def test_a_table_declared_in_yaml_only_runs_ingest_noise_train(toy_project) -> None:
    project, data_dir = toy_project
    run_kedro(project, dataset="toy", data_dir=str(data_dir), **QUICK_TRAINING)
    (version,) = noisy_versions(project, "toy")
    noisy = pd.read_parquet(version)
    assert {"hour_sin", "hour_cos", "colour_red", "colour_blue", "x"} <= set(noisy.columns)
    assert not {"station", "hour", "colour", "reading"} & set(noisy.columns)
    assert noisy.attrs["rows_missing_label"] == 1
    (run,) = training_runs(project).to_dict("records")
    assert run["status"] == "FINISHED"
    assert run["tags.mlflow.runName"].startswith("toy-biv-eps0.5-vanilla_ann-p0.5-noise")
    assert (run["params.data.rows_read"], run["params.data.rows_missing_label"]) == ("400", "1")
    assert run["params.data.source.label"] == "reading"
    assert run["params.data.train_rows"] == "300"


def test_a_local_declaration_adds_to_the_base_ones(toy_project) -> None:
    project, _ = toy_project
    bootstrap_project(project)
    with KedroSession.create(project_path=project) as session:
        declared = session.load_context().params["datasets"]
    assert {"wine", "bike", "toy"} <= set(declared)


def test_the_logged_model_predicts_raw_rows_in_raw_units(toy_project) -> None:
    """pyfunc on the raw file's test rows (text colour, integer hour) reproduces the run's
    final_test_rmse_raw, and rows it never saw are refused in one line naming the column."""
    project, data_dir = toy_project
    run_kedro(project, dataset="toy", data_dir=str(data_dir), **QUICK_TRAINING)
    (run,) = training_runs(project).to_dict("records")
    made_from = run["tags.ingest_version"]
    stats = json.loads(
        versioned_file(project, "03_primary", "toy", "normalisation.json", made_from).read_text()
    )
    test = pd.read_parquet(versioned_file(project, "03_primary", "toy", "test.parquet", made_from))
    raw_file = pd.read_csv(data_dir / "toy" / "readings.csv")
    # the raw line of each test row, found by its value of x (continuous, so unique)
    x = test["x"] * stats["feature_std"]["x"] + stats["feature_mean"]["x"]
    lines = [int(np.argmin(np.abs(raw_file["x"].to_numpy() - value))) for value in x]
    raw_rows = raw_file.loc[lines, ["hour", "colour", "x"]].reset_index(drop=True)
    assert raw_rows["hour"].dtype.kind == "i"
    assert not pd.api.types.is_numeric_dtype(raw_rows["colour"])  # text
    (model_id,) = mlflow.search_logged_models(experiment_ids=[run["experiment_id"]])["model_id"]
    model = mlflow.pyfunc.load_model(f"models:/{model_id}")
    predictions = np.asarray(model.predict(raw_rows)).ravel()
    errors = predictions - raw_file.loc[lines, "reading"].to_numpy()
    assert float(np.sqrt(np.mean(errors**2))) == pytest.approx(
        run["metrics.final_test_rmse_raw"], rel=1e-4
    )
    assert model.metadata.saved_input_example_info is not None
    refused = {
        "column 'colour' holds 'purple', not seen in training": raw_rows.assign(colour="purple"),
        "missing 'hour'": raw_rows.drop(columns="hour"),
        "unknown 'station'": raw_rows.assign(station=1),
        "column 'x' holds missing values (NaN)": raw_rows.assign(x=np.nan),
        "column 'x' holds infinite values": raw_rows.assign(x=np.inf),
    }
    for message, rows in refused.items():
        with pytest.raises(RawRowError, match=re.escape(message)) as error:
            model.predict(rows)
        assert "\n" not in str(error.value)


def test_bike_runs_end_to_end_on_the_shared_file(project: Path, shared_data: Path) -> None:
    run_kedro(project, dataset="bike", data_dir=str(shared_data), epochs=1)
    (run,) = training_runs(project).to_dict("records")
    assert run["status"] == "FINISHED"
    assert (run["params.data.train_rows"], run["params.data.test_rows"]) == ("6916", "1729")
    assert run["params.data.source.files"] == "['bike/Bikeshare.csv']"
    assert run["metrics.final_test_mse"] < 1.0  # better than predicting the training mean
