"""ProjectConfigLoader: each key read once per loader, the same answers as Kedro's."""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.config import OmegaConfigLoader

from biv_pipeline.errors import ConfigFileError
from biv_pipeline.project.config_loader import ProjectConfigLoader

PARAMETERS = "noise:\n  p: 0.5\n  components: [[0.05, 0.0008], [10.0, 30.0]]\nloss: biv\n"


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    """A conf/ folder with base and local environments and one parameters file."""
    (tmp_path / "base").mkdir()
    (tmp_path / "local").mkdir()
    (tmp_path / "base" / "parameters.yml").write_text(PARAMETERS)
    return tmp_path


def loaders(conf: Path, **runtime: object) -> tuple[OmegaConfigLoader, ProjectConfigLoader]:
    """Kedro's loader and the project's, on the same folder and runtime parameters."""
    arguments = {"conf_source": str(conf), "base_env": "base", "default_run_env": "local",
                 "runtime_params": runtime}  # fmt: skip
    return OmegaConfigLoader(**arguments), ProjectConfigLoader(**arguments)


def test_parameters_equal_kedros_with_runtime_params(conf: Path) -> None:
    kedro, project = loaders(conf, loss="mse", noise={"p": 0.3})
    assert project["parameters"] == kedro["parameters"]
    assert project["parameters"]["noise"]["p"] == 0.3


def test_a_second_read_does_not_read_the_files_again(conf: Path) -> None:
    _, project = loaders(conf)
    first = project["parameters"]
    (conf / "base" / "parameters.yml").write_text("loss: mse\n")
    assert project["parameters"] == first


def test_changing_what_a_read_returned_leaves_the_next_read_alone(conf: Path) -> None:
    _, project = loaders(conf)
    project["parameters"]["noise"]["components"].append([1.0, 1.0])
    project["parameters"]["loss"] = "iv"
    assert project["parameters"]["loss"] == "biv"
    assert len(project["parameters"]["noise"]["components"]) == 2


def test_new_runtime_params_are_resolved_again(conf: Path) -> None:
    _, project = loaders(conf)
    assert project["parameters"]["loss"] == "biv"
    project.runtime_params = {"loss": "cutoff"}
    assert project["parameters"]["loss"] == "cutoff"


def test_a_key_set_on_the_loader_is_returned_as_set(conf: Path) -> None:
    _, project = loaders(conf)
    project["parameters"] = {"loss": "iv"}
    assert project["parameters"] == {"loss": "iv"}


# --- a file that cannot be read: one line naming the file and the line ------------------------

DECLARATION = "    kind: csv\n    files: [t.csv]\n    label: y\n"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"local/parameters_x.yml": "noise:\n  p: 0.3\n  p: 0.4\n"},
            "conf/local/parameters_x.yml line 3: noise.p is set twice in this file (also on "
            "line 2); keep one",
        ),
        (
            {"local/parameters_datasets.yml": f"datasets:\n  t:\n{DECLARATION}  t:\n{DECLARATION}"},
            "conf/local/parameters_datasets.yml line 6: datasets.t is set twice in this file "
            "(also on line 2); keep one",
        ),
        (
            {
                "local/parameters_datasets.yml": f"datasets:\n  t:\n{DECLARATION}",
                "local/parameters_more.yml": f"loss: mse\ndatasets:\n  t:\n{DECLARATION}",
            },
            "conf/local/parameters_more.yml line 3: datasets.t is also set in "
            "conf/local/parameters_datasets.yml line 2; two files of one environment cannot "
            "set the same key: keep it in one",
        ),
        (
            {"local/parameters_x.yml": "noise:\n\tp: 0.3\n"},
            "conf/local/parameters_x.yml line 2: a tab in the indentation; YAML indents with "
            "spaces only",
        ),
        (
            {"base/parameters_x.yml": "noise:\n  p: [0.3\n"},
            "conf/base/parameters_x.yml line 3: expected ',' or ']', but got '<stream end>'",
        ),
    ],
    ids=["key twice", "dataset declared twice", "dataset in two files", "tab", "not YAML"],
)
def test_a_config_file_that_cannot_be_read_is_named_with_its_line(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    conf = tmp_path / "conf"
    for name, text in {"base/parameters.yml": PARAMETERS, **files}.items():
        (conf / name).parent.mkdir(parents=True, exist_ok=True)
        (conf / name).write_text(text)
    _, project = loaders(conf)
    with pytest.raises(ConfigFileError) as raised:
        project["parameters"]
    assert str(raised.value) == message


def test_a_catalog_entry_with_a_key_twice_is_named_with_its_line(conf: Path) -> None:
    entry = "x:\n  type: pandas.CSVDataset\n  filepath: a.csv\n  filepath: b.csv\n"
    (conf / "local" / "catalog.yml").write_text(entry)
    _, project = loaders(conf)
    with pytest.raises(ConfigFileError, match=r"local/catalog.yml line 4: x.filepath is set"):
        project["catalog"]
