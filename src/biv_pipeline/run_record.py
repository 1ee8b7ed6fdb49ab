"""What a training run records, by name: its statuses, its metrics and a sweep trial's fields.

The report reads a runs table in these names (``reporting``), the tracking layer writes them
to MLflow (``tracking``), and sweeps plan and resume by them. Plain constants and one rule,
no MLflow import, so the framework-free core and a notebook can use them.
"""

from __future__ import annotations

import math

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

# Metrics.
FINAL_METRIC = "final_test_mse"
EFFECTIVE_BATCH_METRIC = "mean_effective_batch_size"
FINAL_RMSE_METRIC = "final_test_rmse_raw"
FINAL_METRICS = (FINAL_METRIC, FINAL_RMSE_METRIC, EFFECTIVE_BATCH_METRIC, "skipped_batches")
HISTORY_METRIC = "test_mse"
# The noise the given variances miss (biv_pipeline.heterogeneity), logged where labels carry them.
TAU2_METRIC = "tau2_hat"
TAU2_SE_METRIC = "tau2_hat_se"
VARIANCE_SHARE_METRIC = "variance_share"


def is_done(status: str, final_metric: float | None) -> bool:
    """A run counts as done only when it FINISHED *and* logged its final test MSE.

    A RUNNING run (its process was killed), a KILLED or FAILED one, or a FINISHED one without
    the metric (stopped before the end of the pipeline) is not done: resume runs it again and
    the report counts it as failed.
    """
    return status == FINISHED and final_metric is not None and not math.isnan(final_metric)
