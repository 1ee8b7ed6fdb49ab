"""The MLflow contract of the project, defined once: experiment, tag names, statuses, metrics.

Hooks write these tags, sweeps search and resume by them, and the report reads them. Plain
constants (no MLflow import), so the framework-free core can use them too.
"""

from __future__ import annotations

import math

EXPERIMENT = "biv-pipeline"
DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
# MLflow reports usage unless this is "true"; the package sets it unless the user did
MLFLOW_TELEMETRY_ENV = "MLFLOW_DISABLE_TELEMETRY"
TELEMETRY_OFF = "true"
# MLflow 3's UI opens an experiment on this page kind; the runs table is the traditional-ML one.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"

# Run statuses (MLflow's names).
FINISHED = "FINISHED"
FAILED = "FAILED"
KILLED = "KILLED"
RUNNING = "RUNNING"

# Lineage of a training run: which versions of the catalog's datasets it read and wrote.
NOISY_TRAIN_VERSION_TAG = "noisy_train_version"  # the noisy labels it trained on
INGEST_VERSION_TAG = "ingest_version"  # the split and normalisation those labels came from
# kedro-mlflow tags every run, when it opens, with Kedro's run id: the save version of
# everything the run wrote (its model, predictions, history under data/<layer>/<dataset>/).
KEDRO_RUN_ID_TAG = "run_id"
END_REASON_TAG = "end_reason"  # why a run did not finish (interrupted, error)
ERROR_TAG = "error"  # the traceback of a failed sweep trial
RUN_NAME_TAG = "mlflow.runName"
USER_TAG = "tag"  # the free-text `tag` parameter (the original's experiment tag)

# Sweep trials: every training run of a sweep carries these.
SWEEP_TAG = "sweep"
TRIAL_TAG = "trial"
METHOD_TAG = "method"
SEED_TAG = "seed"
SETTING_TAG = "setting"
TRIAL_TAGS = (TRIAL_TAG, METHOD_TAG, SEED_TAG, SETTING_TAG)
CLEAN = "clean"  # method and setting of the baseline trained with MSE on the clean labels
AXIS_PREFIX = "axis."  # tag prefix of a swept non-loss, non-seed axis
FINGERPRINT_TAG = "fingerprint"  # hash of the trial's resolved parameters
PLANNED_SEEDS_TAG = "planned_seeds"  # the seeds the sweep was asked for, comma-separated

# Metrics.
FINAL_METRIC = "final_test_mse"
EFFECTIVE_BATCH_METRIC = "mean_effective_batch_size"
FINAL_RMSE_METRIC = "final_test_rmse_raw"
FINAL_METRICS = (FINAL_METRIC, FINAL_RMSE_METRIC, EFFECTIVE_BATCH_METRIC, "skipped_batches")
HISTORY_METRIC = "test_mse"


def training_run_name(dataset: str, loss: str) -> str:
    """The MLflow run name of a training run: ``<dataset>-<loss>``, e.g. ``wine-biv``."""
    return f"{dataset}-{loss}"


def is_done(status: str, final_metric: float | None) -> bool:
    """A run counts as done only when it FINISHED *and* logged its final test MSE.

    A RUNNING run (its process was killed), a KILLED or FAILED one, or a FINISHED one without
    the metric (stopped before the end of the pipeline) is not done: resume runs it again and
    the report counts it as failed.
    """
    return status == FINISHED and final_metric is not None and not math.isnan(final_metric)
