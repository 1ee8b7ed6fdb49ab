"""What TrackingHook changes in kedro-mlflow's records: tags and which parameters it logs."""

from __future__ import annotations

from pathlib import Path

from biv_pipeline.tracking.hook import clean_run_params, relative_to_project, without_parameters


def test_object_reprs_become_their_class_name() -> None:
    run_params = {
        "runner": "<kedro.runner.sequential_runner.SequentialRunner object at 0x7f3a2c1d9e50>",
        "run_id": "2026-11-26T08.00.00.000Z",
        "env": "local",
    }
    assert clean_run_params(run_params) == {
        "runner": "SequentialRunner",
        "run_id": "2026-11-26T08.00.00.000Z",
        "env": "local",
    }


def test_an_in_process_session_without_a_runner_is_tagged_with_kedros_default() -> None:
    assert clean_run_params({"runner": "None"}) == {"runner": "SequentialRunner"}


def test_values_that_are_not_strings_are_kept() -> None:
    run_params = {"tags": ["a"], "extra_params": {"loss": "biv"}, "load_versions": None}
    assert clean_run_params(run_params) == run_params


def test_parameter_inputs_are_dropped_and_data_inputs_kept() -> None:
    inputs = {"params:loss": "biv", "parameters": {}, "noisy_train": 1, "training_config": 2}
    assert without_parameters(inputs) == {"noisy_train": 1, "training_config": 2}


def test_the_project_path_is_tagged_relative_to_the_project() -> None:
    assert clean_run_params({"project_path": "/home/someone/biv-pipeline"}) == {"project_path": "."}


def test_the_command_is_tagged_by_its_path_in_the_project_or_by_its_name(tmp_path: Path) -> None:
    assert relative_to_project(str(tmp_path / "scripts" / "run.py"), tmp_path) == "scripts/run.py"
    assert relative_to_project("/home/someone/.venv/bin/kedro", tmp_path) == "kedro"
