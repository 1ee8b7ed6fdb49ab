"""The classical models against independent float64 formulas and scikit-learn's own GP."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.gaussian_process import GaussianProcessRegressor

from biv_pipeline.classical import fit_classical, select_labels
from biv_pipeline.data.preprocessing import Normalisation
from biv_pipeline.parameters.training import TrainingConfig
from biv_pipeline.serving import serve_rows

ROWS, TEST_ROWS, FEATURES = 300, 50, 4


def labelled_rows(seed: int = 0) -> tuple[np.ndarray, ...]:
    """Features (n, F), noisy labels and their variances (a near-clean and a noisy half),
    and test features: a smooth function of the features plus noise of that variance."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(ROWS, FEATURES))
    variance = np.where(rng.random(ROWS) < 0.5, rng.uniform(0.01, 0.1, ROWS), 5.0)
    y = np.sin(x[:, 0]) + x[:, 1] - 0.5 * x[:, 2] + rng.normal(size=ROWS) * np.sqrt(variance)
    return x, y, variance, rng.normal(size=(TEST_ROWS, FEATURES))


def config(model: str, loss: str, **settings: object) -> TrainingConfig:
    return TrainingConfig(model=model, loss=loss, **settings)


def with_intercept(x: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones(len(x)), x])


def test_linear_iv_is_closed_form_weighted_least_squares() -> None:
    x, y, variance, test = labelled_rows()
    model = fit_classical(config("linear", "iv", epsilon=0.1), x, y, variance)
    # beta = (X^T W X)^-1 X^T W y with W = diag(1 / (variance + epsilon)), in float64
    design, weights = with_intercept(x), 1.0 / (variance + 0.1)
    beta = np.linalg.solve(design.T @ (weights[:, None] * design), design.T @ (weights * y))
    np.testing.assert_allclose(model.predict(test), with_intercept(test) @ beta, rtol=1e-8)
    assert model.fit_rows == ROWS


def test_linear_mse_is_ordinary_least_squares() -> None:
    x, y, variance, test = labelled_rows()
    model = fit_classical(config("linear", "mse"), x, y, variance)
    beta = np.linalg.lstsq(with_intercept(x), y, rcond=None)[0]
    np.testing.assert_allclose(model.predict(test), with_intercept(test) @ beta, rtol=1e-8)


def test_cutoff_drops_the_labels_at_or_above_the_cutoff() -> None:
    x, y, variance, test = labelled_rows()
    variance[:3] = 1.0  # exactly at the cutoff: dropped
    y = np.where(variance >= 1.0, 1e6, y)  # labels that would dominate any fit they were in
    model = fit_classical(config("linear", "cutoff", cutoff=1.0), x, y, variance)
    kept = variance < 1.0
    beta = np.linalg.lstsq(with_intercept(x[kept]), y[kept], rcond=None)[0]
    np.testing.assert_allclose(model.predict(test), with_intercept(test) @ beta, rtol=1e-8)
    assert model.fit_rows == kept.sum()


def test_iv_weights_are_one_over_variance_plus_epsilon_in_float64() -> None:
    variance = np.array([0.0, 0.25, 4.0], dtype=np.float32)
    labels = select_labels(config("gbm", "iv", epsilon=0.5), variance)
    np.testing.assert_array_equal(labels.rows, [0, 1, 2])
    assert labels.weights.dtype == np.float64
    np.testing.assert_allclose(labels.weights, [2.0, 4.0 / 3.0, 1.0 / 4.5], rtol=1e-15)
    assert select_labels(config("gbm", "mse"), variance).weights is None


def test_gp_with_equal_variances_is_scikit_learns_gp_with_the_same_fixed_kernel() -> None:
    x, y, _, test = labelled_rows()
    equal = np.full(ROWS, 0.3)
    model = fit_classical(config("gp", "iv", epsilon=0.5), x, y, equal)
    fitted_kernel = model.estimator.kernel_
    reference = GaussianProcessRegressor(fitted_kernel, alpha=0.8, optimizer=None).fit(x, y)
    np.testing.assert_allclose(model.predict(test), reference.predict(test), rtol=1e-10)
    # and the posterior mean in closed form: k(test, X) (K + (sigma^2 + eps) I)^-1 y
    gram = fitted_kernel(x) + 0.8 * np.eye(ROWS)
    mean = fitted_kernel(test, x) @ np.linalg.solve(gram, y)
    np.testing.assert_allclose(model.predict(test), mean, rtol=1e-8)


def test_gp_fits_a_white_noise_term_without_given_variances() -> None:
    x, y, variance, _ = labelled_rows()
    model = fit_classical(config("gp", "mse"), x, y, variance)
    assert "WhiteKernel" in repr(model.estimator.kernel_)
    assert "WhiteKernel" not in repr(fit_classical(config("gp", "iv"), x, y, variance).estimator)


def test_gp_learns_from_at_most_gp_max_rows_drawn_with_the_seed() -> None:
    x, y, variance, test = labelled_rows()
    drawn = config("gp", "iv", gp_max_rows=100)
    first, again = (fit_classical(drawn, x, y, variance) for _ in range(2))
    other_seed = fit_classical(replace(drawn, seed=1), x, y, variance)
    assert first.fit_rows == other_seed.fit_rows == 100
    np.testing.assert_array_equal(first.predict(test), again.predict(test))
    assert not np.allclose(first.predict(test), other_seed.predict(test))


def test_gbm_is_reproducible_for_a_seed() -> None:
    x, y, variance, test = labelled_rows()
    weighted = config("gbm", "iv")
    first, again = (fit_classical(weighted, x, y, variance).predict(test) for _ in range(2))
    np.testing.assert_array_equal(first, again)
    unweighted = fit_classical(config("gbm", "mse"), x, y, variance).predict(test)
    assert not np.allclose(first, unweighted)


def test_the_served_model_takes_raw_rows_and_answers_in_raw_units() -> None:
    x, y, variance, test = labelled_rows()
    model = fit_classical(config("linear", "iv"), x, y, variance)
    columns = [f"x{j}" for j in range(FEATURES)]
    mean, std = np.arange(FEATURES) + 1.0, np.arange(FEATURES) + 0.5
    feature_mean = dict(zip(columns, mean, strict=True))
    stats = Normalisation(True, feature_mean, dict(zip(columns, std, strict=True)), 10.0, 2.0)
    served = serve_rows(model.predict, stats, None)
    raw = pd.DataFrame(test * std + mean, columns=columns)
    expected = model.predict(test) * 2.0 + 10.0
    np.testing.assert_allclose(served.predict(raw[columns[::-1]]), expected, rtol=1e-12)


def test_a_network_config_is_not_fitted_as_a_classical_model() -> None:
    x, y, variance, _ = labelled_rows()
    with pytest.raises(ValueError, match="model vanilla_ann is not one of linear, gbm, gp"):
        fit_classical(config("vanilla_ann", "mse"), x, y, variance)
