"""biv-pipeline: Batch Inverse-Variance weighting for regression with known label-noise variance.

Importing the package turns MLflow's telemetry off unless the user set
``MLFLOW_DISABLE_TELEMETRY`` themselves: every ``kedro`` command of the project,
``python -m biv_pipeline`` and every Ray worker of a sweep import it before MLflow (which reads
the variable when it is imported).
"""

import os

MLFLOW_TELEMETRY_ENV = "MLFLOW_DISABLE_TELEMETRY"  # MLflow reports usage unless it is "true"
TELEMETRY_OFF = "true"

os.environ.setdefault(MLFLOW_TELEMETRY_ENV, TELEMETRY_OFF)

__version__ = "0.1.0"
