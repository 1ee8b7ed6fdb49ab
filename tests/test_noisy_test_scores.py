"""Scores on noisy test labels: the clean-MSE estimate against an independent formula, and its
95% interval's coverage of the true clean test MSE on synthetic data."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from biv_pipeline.data.registry import make_synthetic
from biv_pipeline.noise import NoiseConfig, resolve_mixture, sample_variances
from biv_pipeline.training import noisy_test_scores

SEEDS = 50
TEST_ROWS = 1000
Z_95 = 1.959963984540054  # the standard normal's 97.5% quantile
BIMODAL = NoiseConfig(components=[[0.05, 0.0008], [10.0, 30.0]], p=0.5)


def test_the_estimate_is_the_mean_squared_error_minus_the_variance() -> None:
    rng = np.random.default_rng(0)
    prediction, label = rng.normal(size=7), rng.normal(size=7)
    variance = rng.uniform(0, 2, 7)
    scores = noisy_test_scores(prediction, label, variance)
    differences = [
        (float(f) - float(y)) ** 2 - float(v)
        for f, y, v in zip(prediction, label, variance, strict=True)
    ]
    squared = [(float(f) - float(y)) ** 2 for f, y in zip(prediction, label, strict=True)]
    assert scores["test_mse_noisy"] == pytest.approx(math.fsum(squared) / 7, rel=1e-14)
    assert scores["test_mse_clean_est"] == pytest.approx(math.fsum(differences) / 7, rel=1e-14)
    expected_se = statistics.stdev(differences) / math.sqrt(7)
    assert scores["test_mse_clean_est_se"] == pytest.approx(expected_se, rel=1e-12)


def test_on_clean_labels_both_scores_are_the_mean_squared_error() -> None:
    prediction, label = np.array([1.0, 2.0, 4.0]), np.array([1.5, 2.0, 3.0])
    scores = noisy_test_scores(prediction, label, np.zeros(3))
    assert scores["test_mse_noisy"] == scores["test_mse_clean_est"] == pytest.approx(1.25 / 3)


def clean_mse_and_interval(seed: int) -> tuple[float, float, float]:
    """A least-squares fit on the synthetic problem's training rows, scored on test labels with
    bimodal noise: the true clean test MSE and the estimate's 95% interval."""
    frame = make_synthetic(2 * TEST_ROWS, 8, seed)
    x = np.column_stack([frame.drop(columns="y").to_numpy(), np.ones(len(frame))])
    y = frame["y"].to_numpy()
    coefficients, *_ = np.linalg.lstsq(x[:TEST_ROWS], y[:TEST_ROWS], rcond=None)
    prediction, clean = x[TEST_ROWS:] @ coefficients, y[TEST_ROWS:]
    rng = np.random.default_rng(seed + 1000)
    _, variance = sample_variances(resolve_mixture(BIMODAL), TEST_ROWS, rng)
    noisy = clean + rng.standard_normal(TEST_ROWS) * np.sqrt(variance)
    scores = noisy_test_scores(prediction, noisy, variance)
    half = Z_95 * scores["test_mse_clean_est_se"]
    estimate = scores["test_mse_clean_est"]
    return float(np.mean((prediction - clean) ** 2)), estimate - half, estimate + half


def test_the_95_percent_interval_covers_the_clean_mse_in_at_least_90_percent_of_seeds() -> None:
    covered = 0
    for seed in range(SEEDS):
        truth, low, high = clean_mse_and_interval(seed)
        covered += low <= truth <= high
    assert covered >= 0.9 * SEEDS, f"covered in {covered} of {SEEDS} seeds"
