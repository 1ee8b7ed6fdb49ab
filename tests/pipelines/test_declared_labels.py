"""Your own noisy labels end to end: one `kedro run` per way of declaring them (a std, repeated
measurements, a clean label, an image index), on tables the tests make from the Wine CSVs and
on a few UTKFace images."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import first_faces
from tests.pipelines.conftest import QUICK_TRAINING, noisy_versions, run_kedro, training_runs

WINE_FILES = ("winequality-red.csv", "winequality-white.csv")
FACES = 60


def write_declared_wine(shared_data: Path, folder: Path) -> pd.DataFrame:
    """The Wine table with a bimodal per-row std, a noisy quality drawn with it, the clean
    quality, and three repeated noisy readings of it."""
    wine = pd.concat(
        [pd.read_csv(shared_data / "wine" / name, sep=";") for name in WINE_FILES],
        ignore_index=True,
    )
    rng = np.random.default_rng(0)
    std = np.where(rng.random(len(wine)) < 0.5, 0.2, 2.0)
    wine["noisy_quality"] = wine["quality"] + std * rng.standard_normal(len(wine))
    wine["sd"] = std
    for repeat in ("r1", "r2", "r3"):
        wine[repeat] = wine["quality"] + std * rng.standard_normal(len(wine))
    (folder / "declared").mkdir(parents=True)
    wine.to_csv(folder / "declared" / "wine.csv", index=False)
    return wine


def declare(project: Path, **blocks: dict) -> None:
    """Declare ``blocks`` in the project's conf/local, as a user would."""
    text = yaml.safe_dump({"datasets": blocks})
    (project / "conf" / "local" / "parameters_datasets.yml").write_text(text)


def table(**settings: object) -> dict:
    return {"kind": "csv", "files": ["declared/wine.csv"], "split": [0.6, 0.4], **settings}


def only_run(project: Path) -> dict:
    (run,) = training_runs(project).to_dict("records")
    assert run["status"] == "FINISHED"
    return run


def test_a_declared_std_trains_on_the_noisy_labels_and_scores_an_estimate(
    project: Path, shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    wine = write_declared_wine(shared_data, tmp_path)
    never = ["quality", "r1", "r2", "r3"]
    declare(project, wine_std=table(label="noisy_quality", std="sd", drop=never))
    run_kedro(project, dataset="wine_std", data_dir=str(tmp_path), **QUICK_TRAINING)
    (version,) = noisy_versions(project, "wine_std")
    noisy = pd.read_parquet(version)
    assert not {*never, "sd", "noisy_quality"} & set(noisy.columns)
    stats_std = wine["noisy_quality"].iloc[noisy.index].std(ddof=0)
    expected = wine["sd"].iloc[noisy.index].to_numpy() ** 2 / stats_std**2
    np.testing.assert_allclose(noisy["variance"], expected)
    assert noisy.attrs["noise_source"] == "declared"
    run = only_run(project)
    assert "metrics.final_test_mse" not in run or np.isnan(run["metrics.final_test_mse"])
    assert run["metrics.final_test_mse_clean_est_se"] > 0
    assert run["tags.headline_metric"] == "final_test_mse_clean_est"
    assert run["params.data.noise_source"] == "declared"
    summary = capsys.readouterr().out
    assert "final test MSE, estimated from the noisy labels" in summary
    assert "headline metric" in summary and "final_test_mse_clean_est" in summary


def test_repeated_measurements_train_on_their_mean(
    project: Path, shared_data: Path, tmp_path: Path
) -> None:
    wine = write_declared_wine(shared_data, tmp_path)
    repeats = ["r1", "r2", "r3"]
    declare(project, wine_rep=table(repeats=repeats, drop=["quality", "noisy_quality", "sd"]))
    run_kedro(project, dataset="wine_rep", data_dir=str(tmp_path), **QUICK_TRAINING)
    noisy = pd.read_parquet(noisy_versions(project, "wine_rep")[0])
    mean = wine[repeats].mean(axis=1).iloc[noisy.index]
    np.testing.assert_allclose(noisy["y_noisy"], (mean - mean.mean()) / mean.std(ddof=0))
    run = only_run(project)
    assert run["params.data.source.repeats"] == str(repeats)
    assert np.isfinite(run["metrics.final_test_mse_clean_est"])


def test_a_declared_clean_label_gives_the_clean_test_mse_as_the_headline(
    project: Path, shared_data: Path, tmp_path: Path
) -> None:
    write_declared_wine(shared_data, tmp_path)
    block = table(label="noisy_quality", std="sd", clean_label="quality", drop=["r1", "r2", "r3"])
    declare(project, wine_clean=block)
    run_kedro(project, dataset="wine_clean", data_dir=str(tmp_path), **QUICK_TRAINING)
    run = only_run(project)
    assert run["tags.headline_metric"] == "final_test_mse"
    assert np.isfinite(run["metrics.final_test_mse"])
    assert run["metrics.final_test_mse_noisy"] > run["metrics.final_test_mse"]


def write_face_index(shared_data: Path, folder: Path) -> None:
    """A few UTKFace images in a folder beside an index of their age, a std and the age."""
    (folder / "ages" / "faces").mkdir(parents=True)
    rng = np.random.default_rng(0)
    rows = []
    for index, source in enumerate(first_faces(shared_data, FACES)):
        name = f"faces/{index:03d}.jpg"
        shutil.copy(source, folder / "ages" / name)
        age, std = float(source.name.split("_")[0]), rng.uniform(1.0, 6.0)
        rows.append({"image": name, "mean": age + std * rng.normal(), "std": std, "age": age})
    pd.DataFrame(rows).to_csv(folder / "ages" / "labels.csv", index=False)


def test_an_image_index_trains_the_cnn_on_its_faces(
    project: Path, shared_data: Path, tmp_path: Path
) -> None:
    write_face_index(shared_data, tmp_path)
    block = {"kind": "images", "index": "ages/labels.csv", "file": "image", "label": "mean"}
    declare(project, ages={**block, "std": "std", "split": [45, 15]})
    run_kedro(project, dataset="ages", data_dir=str(tmp_path), image_size=32, **QUICK_TRAINING)
    run = only_run(project)
    assert run["params.train.model"] == "vanilla_cnn"
    assert run["params.data.train_rows"] == "45"
    assert np.isfinite(run["metrics.final_test_mse_clean_est"])
    assert run["tags.headline_metric"] == "final_test_mse_clean_est"
    cache = project / "data" / "02_intermediate" / "ages"
    assert len(list(cache.glob("images_32px_*.npy"))) == 2  # the images and their channel sums
