"""The pipelines' wiring against conf/base, without running a node: every parameter of a
pipeline's YAML file is one of its inputs, every ``params:`` input is in the YAML, and every
dataset a pipeline reads or writes is declared in the catalog."""

from __future__ import annotations

import importlib

import pytest
import yaml
from kedro.config import OmegaConfigLoader
from kedro.pipeline import Pipeline

from biv_pipeline.settings import CONFIG_LOADER_ARGS
from tests.pipelines.slices import CONF, PARAMS_PREFIX, parameter_feed, project_parameters

PIPELINES = ("ingest", "noise", "train", "report")
# conf/base/parameters_<file>.yml -> the pipeline whose nodes take its top-level keys
PARAMETER_FILES = {
    "ingest": "ingest",
    "datasets": "ingest",
    "noise": "noise",
    "train": "train",
    "report": "report",
}


def create_pipeline(name: str) -> Pipeline:
    return importlib.import_module(f"biv_pipeline.pipelines.{name}.pipeline").create_pipeline()


def parameter_inputs(pipeline: Pipeline) -> set[str]:
    return {name for name in pipeline.inputs() if name.startswith(PARAMS_PREFIX)}


@pytest.mark.parametrize(("file", "pipeline"), PARAMETER_FILES.items())
def test_every_key_of_a_pipelines_parameter_file_is_one_of_its_inputs(
    file: str, pipeline: str
) -> None:
    keys = yaml.safe_load((CONF / "base" / f"parameters_{file}.yml").read_text())
    unwired = {PARAMS_PREFIX + key for key in keys} - parameter_inputs(create_pipeline(pipeline))
    assert not unwired, f"parameters_{file}.yml sets {sorted(unwired)}; no {pipeline} node takes it"


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_every_parameter_a_pipeline_takes_is_in_conf_base(pipeline: str) -> None:
    configured = set(parameter_feed(project_parameters()))
    missing = parameter_inputs(create_pipeline(pipeline)) - configured
    assert not missing, f"the {pipeline} pipeline takes {sorted(missing)}; conf/base has none"


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_every_dataset_a_pipeline_reads_or_writes_is_in_the_catalog(pipeline: str) -> None:
    loader = OmegaConfigLoader(str(CONF), **{**CONFIG_LOADER_ARGS, "default_run_env": "base"})
    declared = {name for name in loader["catalog"] if not name.startswith("_")}
    used = {name for name in create_pipeline(pipeline).datasets()}
    undeclared = {name for name in used if not name.startswith(PARAMS_PREFIX)} - declared
    assert not undeclared, f"the {pipeline} pipeline uses {sorted(undeclared)}; not in catalog.yml"
