"""What every `kedro` command pays for before it does anything: the project's own imports."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "torchvision", "mlflow", "matplotlib")
# the modules Kedro imports for any command run in the project (`kedro --help` included)
STARTUP_MODULES = (
    "biv_pipeline.settings",
    "biv_pipeline.cli",
    "biv_pipeline.pipeline_registry",
    "biv_pipeline.__main__",
    "biv_pipeline.training_config",  # what parameter validation needs
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
