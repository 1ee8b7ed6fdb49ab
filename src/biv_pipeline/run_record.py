"""What a training run records, by name: its statuses, its metrics and a sweep trial's fields.

The report reads a runs table in these names (``reporting``), the tracking layer writes them
to MLflow (``tracking``), and sweeps plan and resume by them. Plain constants and one rule,
no MLflow import, so the framework-free core and a notebook can use them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

# Run statuses (MLflow's names).
FINISHED = "FINISHED"
FAILED = "FAILED"
KILLED = "KILLED"
RUNNING = "RUNNING"

# A sweep trial: every training run of a sweep carries these fields (as MLflow tags).
TRIAL_TAG = "trial"
METHOD_TAG = "method"
SEED_TAG = "seed"
SETTING_TAG = "setting"
TRIAL_TAGS = (TRIAL_TAG, METHOD_TAG, SEED_TAG, SETTING_TAG)
CLEAN = "clean"  # method and setting of the baseline trained with MSE on the clean labels
AXIS_PREFIX = "axis."  # prefix of a swept non-loss, non-seed axis
PLANNED_SEEDS_TAG = "planned_seeds"  # the seeds the sweep was asked for, comma-separated

# Metrics: per epoch, and final with the prefix ``final_``. test_mse is against clean test
# labels and logged only where they are known; the noisy-label scores are logged by every run.
FINAL_PREFIX = "final_"
HISTORY_METRIC = "test_mse"  # mean (f - y)^2 on the clean test labels
NOISY_METRIC = "test_mse_noisy"  # mean (f - y~)^2 on the test labels as given (maybe noisy)
CLEAN_EST_METRIC = "test_mse_clean_est"  # mean((f - y~)^2 - sigma^2): estimates test_mse
CLEAN_EST_SE_METRIC = "test_mse_clean_est_se"  # its standard error over the test rows
FINAL_METRIC = FINAL_PREFIX + HISTORY_METRIC
FINAL_CLEAN_EST_METRIC = FINAL_PREFIX + CLEAN_EST_METRIC
EFFECTIVE_BATCH_METRIC = "mean_effective_batch_size"
FINAL_RMSE_METRIC = "final_test_rmse_raw"
FINAL_METRICS = (
    FINAL_METRIC,
    FINAL_RMSE_METRIC,
    EFFECTIVE_BATCH_METRIC,
    "skipped_batches",
    FINAL_PREFIX + NOISY_METRIC,
    FINAL_CLEAN_EST_METRIC,
    FINAL_PREFIX + CLEAN_EST_SE_METRIC,
)
# A run's headline score: the clean test MSE where the clean test labels are known, else its
# estimate from the noisy ones; each with the per-epoch metric of its learning curve.
HEADLINE_METRICS = {FINAL_METRIC: HISTORY_METRIC, FINAL_CLEAN_EST_METRIC: CLEAN_EST_METRIC}


def headline_metric(clean_labels_known: bool) -> str:
    """The name of a run's headline score (``final_test_mse`` or ``final_test_mse_clean_est``)."""
    return FINAL_METRIC if clean_labels_known else FINAL_CLEAN_EST_METRIC


def final_score(metrics: Mapping[str, float]) -> float | None:
    """A run's logged headline score: its final test MSE, else its clean-MSE estimate."""
    for name in HEADLINE_METRICS:
        value = metrics.get(name)
        if value is not None and not math.isnan(value):
            return value
    return None


# The noise the given variances miss (biv_pipeline.heterogeneity), logged where labels carry them.
TAU2_METRIC = "tau2_hat"
TAU2_SE_METRIC = "tau2_hat_se"
VARIANCE_SHARE_METRIC = "variance_share"


def is_done(status: str, final_metric: float | None) -> bool:
    """A run counts as done only when it FINISHED *and* logged its final score
    (``final_score``: its final test MSE, or the estimate where clean labels are unknown).

    A RUNNING run (its process was killed), a KILLED or FAILED one, or a FINISHED one without
    the metric (stopped before the end of the pipeline) is not done: resume runs it again and
    the report counts it as failed.
    """
    return status == FINISHED and final_metric is not None and not math.isnan(final_metric)
