"""Raw datasets: the declared Wine and Bike tables, the verified download, the generator."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from biv_pipeline.data.download import download_archive
from biv_pipeline.data.registry import (
    LABEL,
    SourceOptions,
    dataset_names,
    get_dataset,
    make_synthetic,
    register_datasets,
)
from biv_pipeline.errors import MissingDataError, ParameterError

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


# --- bad data files: one clear line naming the file, the column and the lines -------------

RED, WHITE = "winequality-red.csv", "winequality-white.csv"
ALCOHOL = 10  # position of "alcohol" among the wine columns
QUALITY = 11  # position of the label
WINE_FEATURES = [
    "fixed acidity",
    "volatile acidity",
    "citric acid",
    "residual sugar",
    "chlorides",
    "free sulfur dioxide",
    "total sulfur dioxide",
    "density",
    "pH",
    "sulphates",
    "alcohol",
]


def wine_copy(shared_data: Path, target: Path) -> tuple[Path, Path]:
    """The two shared wine files copied under ``target/wine``, to be damaged."""
    (target / "wine").mkdir(parents=True)
    paths = []
    for name in (RED, WHITE):
        paths.append(target / "wine" / name)
        paths[-1].write_bytes((shared_data / "wine" / name).read_bytes())
    return paths[0], paths[1]


def edit_lines(path: Path, edit) -> None:
    """Rewrite ``path`` with ``edit(list of lines without line ends)``."""
    path.write_text("\n".join(edit(path.read_text().splitlines())) + "\n")


def set_cell(path: Path, line: int, column: int, value: str) -> None:
    """Put ``value`` into ``column`` (0-based) of the 1-based ``line`` of a ';' file."""

    def edit(lines: list[str]) -> list[str]:
        cells = lines[line - 1].split(";")
        cells[column] = value
        lines[line - 1] = ";".join(cells)
        return lines

    edit_lines(path, edit)


def without_column(path: Path, column: int) -> None:
    edit_lines(path, lambda lines: [";".join(np.delete(x.split(";"), column)) for x in lines])


def constant_label(path: Path) -> None:
    edit_lines(path, lambda lines: lines[:1] + [x.rsplit(";", 1)[0] + ";5" for x in lines[1:]])


def damage_missing_feature(red: Path, white: Path) -> None:
    without_column(red, ALCOHOL)
    without_column(white, ALCOHOL)


def damage_extra_column(red: Path, white: Path) -> None:
    edit_lines(white, lambda lines: [lines[0] + ';"colour"'] + [x + ";white" for x in lines[1:]])


def damage_non_numeric(red: Path, white: Path) -> None:
    set_cell(red, 3, ALCOHOL, "abc")
    set_cell(red, 8, ALCOHOL, "1,5")


def damage_blank_lines_then_text(red: Path, white: Path) -> None:
    edit_lines(red, lambda lines: [*lines[:3], "", "", *lines[3:]])
    set_cell(red, 9, ALCOHOL, "abc")


def damage_empty_cells(red: Path, white: Path) -> None:
    set_cell(white, 5, 2, "")
    set_cell(white, 9, 2, "NA")


def damage_comma_separated(red: Path, white: Path) -> None:
    edit_lines(red, lambda lines: [x.replace(";", ",") for x in lines])


def damage_duplicate_header(red: Path, white: Path) -> None:
    edit_lines(red, lambda lines: [lines[0].replace('"citric acid"', '"pH"'), *lines[1:]])


def damage_constant_label(red: Path, white: Path) -> None:
    constant_label(red)
    constant_label(white)


def damage_question_marks(red: Path, white: Path) -> None:
    set_cell(red, 3, ALCOHOL, "?")
    set_cell(red, 8, ALCOHOL, "?")


# (damage, declaration changes, error type, fragments the one-line message must hold)
BAD_WINE = {
    "a feature the declaration names is missing": (
        damage_missing_feature,
        {"features": WINE_FEATURES},
        ParameterError,
        [
            "datasets.wine.features names columns ['alcohol']",
            f"wine/{RED} does not have",
            "its columns: fixed acidity, volatile acidity",
        ],
    ),
    "the label column is missing": (
        lambda red, white: without_column(red, QUALITY),
        {},
        ParameterError,
        ["datasets.wine.label names columns ['quality']", f"wine/{RED} does not have"],
    ),
    "the white file lacks a column the red one has": (
        lambda red, white: without_column(white, ALCOHOL),
        {},
        ParameterError,
        [f"wine/{WHITE} lacks columns ['alcohol'] that", f"wine/{RED} has", "same columns"],
    ),
    "the white file has an extra column": (
        damage_extra_column,
        {},
        ParameterError,
        [f"wine/{WHITE} has columns ['colour'] that", f"wine/{RED} does not have"],
    ),
    "text in a numeric feature": (
        damage_non_numeric,
        {},
        ParameterError,
        [
            f"wine/{RED}: column 'alcohol' is not numeric",
            "not a finite number in 2 rows (line 3 'abc', line 8 '1,5')",
        ],
    ),
    "line numbers count blank lines": (
        damage_blank_lines_then_text,
        {},
        ParameterError,
        [f"wine/{RED}: column 'alcohol'", "in 1 row (line 9 'abc')"],
    ),
    "an infinite feature": (
        lambda red, white: set_cell(white, 10, 0, "inf"),
        {},
        ParameterError,
        [f"wine/{WHITE}: column 'fixed acidity' is not numeric", "(line 10 inf)"],
    ),
    "empty cells in a feature": (
        damage_empty_cells,
        {},
        ParameterError,
        [f"wine/{WHITE}: column 'citric acid' has missing values in 2 rows (lines 5, 9)"],
    ),
    "text in the label": (
        lambda red, white: set_cell(red, 5, QUALITY, "five"),
        {},
        ParameterError,
        [f"wine/{RED}: the label column 'quality' is not a finite number in 1 row (line 5 'five')"],
    ),
    "an empty file": (
        lambda red, white: white.write_bytes(b""),
        {},
        MissingDataError,
        [f"wine/{WHITE} has no data rows (the file is empty)"],
    ),
    "a header-only file": (
        lambda red, white: edit_lines(white, lambda lines: lines[:1]),
        {},
        MissingDataError,
        [f"wine/{WHITE} has no data rows (only a header)"],
    ),
    "a comma-separated file declared with ';'": (
        damage_comma_separated,
        {},
        ParameterError,
        [f"wine/{RED} looks ','-separated but the declaration says separator ';'"],
    ),
    "a tab-separated file declared with ';'": (
        lambda red, white: edit_lines(white, lambda lines: [x.replace(";", "\t") for x in lines]),
        {},
        ParameterError,
        [f"wine/{WHITE} looks '\\t'-separated but the declaration says separator ';'"],
    ),
    "a column name twice in the header": (
        damage_duplicate_header,
        {},
        ParameterError,
        [f"wine/{RED} has the column names ['pH'] more than once in its header"],
    ),
    "a row with too many fields": (
        lambda red, white: set_cell(red, 4, QUALITY, "5;7"),
        {},
        ParameterError,
        [f"wine/{RED} cannot be read as CSV with separator ';'", "Expected 12 fields in line 4"],
    ),
    "a constant label": (
        damage_constant_label,
        {},
        ParameterError,
        ["the label column 'quality' holds 5 in all 6497 rows of", "constant label"],
    ),
    "an absurd label": (
        lambda red, white: set_cell(white, 7, QUALITY, "1e308"),
        {},
        ParameterError,
        [
            "the label column 'quality': its standardisation overflows float64",
            f"wine/{WHITE} line 7 1e+308); fix those values in the file",
        ],
    ),
    "a label whose spread one row carries": (
        lambda red, white: set_cell(red, 5, QUALITY, "1e6"),
        {},
        ParameterError,
        [
            "the label column 'quality': its spread is dominated by a few rows: 1 row carries "
            "99.98% of its variance (the rule: its most extreme 1%, 65 rows here, may carry at "
            "most 90%)",
            f"wine/{RED} line 5 1000000.0)",
        ],
    ),
    "an absurd feature": (
        lambda red, white: set_cell(red, 9, 0, "-1e308"),
        {},
        ParameterError,
        [
            "column 'fixed acidity': its standardisation overflows float64",
            f"wine/{RED} line 9 -1e+308)",
        ],
    ),
    "a marker of missing values in a feature": (
        damage_question_marks,
        {},
        ParameterError,
        [
            f"wine/{RED}: column 'alcohol' is not numeric",
            "(line 3 '?', line 8 '?')",
            "'?' looks like a marker of a missing value: declare "
            "datasets.wine.missing_values: ['?']",
        ],
    ),
    "a marker of missing labels": (
        lambda red, white: [set_cell(red, line, QUALITY, "?") for line in (5, 6)],
        {},
        ParameterError,
        [
            "the label column 'quality' is not a finite number in 2 rows (line 5 '?', line 6 '?')",
            "declare datasets.wine.missing_values: ['?'] (rows without a label are dropped)",
        ],
    ),
}


def bad_wine_error(shared_data: Path, tmp_path: Path, case: str) -> pytest.ExceptionInfo:
    damage, changes, error, _ = BAD_WINE[case]
    damage(*wine_copy(shared_data, tmp_path))
    declared = {**DATASETS, "wine": {**DATASETS["wine"], **changes}}
    with pytest.raises(error) as raised:
        load("wine", tmp_path, declared, download=False)
    return raised


@pytest.mark.parametrize("case", BAD_WINE)
def test_a_bad_wine_file_is_named_with_its_column_and_lines(
    shared_data: Path, tmp_path: Path, case: str
) -> None:
    message = str(bad_wine_error(shared_data, tmp_path, case).value)
    for fragment in BAD_WINE[case][3]:
        assert fragment in message


@pytest.mark.parametrize("case", BAD_WINE)
def test_a_bad_wine_file_is_reported_in_one_line(
    shared_data: Path, tmp_path: Path, case: str
) -> None:
    message = str(bad_wine_error(shared_data, tmp_path, case).value)
    assert "\n" not in message
    assert message.startswith("datasets.wine")


def test_rows_without_a_label_are_dropped_with_a_warning_naming_their_lines(
    shared_data: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    red, white = wine_copy(shared_data, tmp_path)
    set_cell(red, 5, QUALITY, "")
    set_cell(white, 9, QUALITY, "")
    frame = load("wine", tmp_path, download=False)
    assert (len(frame), frame.attrs["rows_missing_label"]) == (6495, 2)
    assert not frame.isna().any().any()
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "dropped 2 of 6497 rows with a missing label 'quality'" in warning
    assert f"wine/{RED} line 5; " in warning
    assert f"wine/{WHITE} line 9)" in warning


def test_a_missing_feature_in_a_row_without_a_label_is_dropped_with_it(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("a,b,y\n1,2,1.0\n,3,\n3,4,3.5\n")
    frame = load("t", tmp_path, {"t": {"kind": "csv", "files": ["t.csv"], "label": "y"}})
    assert frame["a"].tolist() == [1.0, 3.0]


def test_a_table_where_no_row_has_a_label_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("a,y\n1,\n2,\n")
    with pytest.raises(MissingDataError, match=r"every row of .*t\.csv has a missing label 'y'"):
        load("t", tmp_path, {"t": {"kind": "csv", "files": ["t.csv"], "label": "y"}})


def test_text_in_a_categorical_column_is_allowed_but_an_empty_cell_is_not(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("colour,y\nred,1\n,2\nblue,3\n")
    declared = {"t": {"kind": "csv", "files": ["t.csv"], "label": "y", "categorical": "colour"}}
    with pytest.raises(
        ParameterError, match=r"column 'colour' has missing values in 1 row \(line 3\)"
    ):
        load("t", tmp_path, declared)


def test_a_marker_of_missing_values_is_not_sent_to_categorical(
    shared_data: Path, tmp_path: Path
) -> None:
    message = str(bad_wine_error(shared_data, tmp_path, "a marker of missing values in a feature"))
    assert "categorical" not in message


def test_declared_missing_values_are_missing_labels_dropped_with_their_rows(
    shared_data: Path, tmp_path: Path
) -> None:
    red, white = wine_copy(shared_data, tmp_path)
    set_cell(red, 5, QUALITY, "?")
    set_cell(white, 9, QUALITY, "n/a")
    declared = {**DATASETS, "wine": {**DATASETS["wine"], "missing_values": ["?", "n/a"]}}
    frame = load("wine", tmp_path, declared, download=False)
    assert (len(frame), frame.attrs["rows_missing_label"]) == (6495, 2)
    assert frame.attrs["source"]["missing_values"] == ["?", "n/a"]


def test_missing_values_must_be_cell_values(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("a,y\n1,1.0\n2,2.0\n")
    block = {"kind": "csv", "files": ["t.csv"], "label": "y", "missing_values": {"?": 1}}
    with pytest.raises(ParameterError, match=r"datasets.t.missing_values must be a list of cell"):
        load("t", tmp_path, {"t": block})


@pytest.mark.parametrize("name", ["synthetic", "utkf"])
def test_a_table_declared_under_a_built_in_name_is_refused(tmp_path: Path, name: str) -> None:
    declared = {name: {"kind": "csv", "files": ["t.csv"], "label": "y"}}
    message = rf"datasets.{name}: '{name}' is a built-in dataset and cannot be declared"
    with pytest.raises(ParameterError, match=message):
        get_dataset(name, declared)
    with pytest.raises(ParameterError, match=message):
        register_datasets(declared)


@pytest.mark.parametrize("name", ["../evil", "a/b", "my table", "2021", ""])
def test_a_declared_name_that_is_not_a_plain_identifier_is_refused(name: str) -> None:
    declared = {name: {"kind": "csv", "files": ["t.csv"], "label": "y"}}
    with pytest.raises(ParameterError, match=r"is not a plain identifier .* rename it"):
        get_dataset(name, declared)


def test_a_constant_feature_is_named_in_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "t.csv").write_text("a,site,b,y\n1,x,5,1.0\n2,x,5,2.0\n3,x,,\n")
    declared = {"t": {"kind": "csv", "files": ["t.csv"], "label": "y", "categorical": ["site"]}}
    load("t", tmp_path, declared)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "t: feature column 'site' holds 'x' in all 2 rows" in warnings[0]
    assert "t: feature column 'b' holds 5 in all 2 rows" in warnings[1]
    assert "datasets.t.drop" in warnings[1]


def test_a_heavy_tailed_label_is_standardised_as_it_is(tmp_path: Path) -> None:
    """A log-normal label (sigma 1: its most extreme 1% carry about half of its variance)
    is below the rule of the most extreme 1% carrying more than 90%."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=3000), "y2": rng.lognormal(0.0, 1.0, 3000)})
    frame.to_csv(tmp_path / "t.csv", index=False)
    loaded = load("t", tmp_path, {"t": {"kind": "csv", "files": ["t.csv"], "label": "y2"}})
    assert len(loaded) == 3000
