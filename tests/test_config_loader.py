"""ProjectConfigLoader: each key read once per loader, the same answers as Kedro's."""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.config import OmegaConfigLoader

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
