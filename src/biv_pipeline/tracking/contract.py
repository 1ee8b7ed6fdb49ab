"""The MLflow contract of the project, defined once: experiment, tracking URI, tag names.

Hooks write these tags, sweeps search and resume by them. What a run records that the core
reads too (statuses, metric names, a trial's fields) is :mod:`biv_pipeline.run_record`.
Plain constants and the run name (no MLflow import).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

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
# which final metric is a training run's headline score: final_test_mse (clean test labels
# known) or final_test_mse_clean_est (estimated from noisy test labels)
HEADLINE_TAG = "headline_metric"


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


NOISE_HASH_LENGTH = 6  # hex digits of the noise block's SHA-256 in a run name
EPSILON_LOSSES = ("iv", "biv")  # the losses whose weights use epsilon
CUTOFF_LOSS = "cutoff"


def noise_setting(noise: Mapping[str, Any]) -> str:
    """``clean`` for labels without noise, else ``p<p>-noise<hash>``: the share of the first
    component and a short hash of the whole noise block (seed included)."""
    if not noise.get("enabled", True):
        return "clean"
    canonical = json.dumps(noise, sort_keys=True, default=str)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:NOISE_HASH_LENGTH]
    return f"p{noise.get('p'):g}-noise{digest}"


def training_run_name(
    dataset: str,
    loss: str,
    model: str,
    seed: int,
    noise: Mapping[str, Any],
    epsilon: float | str | None = None,
    cutoff: float | None = None,
) -> str:
    """The MLflow run name of a training run, different for runs that differ in dataset, loss,
    the loss's own setting (epsilon for iv and biv, the cutoff for cutoff), model, noise
    setting (:func:`noise_setting` of the labels' validated noise block) or seed:
    ``wine-biv-eps0.5-vanilla_ann-p0.5-noise3f2a1c-seed0``."""
    setting = ""
    if loss in EPSILON_LOSSES and epsilon is not None:
        setting = f"-eps{epsilon:g}" if isinstance(epsilon, float | int) else f"-eps{epsilon}"
    elif loss == CUTOFF_LOSS and cutoff is not None:
        setting = f"-cutoff{cutoff:g}"
    return f"{dataset}-{loss}{setting}-{model}-{noise_setting(noise)}-seed{seed}"
