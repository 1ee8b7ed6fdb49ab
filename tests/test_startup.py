"""What every `kedro` command pays for before it does anything: the project's own imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from biv_pipeline import MLFLOW_TELEMETRY_ENV
from biv_pipeline.sweeps.executors import ray_init_options

HEAVY = ("torch", "torchvision", "mlflow", "matplotlib")
# the modules Kedro imports for any command run in the project (`kedro --help` included)
STARTUP_MODULES = (
    "biv_pipeline.settings",
    "biv_pipeline.cli",
    "biv_pipeline.pipeline_registry",
    "biv_pipeline.__main__",
    "biv_pipeline.parameters.training",  # what parameter validation needs
)


def test_importing_settings_cli_and_registry_loads_no_torch_or_mlflow() -> None:
    script = (
        f"import importlib, json, sys\n"
        f"for name in {STARTUP_MODULES!r}: importlib.import_module(name)\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(result.stdout.splitlines()[-1]) == []


def telemetry_after_importing_settings(user_value: str | None) -> str:
    """``MLFLOW_DISABLE_TELEMETRY`` after a fresh interpreter imports the project settings."""
    env = {key: value for key, value in os.environ.items() if key != MLFLOW_TELEMETRY_ENV}
    if user_value is not None:
        env[MLFLOW_TELEMETRY_ENV] = user_value
    script = f"import os, biv_pipeline.settings\nprint(os.environ.get({MLFLOW_TELEMETRY_ENV!r}))"
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True,
        timeout=120,
    )  # fmt: skip
    return result.stdout.splitlines()[-1]


def test_mlflow_telemetry_is_off_unless_the_user_turned_it_on() -> None:
    assert telemetry_after_importing_settings(None) == "true"


def test_a_user_who_turned_mlflow_telemetry_on_keeps_it() -> None:
    assert telemetry_after_importing_settings("false") == "false"


def test_ray_workers_get_this_process_telemetry_setting() -> None:
    options = ray_init_options(None)
    assert options["runtime_env"]["env_vars"] == {MLFLOW_TELEMETRY_ENV: "true"}


def test_the_sweep_runs_dataset_every_catalog_builds_loads_no_scipy_stats() -> None:
    script = (
        "import json, sys, biv_pipeline.sweeps.runs_dataset\n"
        "print(json.dumps('scipy.stats' in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(result.stdout.splitlines()[-1]) is False
