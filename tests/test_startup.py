"""What every `kedro` command pays for before it does anything: the project's own imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from biv_pipeline import MLFLOW_TELEMETRY_ENV
from biv_pipeline.sweeps.executors import ray_init_options

HEAVY = ("torch", "torchvision", "mlflow", "matplotlib")
REPO_ROOT = Path(__file__).resolve().parents[1]
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


def heavy_modules_after(args: list[str], cwd: Path) -> list[str]:
    """The heavy modules (pandas included) ``kedro ARGS`` has imported when it exits."""
    heavy = (*HEAVY, "pandas")
    script = (
        "import atexit, json, sys\n"
        f"atexit.register(lambda: print(json.dumps([m for m in {heavy!r} if m in sys.modules])))\n"
        f"sys.argv = ['kedro', *{args!r}]\n"
        "from kedro.framework.cli import main\n"
        "main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    return json.loads(result.stdout.splitlines()[-1])


def test_help_and_a_bad_parameter_import_no_mlflow_pandas_or_torch(project: Path) -> None:
    assert heavy_modules_after(["--help"], project) == []
    assert heavy_modules_after(["run", "--params", "loss=bvi"], project) == []


def test_kedro_mlflow_commands_are_its_own_once_asked_for() -> None:
    script = (
        "import json, sys\n"
        "from importlib.metadata import entry_points\n"
        "import click\n"
        "from biv_pipeline.project.plugin_commands import defer_plugin_commands\n"
        "defer_plugin_commands()\n"
        "(point,) = entry_points(group='kedro.project_commands', name='kedro_mlflow')\n"
        "group = point.load().commands['mlflow']\n"
        "before = 'mlflow' in sys.modules\n"
        "with click.Context(group) as ctx:\n"
        "    names = group.list_commands(ctx)\n"
        "real = sys.modules[point.module].mlflow_commands\n"
        "print(json.dumps([before, names, group.help == real.help, 'mlflow' in sys.modules]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True,
        timeout=120, check=True,
    )  # fmt: skip
    before, names, same_help, after = json.loads(result.stdout.splitlines()[-1])
    assert (before, same_help, after) == (False, True, True)
    assert names == ["init", "modelify", "ui"]


def test_objects_alive_at_exit_are_frozen_before_teardown() -> None:
    script = (
        "import atexit, gc\n"
        "atexit.register(lambda: print(gc.get_freeze_count()))  # runs after the settings' hook\n"
        "import biv_pipeline.settings\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert int(result.stdout.splitlines()[-1]) > 0
