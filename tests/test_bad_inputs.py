"""The catalogue of bad inputs: each one, typed as a user would, stops with exit status 1 and
one ``Error:`` line on stderr naming the field or file, writes nothing under ``data/`` and
leaves no MLflow run RUNNING.

Commands run in-process (``kedro run`` and ``kedro sweep`` are the project's click commands)
in one project copy that holds a good Wine ingest + noise, so train-only cases have labels.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from kedro.framework.startup import bootstrap_project
from PIL import Image

from biv_pipeline.cli import cli
from tests.conftest import DATA_LAYERS, REPO_ROOT, SHARED_DATA, first_faces

WINE_FILES = ("winequality-red.csv", "winequality-white.csv")
ODD_FACE = "100_0_0_20160101000000000.jpg.chip.jpg"  # sorts first among the faces
FACES = 12  # good faces copied for the image cases
TRACKING_LOCK_SECONDS = 5  # biv_pipeline.tracking.store waits this long for a locked database


@dataclass(frozen=True)
class BadInput:
    """One bad input: the command's arguments after ``kedro``, and what its line must say.

    ``setup(project, scratch)`` prepares files (a damaged copy of the data, a sweep file) and
    returns extra ``--params`` items; ``{labels}`` in an argument is the good Wine labels'
    version.
    """

    args: tuple[str, ...]
    expected: str
    setup: Callable[[Path, Path], str] | None = None
    params: str = ""
    local_yaml: str = ""  # written to conf/local for values --params cannot carry (lists)


def params_case(params: str, expected: str, pipelines: str = "train") -> BadInput:
    """``kedro run --pipelines=PIPELINES --params PARAMS`` on the Wine project."""
    return BadInput(("run", f"--pipelines={pipelines}"), expected, params=params)


def noise_yaml_case(noise: str, expected: str) -> BadInput:
    """``kedro run --pipelines=noise`` with ``noise: {NOISE}`` in conf/local (Kedro's
    ``--params`` splits values at commas, so lists are given in a file)."""
    return BadInput(("run", "--pipelines=noise"), expected, local_yaml=f"noise: {{{noise}}}\n")


# --- damaged copies of the Wine files -------------------------------------------------------


def wine_copy(scratch: Path, edit: Callable[[str, list[str]], list[str]]) -> str:
    """Copy both Wine CSVs into ``scratch/data/wine``, pass each (name, lines) through ``edit``;
    return the --params items that read them."""
    folder = scratch / "data" / "wine"
    folder.mkdir(parents=True)
    for name in WINE_FILES:
        lines = (SHARED_DATA / "wine" / name).read_text().splitlines()
        (folder / name).write_text("".join(f"{line}\n" for line in edit(name, lines)))
    return f"data_dir={scratch / 'data'},ingest.download=false"


def damage(file: str, change: Callable[[list[str]], list[str]]) -> Callable[[Path, Path], str]:
    """A setup that applies ``change`` to the lines of one Wine file (red or white)."""

    def setup(project: Path, scratch: Path) -> str:
        return wine_copy(scratch, lambda name, lines: change(lines) if file in name else lines)

    return setup


def set_cell(line_number: int, column: int, value: str) -> Callable[[list[str]], list[str]]:
    """Set one ``;``-separated cell (0-based column) on a 1-based line."""

    def change(lines: list[str]) -> list[str]:
        cells = lines[line_number - 1].split(";")
        cells[column] = value
        return [*lines[: line_number - 1], ";".join(cells), *lines[line_number:]]

    return change


def each_line(edit: Callable[[int, str], str]) -> Callable[[list[str]], list[str]]:
    """Apply ``edit(index, line)`` to every line (index 0 is the header)."""
    return lambda lines: [edit(index, line) for index, line in enumerate(lines)]


def without_column(column: int) -> Callable[[list[str]], list[str]]:
    return each_line(
        lambda _, line: ";".join(c for i, c in enumerate(line.split(";")) if i != column)
    )


def constant_label(lines: list[str]) -> list[str]:
    return [lines[0], *(";".join([*line.split(";")[:-1], "5"]) for line in lines[1:])]


def without_label(lines: list[str]) -> list[str]:
    return [lines[0], *(";".join([*line.split(";")[:-1], ""]) for line in lines[1:])]


def data_case(setup: Callable[[Path, Path], str], expected: str) -> BadInput:
    """``kedro run --pipelines=ingest`` on a damaged copy of the Wine files."""
    return BadInput(("run", "--pipelines=ingest"), expected, setup=setup)


ALCOHOL, CITRIC_ACID, QUALITY = 10, 2, 11

DATA_CASES = {
    "label column missing": data_case(
        damage("red", without_column(QUALITY)), "datasets.wine.label names columns ['quality']"
    ),
    "column missing from one file": data_case(
        damage("white", without_column(ALCOHOL)), "winequality-white.csv lacks columns ['alcohol']"
    ),
    "extra column in one file": data_case(
        damage("white", each_line(lambda i, line: f"{line};{'colour' if i else 'c'}")),
        "winequality-white.csv has columns ['c'] that",
    ),
    "text in a numeric column": data_case(
        damage("red", set_cell(3, ALCOHOL, "abc")), "column 'alcohol' is not numeric"
    ),
    "decimal comma": data_case(damage("red", set_cell(8, ALCOHOL, "1,5")), "(line 8 '1,5')"),
    "infinite value": data_case(damage("white", set_cell(10, 0, "inf")), "(line 10 inf)"),
    "empty cell": data_case(
        damage("red", set_cell(5, CITRIC_ACID, "")), "column 'citric acid' has missing values"
    ),
    "text label": data_case(
        damage("red", set_cell(5, QUALITY, "five")), "the label column 'quality' is not a finite"
    ),
    "every label missing": data_case(
        lambda project, scratch: wine_copy(scratch, lambda _, lines: without_label(lines)),
        "has a missing label 'quality'",
    ),
    "empty file": data_case(
        damage("white", lambda lines: []), "has no data rows (the file is empty)"
    ),
    "header only": data_case(
        damage("white", lambda lines: lines[:1]), "has no data rows (only a header)"
    ),
    "comma-delimited": data_case(
        damage("red", each_line(lambda _, line: line.replace(";", ","))), "looks ','-separated"
    ),
    "tab-delimited": data_case(
        damage("white", each_line(lambda _, line: line.replace(";", "\t"))), "looks '\\t'-separated"
    ),
    "duplicate header": data_case(
        damage(
            "red",
            each_line(lambda i, line: line.replace('"citric acid"', '"pH"') if i == 0 else line),
        ),
        "has the column names ['pH'] more than once",
    ),
    "constant label": data_case(
        lambda project, scratch: wine_copy(scratch, lambda _, lines: constant_label(lines)),
        "a constant label leaves nothing to learn",
    ),
    "ragged row": data_case(
        damage("red", set_cell(4, QUALITY, "5;7")), "cannot be read as CSV with separator ';'"
    ),
    "absurd label": data_case(
        damage("white", set_cell(7, QUALITY, "1e308")),
        "the label column 'quality': its standardisation overflows float64",
    ),
    "question marks for missing values": data_case(
        damage("red", lambda lines: set_cell(8, ALCOHOL, "?")(set_cell(3, ALCOHOL, "?")(lines))),
        "declare datasets.wine.missing_values: ['?']",
    ),
    "missing data folder": BadInput(
        ("run", "--pipelines=ingest"),
        "data_dir /nonexistent/biv-data has no wine/winequality-red.csv",
        params="data_dir=/nonexistent/biv-data,ingest.download=false",
    ),
}


# --- faces ------------------------------------------------------------------------------------


def faces(odd: bool = False, unparsable: bool = False) -> Callable[[Path, Path], str]:
    """A setup copying a few UTKFace images, plus a 100x100 face that sorts first (``odd``),
    or all renamed so that no name parses (``unparsable``)."""

    def setup(project: Path, scratch: Path) -> str:
        folder = scratch / "data" / "utkface"
        folder.mkdir(parents=True)
        sources = first_faces(SHARED_DATA, FACES)
        for index, source in enumerate(sources):
            shutil.copy(source, folder / (f"face{index}.jpg" if unparsable else source.name))
        if odd:
            Image.open(sources[0]).resize((100, 100)).save(folder / ODD_FACE)
        return f"dataset=utkf,data_dir={scratch / 'data'},image_size=32,ingest.max_bad_fraction=0"

    return setup


IMAGE_CASES = {
    "a face of another size": BadInput(
        ("run", "--pipelines=ingest"), f"({ODD_FACE} 100x100)", setup=faces(odd=True)
    ),
    "no parsable face name": BadInput(
        ("run", "--pipelines=ingest"), "no image is usable", setup=faces(unparsable=True)
    ),
    "image_size too large": params_case(
        "dataset=utkf,image_size=4000", "image_size must be an integer from 16 to 512", "ingest"
    ),
    "image_size not an integer": params_case(
        "dataset=utkf,image_size=64.0", "image_size: input should be a valid integer", "ingest"
    ),
    "max_bad_fraction negative": params_case(
        "ingest.max_bad_fraction=-1", "ingest.max_bad_fraction must be a share", "ingest"
    ),
    "decode_workers negative": params_case(
        "ingest.decode_workers=-1",
        "ingest.decode_workers: input should be greater than or",
        "ingest",
    ),
}

# --- parameters -------------------------------------------------------------------------------

PARAMETER_CASES = {
    "misspelt top-level key": params_case("los=mse", "los: unknown parameter; did you mean loss?"),
    "misspelt noise key": params_case(
        "noise.pp=0.3", "noise.pp: unknown parameter; did you mean noise.p?"
    ),
    "misspelt ingest key": params_case(
        "ingest.trian_size=100",
        "ingest.trian_size: unknown parameter; did you mean ingest.train_size?",
    ),
    "misspelt report key": params_case("report.digitz=3", "did you mean report.digits?", "report"),
    "key set twice in a conf/local file": BadInput(
        ("run", "--pipelines=noise"),
        "conf/local/parameters_bad_input.yml line 3: noise.p is set twice in this file",
        local_yaml="noise:\n  p: 0.3\n  p: 0.4\n",
    ),
    "dataset declared twice in a conf/local file": BadInput(
        ("run", "--pipelines=ingest"),
        "conf/local/parameters_bad_input.yml line 4: datasets.mine is set twice in this file "
        "(also on line 2)",
        local_yaml="datasets:\n  mine: {kind: csv, files: [a.csv], label: y}\n"
        "  # the same name again\n  mine: {kind: csv, files: [b.csv], label: y}\n",
    ),
    "tab-indented conf/local file": BadInput(
        ("run", "--pipelines=noise"),
        "conf/local/parameters_bad_input.yml line 2: a tab in the indentation",
        local_yaml="noise:\n\tp: 0.3\n",
    ),
    "table declared under a built-in name": BadInput(
        ("run", "--pipelines=ingest"),
        "datasets.synthetic: 'synthetic' is a built-in dataset and cannot be declared",
        params="dataset=synthetic",
        local_yaml="datasets:\n  synthetic: {kind: csv, files: [s.csv], label: y}\n",
    ),
    "dataset name that is a path": BadInput(
        ("run", "--pipelines=ingest"),
        "datasets: the name '../evil' is not a plain identifier",
        params="dataset=../evil",
        local_yaml="datasets:\n  ../evil: {kind: csv, files: [wine/winequality-red.csv], "
        "label: quality, separator: ';'}\n",
    ),
    "misspelt table key": params_case(
        "datasets.wine.seperator=,",
        "datasets.wine has unknown settings ['seperator'] (did you mean datasets.wine.separator?)",
        "ingest",
    ),
    "bool as a probability": params_case(
        "noise.p=true", "noise.p: input should be a valid number; got True", "noise"
    ),
    "text as a probability": params_case(
        "noise.p=abc", "noise.p: input should be a valid number; got 'abc'", "noise"
    ),
    "not a number as a probability": params_case(
        "noise.p=.nan",
        "noise.p: input should be less than or equal to 1; got nan, which is not a number",
        "noise",
    ),
    "probability above 1": params_case(
        "noise.p=1.5", "noise.p: input should be less than or equal to 1", "noise"
    ),
    "flat components": noise_yaml_case(
        "components: [0.05, 10]", "noise.components[0]: input should be a valid list; got 0.05"
    ),
    "component of three numbers": noise_yaml_case(
        "components: [[1, 2, 3]]", "noise.components[0]: list should have at most 2 items"
    ),
    "negative variance": noise_yaml_case(
        "components: [[1.0, -0.5]]", "noise.components[0] = [1.0, -0.5]"
    ),
    "negative noise seed": params_case(
        "noise.seed=-1", "noise.seed: input should be greater than or equal to 0", "noise"
    ),
    "unknown distribution": params_case(
        "noise.distribution=normal",
        "noise.distribution: input should be 'uniform' or 'gamma'",
        "noise",
    ),
    "unknown parameterisation": params_case(
        "noise.parameterisation=manvar", "noise.parameterisation: input should be", "noise"
    ),
    "unknown units": params_case(
        "noise.units=kg", "noise.units: input should be 'normalized' or 'raw'", "noise"
    ),
    "weights not summing to 1": noise_yaml_case(
        "weights: [0.5, 0.6]", "noise.weights must be 2 non-negative probabilities"
    ),
    "average variance too small": params_case(
        "noise.average_variance=0.01", "needs a second mean mu2", "noise"
    ),
    "hetero scale above 1": params_case(
        "noise.hetero_scale=1.5",
        "noise.hetero_scale: input should be less than or equal to 1",
        "noise",
    ),
    "hetero scale with gamma": params_case(
        "noise.hetero_scale=0.5,noise.distribution=gamma",
        "noise.hetero_scale applies to distribution: uniform",
        "noise",
    ),
    "zero threshold": params_case(
        "noise.threshold=0", "noise.threshold: input should be greater than 0", "noise"
    ),
    "negative disturbance": params_case(
        "noise.disturbance=-1",
        "noise.disturbance: input should be greater than or equal to 0",
        "noise",
    ),
    "noise switch as text": params_case(
        "noise.enabled=maybe", "noise.enabled: input should be a valid boolean", "noise"
    ),
    "misspelt loss": params_case(
        "loss=bvi", "loss: input should be 'mse', 'iv', 'biv' or 'cutoff'; got 'bvi'"
    ),
    "text learning rate": params_case(
        "lr=fast", "lr: input should be a valid number, or 'auto'; got 'fast'"
    ),
    "zero learning rate": params_case(
        "lr=0", "lr: input should be greater than 0, or 'auto'; got 0"
    ),
    "zero epochs": params_case(
        "epochs=0", "epochs: input should be greater than or equal to 1; got 0"
    ),
    "fractional epochs": params_case(
        "epochs=2.5", "epochs: input should be a valid integer; got 2.5"
    ),
    "bool batch size": params_case(
        "batch_size=true", "batch_size: input should be a valid integer; got True"
    ),
    "zero threads": params_case(
        "threads=0", "threads: input should be greater than or equal to 1, or 'auto'"
    ),
    "negative epsilon": params_case(
        "epsilon=-1", "epsilon: input should be greater than or equal to 0, or 'auto'"
    ),
    "ess ratio of 1": params_case("ess_ratio=1", "ess_ratio: input should be less than 1; got 1"),
    "zero cutoff": params_case("cutoff=0", "cutoff: input should be greater than 0; got 0"),
    "unknown model": params_case(
        "model=resnet50",
        "model: input should be 'vanilla_ann', 'vanilla_cnn', 'resnet18', 'linear', 'gbm' or "
        "'gp', or 'auto'",
    ),
    "a classical model with biv": params_case(
        "model=gbm,loss=biv",
        "loss biv normalises its weights per batch, and model gbm fits all the labels at once: "
        "use loss iv with a numeric epsilon (model=gbm,loss=iv,epsilon=0.5)",
    ),
    "unknown device": params_case(
        "device=gpu", "device: must be auto, cpu, cuda or cuda:N; got 'gpu'"
    ),
    "amp as text": params_case(
        "amp=always", "amp: input should be a valid boolean, or 'auto'; got 'always'"
    ),
    "compile as a number": params_case(
        "compile=1", "compile: input should be a valid boolean; got 1"
    ),
    "unknown optimizer": params_case(
        "optimizer=rmsprop", "optimizer: input should be 'adam' or 'sgd'; got 'rmsprop'"
    ),
    "momentum with adam": params_case("momentum=0.9", "momentum applies to optimizer: sgd only"),
    "momentum of 1": params_case(
        "optimizer=sgd,momentum=1.0", "momentum: input should be less than 1; got 1.0"
    ),
    "unknown lr scale": params_case(
        "lr_scale=mean", "lr_scale: input should be 'none' or 'mean_weight'; got 'mean'"
    ),
    "mean_weight with auto epsilon": params_case(
        "loss=iv,epsilon=auto,lr_scale=mean_weight",
        "lr_scale: mean_weight needs a numeric epsilon with loss iv",
    ),
    "negative seed": params_case(
        "seed=-3", "seed: input should be greater than or equal to 0; got -3"
    ),
    "unknown dataset": params_case(
        "dataset=wines", "dataset must be one of synthetic, utkf, wine, bike", "ingest"
    ),
    "image_size too small": params_case(
        "image_size=5", "image_size must be an integer from 16 to 512", "ingest"
    ),
    "negative split seed": params_case(
        "ingest.split_seed=-1",
        "ingest.split_seed: input should be greater than or equal to 0",
        "ingest",
    ),
    "one synthetic feature": params_case(
        "dataset=synthetic,ingest.synthetic_features=1",
        "ingest.synthetic_features: input should be greater than or equal to 2",
        "ingest",
    ),
    "zero train size": params_case(
        "ingest.train_size=0",
        "ingest.train_size: input should be greater than or equal to 1",
        "ingest",
    ),
    "normalise as text": params_case(
        "ingest.normalize=maybe", "ingest.normalize: input should be a valid boolean", "ingest"
    ),
    "split larger than the table": params_case(
        "ingest.train_size=100000",
        "ingest.train_size + ingest.test_size must be at most the 6497 rows",
        "ingest",
    ),
    "confidence of 1": params_case(
        "sweep=s,report.confidence=1.0", "report.confidence: input should be less than 1", "report"
    ),
    "report without a sweep": params_case(
        "", "sweep is not set: name the sweep to report", "report"
    ),
    "sweep name as a number": params_case(
        "sweep=3", "sweep: input should be a valid string; got 3", "report"
    ),
    "cutoff below every variance": params_case(
        "loss=cutoff,cutoff=0.00001",
        "cutoff = 1e-05 is below every seen variance of the 4000 training labels",
    ),
}

# --- declared label noise --------------------------------------------------------------------

SD, R1 = 12, 13  # the columns noise_columns() adds after quality: sd, r1, r2
WINE_DECLARATION = (
    "{kind: csv, files: [wine/winequality-red.csv, wine/winequality-white.csv], separator: ';'"
)
DECLARED_YAML = (
    "datasets:\n"
    f"  wine_sd: {WINE_DECLARATION}, label: quality, std: sd, drop: [r1, r2]}}\n"
    f"  wine_rep: {WINE_DECLARATION}, repeats: [r1, r2], drop: [quality, sd]}}\n"
    f"  wine_both: {WINE_DECLARATION}, label: quality, std: sd, variance: sd}}\n"
    f"  wine_twice: {WINE_DECLARATION}, label: quality, repeats: [r1, r2]}}\n"
    f"  wine_sdev: {WINE_DECLARATION}, label: quality, std: sdev}}\n"
)


def noise_columns(change: Callable[[list[str]], list[str]] = list) -> Callable[[Path, Path], str]:
    """A setup: both Wine files plus a std column ``sd`` (0.5) and two repeated readings ``r1``,
    ``r2`` (the quality), then ``change`` applied to the red file's lines."""

    def add(lines: list[str]) -> list[str]:
        header = f'{lines[0]};"sd";"r1";"r2"'
        rows = [f"{line};0.5;{line.split(';')[-1]};{line.split(';')[-1]}" for line in lines[1:]]
        return [header, *rows]

    def setup(project: Path, scratch: Path) -> str:
        return wine_copy(
            scratch, lambda name, lines: (change if "red" in name else list)(add(lines))
        )

    return setup


def declared_case(dataset: str, expected: str, change: Callable | None = None) -> BadInput:
    """``kedro run --pipelines=ingest`` on the declared table ``dataset`` (``DECLARED_YAML``)."""
    return BadInput(
        ("run", "--pipelines=ingest"),
        expected,
        setup=noise_columns(change or list),
        params=f"dataset={dataset}",
        local_yaml=DECLARED_YAML,
    )


def face_index(missing: str = "", index: bool = True) -> Callable[[Path, Path], str]:
    """A setup: a few UTKFace faces beside an index of their ages, which also names the file
    ``missing`` (not copied); no index file at all without ``index``."""

    def setup(project: Path, scratch: Path) -> str:
        folder = scratch / "data" / "ages"
        (folder / "faces").mkdir(parents=True)
        names = []
        for number, source in enumerate(first_faces(SHARED_DATA, FACES)):
            names.append(f"faces/{number}.jpg")
            shutil.copy(source, folder / names[-1])
        lines = ["image,age", *(f"{name},{20 + i}" for i, name in enumerate([*names, missing]))]
        if index:
            (folder / "labels.csv").write_text("\n".join(lines[: None if missing else -1]) + "\n")
        return f"dataset=ages,data_dir={scratch / 'data'},image_size=32"

    return setup


FACE_INDEX_YAML = (
    "datasets: {ages: {kind: images, index: ages/labels.csv, file: image, label: age}}\n"
)

DECLARED_CASES = {
    "negative std": declared_case(
        "wine_sd",
        "column 'sd' (datasets.wine_sd.std) is negative in 1 row (line 5 -0.5)",
        set_cell(5, SD, "-0.5"),
    ),
    "missing std": declared_case(
        "wine_sd",
        "column 'sd' (datasets.wine_sd.std) is missing in 1 row (line 6)",
        set_cell(6, SD, ""),
    ),
    "NaN std": declared_case(
        "wine_sd", "(datasets.wine_sd.std) is missing in 1 row (line 6)", set_cell(6, SD, "NaN")
    ),
    "infinite std": declared_case(
        "wine_sd",
        "(datasets.wine_sd.std) is not a finite number in 1 row (line 7 inf)",
        set_cell(7, SD, "inf"),
    ),
    "text in a repeats column": declared_case(
        "wine_rep",
        "column 'r1' (datasets.wine_rep.repeats) is not a finite number in 1 row (line 4 'high')",
        set_cell(4, R1, "high"),
    ),
    "std column missing": declared_case(
        "wine_sdev", "datasets.wine_sdev.std names columns ['sdev'] that"
    ),
    "std and variance both": declared_case(
        "wine_both", "datasets.wine_both declares std and variance; a table declares"
    ),
    "label and repeats both": declared_case(
        "wine_twice", "datasets.wine_twice declares both label and repeats"
    ),
    "declared noise on a table without it": params_case(
        "noise.source=declared",
        "noise.source: declared needs a dataset that declares its label variances",
        "noise",
    ),
    "declared plus synthetic without noise": params_case(
        "noise.source=declared_plus_synthetic,noise.enabled=false",
        "noise.enabled: false switches off; use noise.source: declared",
        "noise",
    ),
    "unknown noise source": params_case(
        "noise.source=declard",
        "noise.source: input should be 'auto', 'declared', 'synthetic' or "
        "'declared_plus_synthetic'",
        "noise",
    ),
    "an image the index names is missing": BadInput(
        ("run", "--pipelines=ingest"),
        "has no faces/gone.jpg, which",
        setup=face_index(missing="faces/gone.jpg"),
        local_yaml=FACE_INDEX_YAML,
    ),
    "no image index": BadInput(
        ("run", "--pipelines=ingest"),
        "has no ages/labels.csv, which datasets.ages.index names",
        setup=face_index(index=False),
        local_yaml=FACE_INDEX_YAML,
    ),
}


# --- pinned versions --------------------------------------------------------------------------

PIN_CASES = {
    "labels version that does not exist": BadInput(
        ("run", "--pipelines=train", "--load-versions=noisy_train:2001-01-01T00.00.00.000Z"),
        "noisy_train has no version 2001-01-01T00.00.00.000Z for dataset 'wine'",
    ),
    "test split version that does not exist": BadInput(
        ("run", "--pipelines=train", "--load-versions=test_split:2001-01-01T00.00.00.000Z"),
        "test_split:2001-01-01T00.00.00.000Z is not the ingest version these labels were made from",
    ),
    "labels of another dataset": BadInput(
        ("run", "--pipelines=train", "--load-versions=noisy_train:{labels}"),
        "is a version of dataset wine",
        params="dataset=bike",
    ),
    "no labels for the dataset": params_case("dataset=bike", "noisy_train has no complete version"),
    "labels from another data folder": params_case(
        "data_dir=/tmp", "was made with this run's parameters; versions there: ", "train"
    ),
}

# --- tracking ---------------------------------------------------------------------------------

TRACKING_CASES = {
    "tracking server on a closed port": params_case(
        "mlflow_tracking_uri=http://127.0.0.1:9",
        "cannot reach the MLflow tracking server http://127.0.0.1:9",
    ),
    "tracking server host that does not resolve": params_case(
        "mlflow_tracking_uri=http://no-such-host.invalid:5000", "its host name does not resolve"
    ),
}

# --- sweep files ------------------------------------------------------------------------------


def sweep_file(text: str) -> Callable[[Path, Path], str]:
    """A setup writing ``text`` as the sweep file ``scratch/bad.yml``."""

    def setup(project: Path, scratch: Path) -> str:
        (scratch / "bad.yml").write_text(text)
        return ""

    return setup


def sweep_case(text: str, expected: str) -> BadInput:
    return BadInput(("sweep", "{scratch}/bad.yml"), expected, setup=sweep_file(text))


GRID = "grid: {loss: [mse], seed: [0]}\n"
SWEEP_CASES = {
    "sweep file that does not exist": BadInput(
        ("sweep", "/nonexistent/sweep.yml"), "sweep file /nonexistent/sweep.yml does not exist"
    ),
    "sweep without a loss axis": sweep_case("grid: {seed: [0]}\n", "include loss"),
    "sweep with an unknown key": sweep_case(f"grids: {{}}\n{GRID}", "unknown keys ['grids']"),
    "sweep axis misspelt": sweep_case(
        "grid: {loss: [mse], noise.pp: [0.3]}\n",
        "noise.pp: unknown parameter; did you mean noise.p?",
    ),
    "sweep base key misspelt": sweep_case(
        f"base: {{los: mse}}\n{GRID}", "los: unknown parameter; did you mean loss?"
    ),
    "sweep with an unknown loss": sweep_case(
        "grid: {loss: [bvi]}\n", "grid.loss must use mse, iv, biv, cutoff; got ['bvi']"
    ),
    "sweep axis not a list": sweep_case(
        "grid: {loss: mse}\n", "grid.loss must be a non-empty list"
    ),
    "sweep file that is not YAML": sweep_case("grid: {loss: [mse\n", "bad.yml is not valid YAML"),
    "sweep file that is a list": sweep_case("- loss\n", "bad.yml must be a mapping"),
    "sweep with a closed tracking port": BadInput(
        (
            "sweep",
            str(REPO_ROOT / "conf/base/sweeps/smoke_wine.yml"),
            "--tracking-uri",
            "http://127.0.0.1:9",
        ),
        "cannot reach the MLflow tracking server http://127.0.0.1:9",
    ),
}

CATALOGUE = {
    **PARAMETER_CASES,
    **DATA_CASES,
    **DECLARED_CASES,
    **IMAGE_CASES,
    **PIN_CASES,
    **TRACKING_CASES,
    **SWEEP_CASES,
}


# --- the harness ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Project:
    """The project copy the catalogue runs in, and the version of its good Wine labels."""

    path: Path
    labels_version: str

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.path / 'mlflow.db'}"


def invoke(project: Project, args: list[str], params: str) -> Result:
    """``kedro ARGS --params PARAMS`` in-process (the project's own click commands)."""
    items = ",".join(
        item for item in (f"mlflow_tracking_uri={project.tracking_uri}", params) if item
    )
    # a user's mlflow_tracking_uri comes after the project's, so it wins
    return CliRunner().invoke(cli, [*args, "--params", items], catch_exceptions=True)


def files_under(folder: Path) -> set[str]:
    """Every file below ``folder`` (relative paths), partial files included."""
    return {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()}


def running_runs(project: Project) -> int:
    """MLflow runs left RUNNING in the project's database (read with sqlite, not MLflow)."""
    with sqlite3.connect(project.path / "mlflow.db") as database:
        return database.execute("SELECT count(*) FROM runs WHERE status = 'RUNNING'").fetchone()[0]


@pytest.fixture(scope="module")
def bad_input_project(
    tmp_path_factory: pytest.TempPathFactory, shared_data: Path
) -> Iterator[Project]:
    """A project copy with one good Wine ingest + noise, as the working directory."""
    path = tmp_path_factory.mktemp("bad-inputs")
    shutil.copy(REPO_ROOT / "pyproject.toml", path / "pyproject.toml")
    shutil.copytree(REPO_ROOT / "conf", path / "conf")
    (path / "src").mkdir()
    for layer in DATA_LAYERS:
        (path / "data" / layer).mkdir(parents=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(path)
        bootstrap_project(path)
        project = Project(path, "")
        good = invoke(
            project, ["run", "--pipelines=ingest,noise"], f"dataset=wine,data_dir={shared_data}"
        )
        assert good.exit_code == 0, good.output
        (version,) = [
            p.name for p in (path / "data/05_model_input/wine/noisy_train.parquet").iterdir()
        ]
        yield Project(path, version)


def check_stops_cleanly(project: Project, args: list[str], params: str, expected: str) -> None:
    """Run the command; assert exit status 1, one Error line with ``expected``, no new file
    under data/, no RUNNING run."""
    before = files_under(project.path / "data")
    result = invoke(project, args, params)
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), lines
    assert expected in lines[0], lines[0]
    assert files_under(project.path / "data") == before
    assert running_runs(project) == 0


@pytest.mark.parametrize("case", CATALOGUE.values(), ids=CATALOGUE.keys())
def test_a_bad_input_stops_in_one_line_before_writing(
    case: BadInput, bad_input_project: Project, tmp_path: Path, shared_data: Path
) -> None:
    project = bad_input_project
    extra = case.setup(project.path, tmp_path) if case.setup else ""
    base = "" if case.args[0] == "sweep" else f"dataset=wine,data_dir={shared_data}"
    params = ",".join(item for item in (base, case.params, extra) if item)
    args = [arg.format(labels=project.labels_version, scratch=tmp_path) for arg in case.args]
    local = project.path / "conf" / "local" / "parameters_bad_input.yml"
    local.write_text(case.local_yaml)
    try:
        check_stops_cleanly(project, args, params, case.expected)
    finally:
        local.unlink()


def test_a_locked_tracking_database_stops_in_one_line(
    bad_input_project: Project, shared_data: Path
) -> None:
    project = bad_input_project
    locked, release = threading.Event(), threading.Event()

    def hold_lock() -> None:
        database = sqlite3.connect(project.path / "mlflow.db")
        database.execute("BEGIN EXCLUSIVE")
        locked.set()
        release.wait()
        database.rollback()
        database.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    locked.wait()
    try:
        before = files_under(project.path / "data")
        result = invoke(
            project, ["run", "--pipelines=train"], f"dataset=wine,data_dir={shared_data}"
        )
        assert result.exit_code == 1
        (line,) = result.stderr.strip().splitlines()
        assert (
            line.startswith("Error: the MLflow database") and "is locked by another process" in line
        )
        assert files_under(project.path / "data") == before
    finally:
        release.set()
        holder.join()
    assert running_runs(project) == 0
