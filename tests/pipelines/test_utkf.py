"""UTKFace end to end on the shared 3,000-image sample, at CPU-friendly image sizes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from kedro.framework.hooks import hook_impl
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from biv_pipeline.catalog.names import IMAGE_CACHE
from tests.pipelines.conftest import (
    noisy_versions,
    normalisation_of,
    read_version,
    run_kedro,
    tracking_uri,
    training_runs,
)


@pytest.fixture
def utkf_params(shared_data: Path) -> dict:
    return {"dataset": "utkf", "data_dir": str(shared_data), "image_size": 32}


def cache_files(project: Path) -> list[Path]:
    """The decoded-image caches (not the channel sums stored beside each)."""
    folder = project / "data/02_intermediate/utkf"
    return sorted(path for path in folder.glob("images_*.npy") if "_channel_sums" not in path.name)


def test_ingest_caches_every_face_once_and_reuses_it(project: Path, utkf_params) -> None:
    run_kedro(project, ["ingest", "noise"], **utkf_params)
    (cache,) = cache_files(project)
    stamp = cache.stat().st_mtime_ns
    noisy = read_version(noisy_versions(project, "utkf")[-1])
    assert len(noisy) == 2400  # 80% of the 3,000-image sample
    assert {"image_index", "y", "gender", "race", "y_noisy", "variance"} <= set(noisy.columns)
    assert noisy["y"].abs().max() < 5  # ages are standardised
    run_kedro(project, ["ingest", "noise"], **utkf_params)
    assert cache_files(project) == [cache]
    assert cache.stat().st_mtime_ns == stamp


@pytest.mark.parametrize("model", ["vanilla_cnn", "resnet18"])
def test_one_epoch_trains_each_image_model(project: Path, utkf_params, model: str) -> None:
    run_kedro(project, ["ingest", "noise"], **utkf_params)
    run_kedro(
        project, ["train"], **utkf_params, model=model, epochs=1, loss="biv", epsilon="tau2_hat"
    )
    runs = training_runs(project)
    (name,) = runs["tags.mlflow.runName"]
    assert name.startswith(f"utkf-biv-epstau2_hat-{model}-p0.5-noise")
    run = runs.iloc[0]
    assert run["params.train.model"] == model
    # tau2_hat from a linear pilot fit of pooled channel means, the epsilon trained with
    assert run["metrics.epsilon_mean"] == pytest.approx(run["metrics.tau2_hat"], rel=1e-6)
    assert 0 < run["metrics.variance_share"] < 1
    assert run["params.data.dataset"] == "utkf"
    assert run["metrics.test_mse"] > 0
    assert run["metrics.final_test_rmse_raw"] == pytest.approx(
        run["metrics.test_mse"] ** 0.5 * _label_std(project), rel=1e-4
    )


def test_auto_model_is_the_vanilla_cnn_for_faces(project: Path, utkf_params) -> None:
    run_kedro(project, **utkf_params, epochs=1)
    run = training_runs(project).iloc[0]
    assert run["params.train.model"] == "vanilla_cnn"  # `model: auto`, resolved
    assert run["params.train.lr"] == "0.001"
    model_files = list((project / "data/06_models/utkf").glob("*/*/trained_model.pkl"))
    assert len(model_files) == 1


class ImageCacheLoads:
    """Records what the catalog loads as the image cache."""

    def __init__(self) -> None:
        self.loaded: list[Any] = []

    @hook_impl
    def after_dataset_loaded(self, dataset_name: str, data: Any) -> None:
        if dataset_name == IMAGE_CACHE:
            self.loaded.append(data)


def test_train_only_reads_through_the_catalog_the_cache_its_labels_were_made_with(
    project: Path, utkf_params
) -> None:
    run_kedro(project, ["ingest", "noise"], **utkf_params)
    key = read_version(noisy_versions(project, "utkf")[-1]).attrs["image_cache"]
    run_kedro(project, ["ingest"], **{**utkf_params, "image_size": 48})  # a newer cache
    assert len(cache_files(project)) == 2
    loads = ImageCacheLoads()
    bootstrap_project(project)
    # neither the image_size given nor the newest cache: the one the labels' rows index
    params = {**utkf_params, "image_size": 48, "epochs": 1}
    params["mlflow_tracking_uri"] = tracking_uri(project)
    with KedroSession.create(project_path=project, runtime_params=params) as session:
        session._hook_manager.register(loads)
        session.run(pipeline_names=["train"])
    # estimate_label_heterogeneity, train_model, predict_test_set
    assert [images.key for images in loads.loaded] == [key, key, key]
    for images in loads.loaded:
        assert isinstance(images.images, np.memmap)
        assert images.images.shape == (3000, 3, 32, 32)
    assert training_runs(project).iloc[0]["params.data.image_cache"] == key


def test_a_bad_image_size_is_named_before_decoding(project: Path, utkf_params) -> None:
    with pytest.raises(
        ValueError, match=r"image_size must be an integer from 16 to 512 pixels .*; got 4"
    ):
        run_kedro(project, **{**utkf_params, "image_size": 4})
    assert not cache_files(project)


def _label_std(project: Path) -> float:
    stats = normalisation_of(project, "utkf")
    return stats["label_std"]
