"""Training runs are named after what sets them apart, and the README's flow repeats no run."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
from omegaconf import OmegaConf

from biv_pipeline.data.registry import register_datasets
from biv_pipeline.parameters.dotted_keys import nest
from biv_pipeline.tracking.hook import run_name
from tests.conftest import REPO_ROOT
from tests.pipelines.slices import project_parameters

WINE = {"dataset": "wine", "data_dir": "../shared/data"}


@pytest.fixture(autouse=True)
def declared_tables():
    """The project's declared tables (wine, bike), as its hooks register them for a run."""
    register_datasets(project_parameters()["datasets"])
    yield
    register_datasets({})


def name(**overrides: Any) -> str:
    return run_name(project_parameters(**{**WINE, **overrides}))


def test_a_run_name_reads_dataset_loss_epsilon_model_noise_and_seed() -> None:
    assert re.fullmatch(r"wine-biv-eps0\.5-vanilla_ann-p0\.5-noise[0-9a-f]{6}-seed0", name())
    assert name(loss="mse").startswith("wine-mse-vanilla_ann-p0.5-noise")
    assert name(loss="cutoff", cutoff=2.0).startswith("wine-cutoff-cutoff2-vanilla_ann-")
    assert name(noise={"enabled": False}) == "wine-biv-eps0.5-vanilla_ann-clean-seed0"


@pytest.mark.parametrize(
    "change",
    [{"dataset": "bike"}, {"model": "resnet18"}, {"loss": "iv"}, {"epsilon": 0.1},
     {"epsilon": "auto"}, {"noise": {"p": 0.3}}, {"noise": {"seed": 1}},
     {"noise": {"distribution": "gamma", "parameterisation": "meanvar",
                "components": [[1.0, 4.0]]}},
     {"seed": 1}],
)  # fmt: skip
def test_runs_that_differ_in_what_matters_differ_by_name(change: dict[str, Any]) -> None:
    assert name(**change) != name()


def test_a_run_on_pinned_labels_is_named_after_their_noise() -> None:
    labels_noise = project_parameters(noise={"seed": 1})["noise"]
    parameters = project_parameters(**WINE)
    assert run_name(parameters, labels_noise) == name(noise={"seed": 1})
    assert run_name(parameters, labels_noise) != run_name(parameters)


def readme_training_commands() -> list[dict[str, Any]]:
    """The --params of every `kedro run` in the README's first-steps block that trains."""
    readme = (REPO_ROOT / "README.md").read_text()
    block = readme.split("Then, the way the paper is used:", 1)[1].split("```bash", 1)[1]
    commands = []
    for line in block.split("```", 1)[0].splitlines():
        words = shlex.split(line, comments=True)
        if words[:2] != ["kedro", "run"]:
            continue
        pipelines = next((w.split("=", 1)[1] for w in words if w.startswith("--pipeline")), "")
        if pipelines and "train" not in pipelines.split(","):
            continue
        params = words[words.index("--params") + 1]
        dotted = dict(item.split("=", 1) for item in params.split(","))
        commands.append(nest({key: OmegaConf.create({"v": v})["v"] for key, v in dotted.items()}))
    return commands


def test_the_readme_flow_trains_no_run_twice() -> None:
    commands = readme_training_commands()
    assert len(commands) >= 2
    names = [run_name(project_parameters(**params)) for params in commands]
    assert len(set(names)) == len(names), names
