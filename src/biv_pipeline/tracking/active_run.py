"""The MLflow run open in this process, asked without importing MLflow."""

from __future__ import annotations

import sys
from typing import Any


def active_mlflow_run() -> Any:
    """The open ``mlflow.ActiveRun`` if MLflow is loaded and a run is open, else None.

    No run can be open if MLflow was never imported, so a command that never tracked
    (``kedro --help``, a bad parameter) does not pay MLflow's import to ask.
    """
    mlflow = sys.modules.get("mlflow")
    return mlflow.active_run() if mlflow is not None else None
