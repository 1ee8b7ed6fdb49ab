"""The MLflow contract of the project, defined once: experiment, tracking URI, tag names.

Hooks write these tags, sweeps search and resume by them. What a run records that the core
reads too (statuses, metric names, a trial's fields) is :mod:`biv_pipeline.run_record`.
Plain constants (no MLflow import).
"""

from __future__ import annotations

EXPERIMENT = "biv-pipeline"
DEFAULT_DATABASE = "mlflow.db"  # at the project root
DEFAULT_TRACKING_URI = f"sqlite:///{DEFAULT_DATABASE}"
# MLflow 3's UI opens an experiment on this page kind; the runs table is the traditional-ML one.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"

# Lineage of a training run: which versions of the catalog's datasets it read and wrote.
NOISY_TRAIN_VERSION_TAG = "noisy_train_version"  # the noisy labels it trained on
INGEST_VERSION_TAG = "ingest_version"  # the split and normalisation those labels came from
# kedro-mlflow tags every run, when it opens, with Kedro's run id: the save version of
# everything the run wrote (its model, predictions, history under data/<layer>/<dataset>/).
KEDRO_RUN_ID_TAG = "run_id"
END_REASON_TAG = "end_reason"  # why a run did not finish (interrupted, error)
ERROR_TAG = "error"  # a failed sweep trial's error, in one line (the traceback is in its log)
RUN_NAME_TAG = "mlflow.runName"
USER_TAG = "tag"  # the free-text `tag` parameter (the original's experiment tag)
SWEEP_TAG = "sweep"  # every training run of a sweep carries its sweep's name
FINGERPRINT_TAG = "fingerprint"  # hash of a trial's resolved parameters


# What the YAML files read through the ``tracking`` resolver (``${tracking:experiment}``).
YAML_SETTINGS = {
    "experiment": EXPERIMENT,
    "default_uri": DEFAULT_TRACKING_URI,
    "experiment_kind": EXPERIMENT_KIND,
}


def yaml_setting(name: str) -> str:
    """The value of ``${tracking:<name>}`` in ``conf/``: the experiment name or default URI."""
    try:
        return YAML_SETTINGS[name]
    except KeyError:
        raise KeyError(
            f"${{tracking:{name}}}: unknown; known: {', '.join(YAML_SETTINGS)}"
        ) from None


def training_run_name(dataset: str, loss: str) -> str:
    """The MLflow run name of a training run: ``<dataset>-<loss>``, e.g. ``wine-biv``."""
    return f"{dataset}-{loss}"
