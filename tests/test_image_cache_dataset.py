"""The image cache as a catalog dataset: declared once, written by ingest, read by train."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from kedro.config import OmegaConfigLoader

from biv_pipeline.catalog.image_cache import ImageCacheDataset
from biv_pipeline.catalog.names import IMAGE_CACHE
from biv_pipeline.data.images import IMAGE_KEY, ImageSource
from biv_pipeline.errors import MissingDataError
from biv_pipeline.pipelines.ingest import create_pipeline as ingest_pipeline
from biv_pipeline.pipelines.train import create_pipeline as train_pipeline
from biv_pipeline.tracking.contract import yaml_setting
from tests.conftest import REPO_ROOT, copy_faces

FACES = 20


@pytest.fixture
def source(shared_data: Path, tmp_path: Path) -> ImageSource:
    """The first faces of the shared UTKFace sample (copied), to cache at 32 pixels."""
    return ImageSource.scan(copy_faces(shared_data, tmp_path / "utkface", FACES), 32, 2, 0.01)


def test_ingest_writes_the_image_cache_and_train_reads_it() -> None:
    assert IMAGE_CACHE in ingest_pipeline().all_outputs()
    train = train_pipeline()
    assert IMAGE_CACHE in train.inputs()
    readers = {node.name for node in train.nodes if IMAGE_CACHE in node.inputs}
    assert readers == {"estimate_label_heterogeneity", "train_model", "predict_test_set"}


def test_the_catalog_declares_the_cache_under_ingest_cache_dir_in_a_viz_layer() -> None:
    def entry(runtime_params: dict) -> dict:
        loader = OmegaConfigLoader(
            str(REPO_ROOT / "conf"), base_env="base", default_run_env="base",
            runtime_params=runtime_params, custom_resolvers={"tracking": yaml_setting},
        )  # fmt: skip
        return loader["catalog"][IMAGE_CACHE]

    default = entry({"dataset": "utkf"})
    assert default["type"] == "biv_pipeline.catalog.image_cache.ImageCacheDataset"
    assert default["metadata"]["kedro-viz"]["layer"] == "raw"
    assert default["folder"] == "data/02_intermediate/utkf"
    moved = entry({"dataset": "utkf", "ingest": {"cache_dir": "/scratch/faces"}})
    assert moved["folder"] == "/scratch/faces/utkf"


def test_a_table_has_no_images_and_writes_nothing(tmp_path: Path) -> None:
    dataset = ImageCacheDataset(str(tmp_path / "cache"))
    dataset.save(None)
    assert dataset.load() is None
    assert not (tmp_path / "cache").exists()


def test_a_saved_folder_loads_memory_mapped_with_its_table(
    source: ImageSource, tmp_path: Path
) -> None:
    dataset = ImageCacheDataset(str(tmp_path / "cache"))
    dataset.save(source)
    cached = dataset.load()
    assert cached.key == source.key == dataset.key
    assert isinstance(cached.images, np.memmap)
    assert cached.images.shape == (FACES, 3, 32, 32)
    assert list(cached.table[IMAGE_KEY]) == list(range(FACES))
    assert cached.channel_sums.shape == (FACES, 2, 3)
    assert sorted(path.name for path in (tmp_path / "cache").iterdir()) == [
        f"{source.key}.json",
        f"{source.key}.npy",
        f"{source.key}_channel_sums.npy",
    ]


def test_a_cache_with_the_same_key_is_reused_not_decoded_again(
    source: ImageSource, tmp_path: Path
) -> None:
    ImageCacheDataset(str(tmp_path / "cache")).save(source)
    images = tmp_path / "cache" / f"{source.key}.npy"
    stamp = images.stat().st_mtime_ns
    ImageCacheDataset(str(tmp_path / "cache")).save(source)
    assert images.stat().st_mtime_ns == stamp


def test_a_pinned_key_loads_that_cache(source: ImageSource, tmp_path: Path) -> None:
    ImageCacheDataset(str(tmp_path / "cache")).save(source)
    pinned = ImageCacheDataset(str(tmp_path / "cache")).pinned(source.key)
    pinned.check()
    assert pinned.exists()
    assert pinned.load().images.shape == (FACES, 3, 32, 32)


def test_a_pinned_cache_that_is_gone_says_to_run_the_ingest_again(tmp_path: Path) -> None:
    pinned = ImageCacheDataset(str(tmp_path)).pinned("images_32px_0123456789abcdef")
    assert not pinned.exists()
    with pytest.raises(MissingDataError) as raised:
        pinned.check()
    assert str(raised.value) == (
        f"image cache {tmp_path / 'images_32px_0123456789abcdef.npy'} is missing: run the ingest "
        "pipeline again (`kedro run --pipelines=ingest --params dataset=utkf,...`)"
    )
