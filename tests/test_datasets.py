"""Raw datasets: the real Wine files, the verified download, the synthetic generator."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from biv_pipeline.datasets import (
    DATASETS,
    LABEL,
    SourceOptions,
    download_wine,
    get_dataset,
    make_synthetic,
)


def wine_zip(shared_data: Path, target: Path, tamper: bool = False) -> str:
    """A local copy of the UCI archive layout, served as a file:// URL."""
    archive = target / "wine+quality.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for name in ("winequality-red.csv", "winequality-white.csv"):
            data = (shared_data / "wine" / name).read_bytes()
            zipped.writestr(name, data + (b"1;2;3\n" if tamper else b""))
    return archive.as_uri()


def test_wine_has_both_colours_eleven_features_and_quality(shared_data: Path) -> None:
    frame = get_dataset("wine").load(SourceOptions(data_dir=shared_data, download=False))
    assert frame.shape == (6497, 12)
    assert frame[LABEL].between(3, 9).all()
    assert frame[LABEL].value_counts()[6] == 638 + 2198


def test_missing_wine_files_without_download_say_where_to_put_them(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"wine/winequality-red.csv"):
        get_dataset("wine").load(SourceOptions(data_dir=tmp_path, download=False))


def test_missing_wine_files_are_downloaded_and_verified(shared_data: Path, tmp_path: Path) -> None:
    url = wine_zip(shared_data, tmp_path)
    frame = get_dataset("wine").load(SourceOptions(data_dir=tmp_path / "raw", wine_url=url))
    assert len(frame) == 6497
    placed = (tmp_path / "raw" / "wine" / "winequality-white.csv").read_bytes()
    assert placed == (shared_data / "wine" / "winequality-white.csv").read_bytes()


def test_a_download_with_the_wrong_checksum_is_refused(shared_data: Path, tmp_path: Path) -> None:
    url = wine_zip(shared_data, tmp_path, tamper=True)
    with pytest.raises(ValueError, match="SHA-256"):
        download_wine(tmp_path / "raw", url)
    assert not (tmp_path / "raw" / "winequality-red.csv").exists()


def test_an_unreachable_download_explains_the_manual_route(tmp_path: Path) -> None:
    url = (tmp_path / "nowhere.zip").as_uri()
    with pytest.raises(FileNotFoundError, match=r"put winequality-red.csv and winequality-white"):
        download_wine(tmp_path / "raw", url)


def test_synthetic_is_deterministic_and_follows_its_formula() -> None:
    frame = make_synthetic(500, 4, seed=3)
    assert frame.equals(make_synthetic(500, 4, seed=3))
    x = frame[[f"x{j}" for j in range(4)]].to_numpy()
    expected = np.sin(2 * x[:, 0]) + 0.5 * x[:, 1] ** 2 + (x[:, 2] + x[:, 3]) / 2
    np.testing.assert_allclose(frame[LABEL], expected)


def test_unknown_dataset_lists_the_known_ones() -> None:
    with pytest.raises(
        ValueError, match=f"dataset must be one of {', '.join(DATASETS)}; got 'mnist'"
    ):
        get_dataset("mnist")
