"""Raw datasets: the declared Wine and Bike tables, the verified download, the generator."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from biv_pipeline.datasets import (
    LABEL,
    SourceOptions,
    dataset_names,
    get_dataset,
    make_synthetic,
)
from biv_pipeline.errors import ParameterError
from biv_pipeline.tables import download_archive

DECLARATIONS = Path(__file__).resolve().parents[1] / "conf" / "base" / "parameters_datasets.yml"
DATASETS = yaml.safe_load(DECLARATIONS.read_text())["datasets"]
WINE_SHA256 = DATASETS["wine"]["download"]["sha256"]
BIKE_WEATHER = {"clear": 1, "cloudy/misty": 2, "light rain/snow": 3, "heavy rain/snow": 4}


def load(name: str, data_dir: Path, declarations: dict = DATASETS, **options) -> pd.DataFrame:
    return get_dataset(name, declarations).load(SourceOptions(data_dir=data_dir, **options))


def with_url(url: str) -> dict:
    """The declarations, with Wine downloaded from ``url``."""
    wine = {**DATASETS["wine"], "download": {"url": url, "sha256": WINE_SHA256}}
    return {**DATASETS, "wine": wine}


def wine_zip(shared_data: Path, target: Path, tamper: bool = False) -> str:
    """A local copy of the UCI archive layout, served as a file:// URL."""
    archive = target / "wine+quality.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for name in ("winequality-red.csv", "winequality-white.csv"):
            data = (shared_data / "wine" / name).read_bytes()
            zipped.writestr(name, data + (b"1;2;3\n" if tamper else b""))
    return archive.as_uri()


def test_wine_has_both_colours_eleven_features_and_quality(shared_data: Path) -> None:
    frame = load("wine", shared_data, download=False)
    assert frame.shape == (6497, 12)
    assert frame.attrs["rows_missing_label"] == 0
    assert frame[LABEL].between(3, 9).all()
    assert frame[LABEL].value_counts()[6] == 638 + 2198


def test_missing_wine_files_without_download_say_where_to_put_them(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"wine/winequality-red.csv.*download is false"):
        load("wine", tmp_path, download=False)


def test_missing_wine_files_are_downloaded_and_verified(shared_data: Path, tmp_path: Path) -> None:
    url = wine_zip(shared_data, tmp_path)
    frame = load("wine", tmp_path / "raw", with_url(url))
    assert len(frame) == 6497
    placed = (tmp_path / "raw" / "wine" / "winequality-white.csv").read_bytes()
    assert placed == (shared_data / "wine" / "winequality-white.csv").read_bytes()


def test_a_download_with_the_wrong_checksum_is_refused(shared_data: Path, tmp_path: Path) -> None:
    url = wine_zip(shared_data, tmp_path, tamper=True)
    with pytest.raises(ValueError, match="SHA-256"):
        download_archive(tmp_path / "raw", url, WINE_SHA256)
    assert not (tmp_path / "raw" / "winequality-red.csv").exists()


def test_an_unreachable_download_explains_the_manual_route(tmp_path: Path) -> None:
    url = (tmp_path / "nowhere.zip").as_uri()
    with pytest.raises(FileNotFoundError, match=r"put winequality-red.csv and winequality-white"):
        download_archive(tmp_path / "raw", url, WINE_SHA256)


def test_synthetic_is_deterministic_and_follows_its_formula() -> None:
    frame = make_synthetic(500, 4, seed=3)
    assert frame.equals(make_synthetic(500, 4, seed=3))
    x = frame[[f"x{j}" for j in range(4)]].to_numpy()
    expected = np.sin(2 * x[:, 0]) + 0.5 * x[:, 1] ** 2 + (x[:, 2] + x[:, 3]) / 2
    np.testing.assert_allclose(frame[LABEL], expected)


def test_unknown_dataset_lists_the_known_ones() -> None:
    assert dataset_names(DATASETS) == ["synthetic", "utkf", "wine", "bike"]
    with pytest.raises(
        ValueError, match=r"dataset must be one of synthetic, utkf, wine, bike .*; got 'mnist'"
    ):
        get_dataset("mnist", DATASETS)


def test_bike_has_the_originals_features_and_never_the_label_parts(shared_data: Path) -> None:
    frame = load("bike", shared_data)
    raw = pd.read_csv(shared_data / "bike" / "Bikeshare.csv")
    assert len(frame) == 8645
    np.testing.assert_array_equal(frame[LABEL], raw["casual"] + raw["registered"])
    assert not {"casual", "registered", "season", "mnth", "bikers"} & set(frame)
    np.testing.assert_allclose(frame["hr_sin"], np.sin(2 * np.pi * raw["hr"] / 24))
    np.testing.assert_allclose(frame["day_cos"], np.cos(2 * np.pi * raw["day"] / 365))
    weekdays = frame[[f"weekday_{day}" for day in range(7)]].to_numpy()
    np.testing.assert_array_equal(weekdays.argmax(axis=1), raw["weekday"])
    np.testing.assert_array_equal(frame["weathersit"], raw["weathersit"].map(BIKE_WEATHER))
    assert frame.attrs["source"]["label"] == "bikers"
    assert get_dataset("bike", DATASETS).default_split(len(frame)) == (6916, 1729)


def test_bike_reads_the_uci_hour_layout_the_same_way(shared_data: Path, tmp_path: Path) -> None:
    """hour.csv: label cnt, a date instead of the day of the year, weathersit as 1-4."""
    raw = pd.read_csv(shared_data / "bike" / "Bikeshare.csv").head(500)
    dates = pd.Timestamp("2011-01-01") + pd.to_timedelta(raw["day"] - 1, unit="D")
    uci = raw.drop(columns=["day", "bikers"]).assign(
        instant=range(1, len(raw) + 1),
        dteday=dates.dt.strftime("%Y-%m-%d"),
        yr=0,
        mnth=dates.dt.month,
        weathersit=raw["weathersit"].map(BIKE_WEATHER),
        cnt=raw["bikers"],
    )
    (tmp_path / "bike").mkdir()
    uci.to_csv(tmp_path / "bike" / "hour.csv", index=False)
    (tmp_path / "bike" / "Bikeshare.csv").write_text(raw.to_csv(index=False))
    declarations = {**DATASETS, "bike": {**DATASETS["bike"], "files": ["bike/hour.csv"]}}
    from_uci = load("bike", tmp_path, declarations)
    pd.testing.assert_frame_equal(from_uci, load("bike", tmp_path), check_like=False)


def test_a_declared_table_drops_and_counts_rows_without_a_label(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("a,colour,y2\n1,red,1.0\n2,blue,\n3,blue,3.5\n")
    declared = {"t": {"kind": "csv", "files": ["t.csv"], "label": "y2", "categorical": "colour"}}
    frame = load("t", tmp_path, declared)
    assert list(frame.columns) == ["a", "colour_blue", "colour_red", LABEL]
    assert frame[LABEL].tolist() == [1.0, 3.5]
    assert frame["colour_red"].tolist() == [1.0, 0.0]
    assert (frame.attrs["rows_read"], frame.attrs["rows_missing_label"]) == (3, 1)


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"label": "y2"}, r"datasets.t.files is required"),
        ({"files": ["t.csv"], "label": "y2", "colour": 1}, r"unknown settings \['colour'\]"),
        ({"files": ["t.csv"], "label": "y2", "split": [0.9, 0.3]}, r"datasets.t.split must be"),
        ({"files": ["t.csv"], "label": "y2", "cyclic": {"a": 0}}, r"cyclic.a must be a period"),
        ({"files": ["t.csv"], "label": "z"}, r"datasets.t.label names columns \['z'\]"),
        ({"files": ["t.csv"], "label": "y2"}, r"column 'colour' is not numeric.*categorical"),
        ({"files": ["u.csv"], "label": "y2"}, r"has no u.csv, which datasets.t.files names"),
    ],
)
def test_a_bad_declaration_names_the_setting(tmp_path: Path, block: dict, message: str) -> None:
    (tmp_path / "t.csv").write_text("a,colour,y2\n1,red,1.0\n")
    with pytest.raises((ParameterError, FileNotFoundError), match=message):
        load("t", tmp_path, {"t": {"kind": "csv", **block}})


def test_the_synthetic_split_scales_with_the_samples_generated() -> None:
    split = get_dataset("synthetic").default_split
    assert split(5000) == (4000, 1000)  # the original's sizes at the default 5000 rows
    assert split(600) == (480, 120)
