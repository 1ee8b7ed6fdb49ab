"""The UTKFace image cache: name parsing, parallel decoding, skipping bad files, reuse."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from biv_pipeline.data.images import (
    IMAGE_KEY,
    MAX_IMAGE_SIZE,
    build_image_cache,
    channel_statistics,
    channel_sums_path,
    open_image_cache,
    parse_utkface_names,
    subset_channel_statistics,
)
from biv_pipeline.errors import MissingDataError, ParameterError
from tests.conftest import copy_faces

SUBSET = 120


@pytest.fixture
def face_folder(shared_data: Path, tmp_path: Path) -> Path:
    """A temp copy of the first faces of the shared UTKFace sample."""
    return copy_faces(shared_data, tmp_path / "utkface", SUBSET)


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
    assert report.describe().startswith(
        "skipped 3 of 123 images: 1 with unparsable names (not_a_utkface_name.jpg); "
        "2 undecodable or non-RGB (30_1_2_20170116174525125.jpg.chip.jpg, "
    )


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


@pytest.mark.parametrize("size", [8, MAX_IMAGE_SIZE + 1, 4000, 64.0, True])
def test_image_sizes_out_of_range_are_refused_with_the_range(
    face_folder: Path, tmp_path: Path, size: object
) -> None:
    with pytest.raises(ParameterError) as raised:
        build_image_cache(face_folder, size, tmp_path / "cache", 2, 0.01)
    message = str(raised.value)
    assert message.startswith("image_size must be an integer from 16 to 512 pixels")
    assert message.endswith(f"; got {size!r}")
    assert "\n" not in message
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize("fraction", [-0.1, 1.5, "1%"])
def test_max_bad_fractions_outside_0_to_1_are_refused(
    face_folder: Path, tmp_path: Path, fraction: object
) -> None:
    with pytest.raises(ParameterError, match=r"ingest.max_bad_fraction must be .* from 0 .* to 1"):
        build_image_cache(face_folder, 32, tmp_path / "cache", 2, fraction)


def add_small_faces(face_folder: Path, count: int) -> list[str]:
    """``count`` real faces shrunk to 100 x 100, named to sort before the 200 x 200 ones."""
    source = sorted(face_folder.iterdir())[0]
    names = [f"100_0_0_2016010100000{index:04d}.jpg.chip.jpg" for index in range(count)]
    for name in names:
        Image.open(source).resize((100, 100)).save(face_folder / name)
    return names


def test_the_expected_size_is_the_most_common_not_the_first_files(
    face_folder: Path, tmp_path: Path
) -> None:
    (small,) = add_small_faces(face_folder, 1)
    assert sorted(p.name for p in face_folder.iterdir())[0] == small
    table, cache, report = build_image_cache(face_folder, 32, tmp_path / "cache", 2, 0.01)
    assert len(table) == SUBSET
    assert small not in set(table["file"])
    assert open_image_cache(cache.images).shape == (SUBSET, 3, 32, 32)
    assert (report.common_size, report.odd_sizes) == ((200, 200), {small: (100, 100)})
    assert report.describe() == (
        f"skipped 1 of {SUBSET + 1} images: 1 not 200x200 like most of them ({small} 100x100)"
    )


def test_too_many_odd_sizes_stop_naming_a_few_and_the_count(
    face_folder: Path, tmp_path: Path
) -> None:
    small = add_small_faces(face_folder, 7)
    with pytest.raises(MissingDataError) as raised:
        build_image_cache(face_folder, 32, tmp_path / "cache", 2, 0.05)
    message = str(raised.value)
    assert f"skipped 7 of {SUBSET + 7} images: 7 not 200x200 like most of them" in message
    assert f"({small[0]} 100x100, {small[1]} 100x100," in message
    assert f"{small[4]} 100x100 and 2 more)" in message
    assert small[5] not in message
    assert "5.51% of the files, more than ingest.max_bad_fraction = 5% allows" in message
    assert "\n" not in message
    assert not list((tmp_path / "cache").glob("*.npy"))


def test_one_odd_face_with_no_bad_file_allowed_names_it_and_the_limit(
    face_folder: Path, tmp_path: Path
) -> None:
    (small,) = add_small_faces(face_folder, 1)
    with pytest.raises(MissingDataError) as raised:
        build_image_cache(face_folder, 32, tmp_path / "cache", 2, 0.0)
    message = str(raised.value)
    assert f"1 not 200x200 like most of them ({small} 100x100)" in message
    assert "that is 0.826% of the files, more than ingest.max_bad_fraction = 0% allows" in message
    assert "\n" not in message


def test_a_folder_where_no_name_parses_says_no_image_is_usable(
    face_folder: Path, tmp_path: Path
) -> None:
    for index, path in enumerate(sorted(face_folder.iterdir())):
        path.rename(face_folder / f"face{index}.jpg")
    with pytest.raises(MissingDataError) as raised:
        build_image_cache(face_folder, 32, tmp_path / "cache", 2, 1.0)
    message = str(raised.value)
    assert f"no image is usable; skipped {SUBSET} of {SUBSET} images: {SUBSET} with" in message
    assert "unparsable names (face0.jpg, face1.jpg," in message
    assert "\n" not in message


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


def test_partial_caches_of_killed_runs_are_removed_by_the_next_build(
    face_folder: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Partial files whose writer no longer runs (a finished process, or an earlier version
    that put no process id in the name) go, with a line saying how much; a running
    writer's stays."""
    cache = tmp_path / "cache"
    cache.mkdir()
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True
    )
    dead = cache / f"images_32px_0123abcd.{int(ended.stdout)}.partial.npy"
    old = cache / "images_64px_4567cdef.partial.npy"
    running = cache / f"images_32px_89abcdef.{os.getppid()}.partial.npy"
    for path in (dead, old, running):
        path.write_bytes(bytes(1_500_000))
    build_image_cache(face_folder, 32, cache, 2, 0.01)
    assert not dead.exists() and not old.exists()
    assert running.exists()
    assert not list(cache.glob(f"*.{os.getpid()}.partial.npy"))  # this run's own, renamed
    assert f"removed 2 partial files (3.0 MB) in {cache} left by runs killed" in caplog.text
