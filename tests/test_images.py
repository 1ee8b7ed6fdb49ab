"""The UTKFace image cache: name parsing, parallel decoding, skipping bad files, reuse."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from biv_pipeline.errors import MissingDataError, ParameterError
from biv_pipeline.images import (
    IMAGE_KEY,
    build_image_cache,
    channel_statistics,
    channel_sums_path,
    open_image_cache,
    parse_utkface_names,
    subset_channel_statistics,
)

SUBSET = 120


@pytest.fixture
def face_folder(shared_data: Path, tmp_path: Path) -> Path:
    """A temp copy of the first faces of the shared UTKFace sample."""
    folder = tmp_path / "utkface"
    folder.mkdir()
    for path in sorted((shared_data / "utkface").glob("*.jpg"))[:SUBSET]:
        shutil.copy(path, folder / path.name)
    return folder


def test_every_name_of_the_shared_sample_parses(shared_data: Path) -> None:
    names = sorted(path.name for path in (shared_data / "utkface").glob("*.jpg"))
    table, bad = parse_utkface_names(names)
    assert (len(table), bad) == (3000, [])
    assert table["y"].between(1, 116).all()
    assert table["y"].nunique() == 103
    first = table.iloc[0]
    assert first["file"].split("_")[:3] == [
        str(int(first["y"])),
        str(first["gender"]),
        str(first["race"]),
    ]


def test_decoded_cache_matches_pil(face_folder: Path, tmp_path: Path) -> None:
    table, cache, report = build_image_cache(face_folder, 200, tmp_path / "cache", 2, 0.01)
    images = open_image_cache(cache.images)
    assert images.shape == (SUBSET, 3, 200, 200)
    assert report.bad_fraction == 0
    row = table.iloc[7]
    expected = np.asarray(Image.open(face_folder / row["file"]).convert("RGB")).transpose(2, 0, 1)
    decoded = images[row[IMAGE_KEY]].astype(int)
    assert np.abs(decoded - expected).mean() < 2  # libjpeg builds may differ by rounding


def test_bad_names_and_corrupt_images_are_skipped_and_reported(
    face_folder: Path, tmp_path: Path
) -> None:
    good = sorted(face_folder.iterdir())
    shutil.copy(good[0], face_folder / "not_a_utkface_name.jpg")
    (face_folder / "30_1_2_20170116174525125.jpg.chip.jpg").write_bytes(b"not a jpeg at all")
    Image.new("L", (200, 200)).save(face_folder / "31_0_0_20170116174525126.jpg.chip.jpg")
    table, _, report = build_image_cache(face_folder, 32, tmp_path / "cache", 2, 0.05)
    assert len(table) == SUBSET
    assert report.bad_names == ["not_a_utkface_name.jpg"]
    assert sorted(report.bad_images) == [
        "30_1_2_20170116174525125.jpg.chip.jpg",
        "31_0_0_20170116174525126.jpg.chip.jpg",
    ]
    assert "skipped 1 files with unparsable names and 2 undecodable" in report.describe()


def test_too_many_bad_files_fail_with_the_limit(face_folder: Path, tmp_path: Path) -> None:
    (face_folder / "30_1_2_20170116174525125.jpg.chip.jpg").write_bytes(b"broken")
    with pytest.raises(MissingDataError, match=r"more than ingest\.max_bad_fraction = 0%"):
        build_image_cache(face_folder, 32, tmp_path / "cache", 2, 0.0)


def test_the_cache_is_reused_until_the_folder_changes(face_folder: Path, tmp_path: Path) -> None:
    _, first, _ = build_image_cache(face_folder, 32, tmp_path / "cache", 2, 0.01)
    stamp = first.images.stat().st_mtime_ns
    _, again, reused = build_image_cache(face_folder, 32, tmp_path / "cache", 2, 0.01)
    assert (again, reused) == (first, None)
    assert first.images.stat().st_mtime_ns == stamp
    next(face_folder.iterdir()).unlink()
    _, changed, rebuilt = build_image_cache(face_folder, 32, tmp_path / "cache", 2, 0.01)
    assert changed != first
    assert rebuilt is not None


def test_an_empty_folder_says_what_to_put_there(tmp_path: Path) -> None:
    with pytest.raises(MissingDataError, match=r"no \*\.jpg images"):
        build_image_cache(tmp_path, 32, tmp_path / "cache", 2, 0.01)


def test_tiny_image_sizes_are_refused(face_folder: Path, tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="image_size must be an integer >= 16; got 8"):
        build_image_cache(face_folder, 8, tmp_path / "cache", 2, 0.01)


def test_channel_statistics_match_a_float64_reference() -> None:
    images = np.random.default_rng(0).integers(0, 256, size=(50, 3, 8, 8), dtype=np.uint8)
    mean, std = channel_statistics(images, chunk=7)
    scaled = images.astype(np.float64) / 255
    np.testing.assert_allclose(mean, scaled.mean(axis=(0, 2, 3)))
    np.testing.assert_allclose(std, scaled.std(axis=(0, 2, 3)))


def test_statistics_of_a_subset_from_the_cached_sums_equal_channel_statistics(
    face_folder: Path, tmp_path: Path
) -> None:
    _, cache, _ = build_image_cache(face_folder, 32, tmp_path / "cache", 2, 0.01)
    images = open_image_cache(cache.images)
    rows = np.random.default_rng(0).choice(len(images), size=SUBSET // 2, replace=False)
    mean, std = subset_channel_statistics(np.load(cache.sums), rows, 32 * 32)
    expected_mean, expected_std = channel_statistics(images[np.sort(rows)])
    np.testing.assert_allclose(mean, expected_mean, rtol=1e-12)
    np.testing.assert_allclose(std, expected_std, rtol=1e-12)


def test_a_cache_made_without_sums_gets_them_when_reused(face_folder: Path, tmp_path: Path) -> None:
    _, cache, _ = build_image_cache(face_folder, 32, tmp_path / "cache", 2, 0.01)
    expected = np.load(cache.sums)
    cache.sums.unlink()
    _, again, reused = build_image_cache(face_folder, 32, tmp_path / "cache", 2, 0.01)
    assert reused is None  # not decoded again
    assert again.sums == channel_sums_path(cache.images)
    np.testing.assert_array_equal(np.load(again.sums), expected)
