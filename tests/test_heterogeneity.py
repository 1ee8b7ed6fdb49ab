"""tau2_hat, the noise the given variances miss, checked by independent paths: PyMARE's
DerSimonianLaird, the textbook formula written out in float64, and simulation."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from biv_pipeline.errors import ParameterError
from biv_pipeline.heterogeneity import (
    dersimonian_laird,
    estimate_heterogeneity,
    pooled_image_features,
    resolve_epsilon,
    with_intercept,
)
from biv_pipeline.parameters.training import TrainingConfig

SEEDS = range(10)


def bimodal_variances(n: int, rng: np.random.Generator) -> np.ndarray:
    """The paper's declared variances: half near-clean U(0.001, 0.099), half U(0.51, 19.49)."""
    near_clean = rng.random(n) < 0.5
    return np.where(near_clean, rng.uniform(0.001, 0.099, n), rng.uniform(0.51, 19.49, n))


def linear_problem(
    n: int, tau2: float, seed: int, features: int = 5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(y, declared variances, design with intercept) of y = X beta + N(0, sigma^2 + tau^2),
    in the order ``dersimonian_laird`` takes them."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features))
    variance = bimodal_variances(n, rng)
    beta = rng.standard_normal(features)
    y = 0.3 + x @ beta + rng.standard_normal(n) * np.sqrt(variance + tau2)
    return y, variance, with_intercept(x)


def textbook_dersimonian_laird(y: np.ndarray, v: np.ndarray, x: np.ndarray) -> float:
    """DL for meta-regression with explicit matrices: Q from the weighted fit,
    A = tr(W) - tr((X'WX)^-1 X'W^2 X), tau^2 = max(0, (Q - (k - p)) / A)."""
    w = np.diag(1.0 / v)
    k, p = x.shape
    precision = np.linalg.inv(x.T @ w @ x)
    beta = precision @ x.T @ w @ y
    q = (y - x @ beta) @ w @ (y - x @ beta)
    a = np.trace(w) - np.trace(precision @ x.T @ w @ w @ x)
    return max(0.0, (q - (k - p)) / a)


@pytest.mark.parametrize("tau2", [0.0, 0.7, 3.0])
def test_tau2_hat_equals_pymares_dersimonian_laird(tau2: float) -> None:
    from pymare.estimators import DerSimonianLaird  # noqa: PLC0415 - a test-only dependency

    y, variance, design = linear_problem(600, tau2, seed=1)
    expected = DerSimonianLaird().fit(y, variance, design).params_["tau2"]
    assert dersimonian_laird(y, variance, design).tau2_hat == pytest.approx(
        float(np.squeeze(expected)), rel=1e-8, abs=1e-12
    )


def test_tau2_hat_equals_the_textbook_formula_in_float64() -> None:
    y, variance, design = linear_problem(500, 1.5, seed=2)
    assert dersimonian_laird(y, variance, design).tau2_hat == pytest.approx(
        textbook_dersimonian_laird(y, variance, design), rel=1e-8
    )


@pytest.mark.parametrize("tau2", [0.5, 2.0])
def test_median_over_ten_seeds_at_n_4000_is_within_20_percent_of_tau2(tau2: float) -> None:
    estimates = [dersimonian_laird(*linear_problem(4000, tau2, seed)).tau2_hat for seed in SEEDS]
    assert abs(np.median(estimates) - tau2) <= 0.2 * tau2


def test_the_standard_error_is_the_spread_of_the_estimate_over_seeds() -> None:
    fits = [dersimonian_laird(*linear_problem(400, 1.0, seed)) for seed in range(300)]
    spread = np.std([fit.tau2_hat for fit in fits], ddof=1)
    assert np.mean([fit.standard_error for fit in fits]) == pytest.approx(spread, rel=0.15)


def test_a_rank_deficient_design_is_fitted_on_its_rank() -> None:
    y, variance, design = linear_problem(300, 1.0, seed=3)
    doubled = np.hstack([design, design[:, 1:2]])  # a column repeated, as one-hot beside 1
    full, deficient = (
        dersimonian_laird(y, variance, design),
        dersimonian_laird(y, variance, doubled),
    )
    assert deficient.rank == full.rank == design.shape[1]
    assert deficient.tau2_hat == pytest.approx(full.tau2_hat, rel=1e-9)


def test_a_linear_pilot_fit_of_a_non_linear_problem_is_an_upper_bound() -> None:
    """E[tau2_hat] = tau^2 + mu' M mu / A, mu the part of E[y | x] the linear design misses."""
    excesses = []
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((4000, 3))
        variance = bimodal_variances(4000, rng)
        clean = np.sin(2 * x[:, 0]) + 0.5 * x[:, 1] ** 2 + x[:, 2]
        y = clean + rng.standard_normal(4000) * np.sqrt(variance + 1.0)
        design, w = with_intercept(x), 1 / variance
        hat = design @ np.linalg.solve(design.T @ (w[:, None] * design), (w * clean) @ design)
        misfit = clean - hat
        leverage = np.einsum(
            "ij,jk,ik->i", design, np.linalg.inv(design.T @ (w[:, None] * design)), design
        )
        expected_excess = (w * misfit**2).sum() / (w * (1 - w * leverage)).sum()
        excesses.append(estimate_heterogeneity(x, y, variance).tau2_hat - 1.0 - expected_excess)
        assert expected_excess > 0.1
    assert abs(np.median(excesses)) < 0.1


def test_labels_without_variances_give_no_estimate() -> None:
    x = np.random.default_rng(0).standard_normal((50, 2))
    assert estimate_heterogeneity(x, x[:, 0], np.zeros(50)) is None


def test_labels_without_a_positive_variance_are_left_out() -> None:
    y, variance, design = linear_problem(300, 1.0, seed=4)
    features = design[:, 1:]
    with_zeros = np.concatenate([variance, [0.0, 0.0]])
    kept = estimate_heterogeneity(
        np.vstack([features, features[:2]]), np.concatenate([y, [1e6, -1e6]]), with_zeros
    )
    assert kept is not None
    assert kept.tau2_hat == pytest.approx(dersimonian_laird(y, variance, design).tau2_hat)
    assert kept.n == 300


def test_the_variance_share_is_the_given_part_of_the_noise() -> None:
    fit = dersimonian_laird(*linear_problem(2000, 2.0, seed=5))
    assert fit.variance_share == pytest.approx(
        fit.mean_variance / (fit.mean_variance + fit.tau2_hat)
    )
    assert fit.looks_incomplete == (fit.variance_share < 0.8)


def test_pooled_image_features_are_channel_means_of_grid_cells() -> None:
    images = np.random.default_rng(0).integers(0, 256, (5, 3, 9, 8), dtype=np.uint8)
    pooled = pooled_image_features(images, np.array([4, 1]), grid=2)
    expected = images[[4, 1], :, :8, :8].reshape(2, 3, 2, 4, 2, 4).mean(axis=(3, 5)) / 255
    np.testing.assert_allclose(pooled, expected.reshape(2, 12))


@pytest.mark.parametrize("loss", ["iv", "biv"])
def test_epsilon_tau2_hat_becomes_the_estimate_for_iv_and_biv(loss: str) -> None:
    fit = dersimonian_laird(*linear_problem(300, 1.0, seed=6))
    config = TrainingConfig(loss=loss, epsilon="tau2_hat")
    assert resolve_epsilon(config, fit) == replace(config, epsilon=fit.tau2_hat)


def test_other_settings_are_left_as_they_are() -> None:
    fit = dersimonian_laird(*linear_problem(300, 1.0, seed=6))
    for config in (TrainingConfig(loss="mse", epsilon="tau2_hat"), TrainingConfig(epsilon="auto")):
        assert resolve_epsilon(config, fit) is config
    assert (
        resolve_epsilon(TrainingConfig(loss="mse", epsilon="tau2_hat"), None).epsilon == "tau2_hat"
    )


def test_epsilon_tau2_hat_without_variances_is_refused() -> None:
    with pytest.raises(
        ParameterError, match="epsilon: tau2_hat needs training labels with variances"
    ):
        resolve_epsilon(TrainingConfig(loss="biv", epsilon="tau2_hat"), None)
