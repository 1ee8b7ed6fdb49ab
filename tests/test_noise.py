"""The noise model: sampler statistics, mixture rules, validation, determinism."""

from __future__ import annotations

import math
from dataclasses import fields, replace

import numpy as np
import pytest

from biv_pipeline.data.schema import NOISY
from biv_pipeline.errors import ParameterError
from biv_pipeline.noise import (
    NoiseConfig,
    NoisyLabels,
    component_weights,
    corrupt_labels,
    resolve_mixture,
    sample_variances,
    variance_scale,
)
from biv_pipeline.parameters.contract import parse_block

N_DRAWS = 200_000


def draw(config: NoiseConfig, n: int = N_DRAWS, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    return sample_variances(resolve_mixture(config), n, np.random.default_rng(seed))


def within_standard_errors(sample: np.ndarray, expected_mean: float, expected_var: float) -> None:
    """Sample mean within 5 standard errors; sample variance within 5% (plenty at 1e5 draws)."""
    assert abs(sample.mean() - expected_mean) < 5 * math.sqrt(expected_var / len(sample))
    assert sample.var() == pytest.approx(expected_var, rel=0.05)


@pytest.mark.parametrize("distribution", ["uniform", "gamma"])
def test_meanvar_components_have_the_requested_moments(distribution: str) -> None:
    components = [[0.5, 0.05], [10.0, 30.0]]
    config = NoiseConfig(components=components, distribution=distribution, p=0.3)
    component, variance = draw(config)
    for index, (mean, var) in enumerate(components):
        within_standard_errors(variance[component == index], mean, var)


def test_mixture_proportions_follow_p() -> None:
    config = NoiseConfig(components=[[1.0, 0.1], [5.0, 1.0]], p=0.3)
    component, _ = draw(config)
    assert (component == 0).mean() == pytest.approx(0.3, abs=0.005)


def test_uniform_bounds_are_respected() -> None:
    config = NoiseConfig(components=[[0.0, 1.0]], parameterisation="bounds")
    _, variance = draw(config)
    assert variance.min() >= 0.0
    assert variance.max() <= 1.0
    within_standard_errors(variance, 0.5, 1 / 12)


def test_gamma_alphabeta_is_shape_and_rate() -> None:
    shape, rate = 2.0, 4.0
    config = NoiseConfig(
        components=[[shape, rate]], distribution="gamma", parameterisation="alphabeta"
    )
    _, variance = draw(config)
    within_standard_errors(variance, shape / rate, shape / rate**2)


def test_average_variance_constraint_holds() -> None:
    config = NoiseConfig(components=[[1.0, 0.1], [5.0, 2.0]], p=0.4, average_variance=3.0)
    _, variance = draw(config)
    assert resolve_mixture(config).mean_variance() == pytest.approx(3.0)
    within_standard_errors(variance, 3.0, variance.var())


def test_average_variance_keeps_the_second_components_variance() -> None:
    config = NoiseConfig(components=[[1.0, 0.1], [5.0, 2.0]], p=0.4, average_variance=3.0)
    component, variance = draw(config)
    mu2 = (3.0 - 0.4 * 1.0) / 0.6
    within_standard_errors(variance[component == 1], mu2, 2.0)


def test_hetero_scale_sets_variance_to_a_fraction_of_the_maximum() -> None:
    mean, scale = 2.0, 0.25
    config = NoiseConfig(components=[[mean, 99.0]], hetero_scale=scale)
    _, variance = draw(config)
    within_standard_errors(variance, mean, scale * 4 * mean**2 / 12)


@pytest.mark.parametrize(
    ("p", "n", "expected"),
    [
        (0.3, 1, [1.0]),
        (0.3, 2, [0.3, 0.7]),
        (0.3, 3, [0.15, 0.15, 0.7]),
        (0.6, 4, [0.3, 0.3, 0.2, 0.2]),
        (0.6, 5, [0.2, 0.2, 0.2, 0.2, 0.2]),
    ],
)
def test_component_weights_split_p_as_the_original(p: float, n: int, expected: list[float]) -> None:
    np.testing.assert_allclose(component_weights(p, n), expected)


def test_explicit_weights_override_p() -> None:
    config = NoiseConfig(components=[[1.0, 0.1], [2.0, 0.1], [3.0, 0.1]], weights=[0.1, 0.2, 0.7])
    component, _ = draw(config)
    np.testing.assert_allclose(np.bincount(component) / N_DRAWS, [0.1, 0.2, 0.7], atol=0.005)


def test_same_seed_gives_bit_identical_labels() -> None:
    config = NoiseConfig(components=[[0.05, 0.0008], [10.0, 30.0]], disturbance=0.5)
    y = np.linspace(-1, 1, 1000)
    first = corrupt_labels(y, config, 1.0, np.random.default_rng(7))
    second = corrupt_labels(y, config, 1.0, np.random.default_rng(7))
    other = corrupt_labels(y, config, 1.0, np.random.default_rng(8))
    for name in ("y_noisy", "variance", "variance_seen", "component"):
        assert np.array_equal(getattr(first, name), getattr(second, name))
    assert not np.array_equal(first.y_noisy, other.y_noisy)


def test_label_noise_has_the_sampled_variance() -> None:
    config = NoiseConfig(components=[[2.0, 0.5]])
    y = np.zeros(N_DRAWS)
    labels = corrupt_labels(y, config, 1.0, np.random.default_rng(0))
    standardised = labels.y_noisy / np.sqrt(labels.variance)
    within_standard_errors(standardised, 0.0, 1.0)


def test_tau2_adds_noise_of_that_variance_recorded_in_no_variance() -> None:
    config = NoiseConfig(components=[[2.0, 0.5]], disturbance=1.0)
    y = np.zeros(N_DRAWS)
    plain = corrupt_labels(y, config, 0.25, np.random.default_rng(0))
    missed = corrupt_labels(y, replace(config, tau2=3.0), 0.25, np.random.default_rng(0))
    for name in ("variance", "variance_seen", "component"):
        assert np.array_equal(getattr(missed, name), getattr(plain, name))
    within_standard_errors(missed.y_noisy - plain.y_noisy, 0.0, 3.0 * 0.25)


def test_tau2_zero_draws_every_label_as_before() -> None:
    config = NoiseConfig(components=[[0.05, 0.0008], [10.0, 30.0]], disturbance=0.5)
    labels = corrupt_labels(np.linspace(-1, 1, 1000), config, 1.0, np.random.default_rng(7))
    rng = np.random.default_rng(7)  # the draws written out: components, variances, noise
    component, variance = sample_variances(resolve_mixture(config), 1000, rng)
    assert np.array_equal(labels.component, component)
    expected = np.linspace(-1, 1, 1000) + rng.standard_normal(1000) * np.sqrt(variance)
    assert np.array_equal(labels.y_noisy, expected)


def test_variance_scale_multiplies_every_variance() -> None:
    config = NoiseConfig(components=[[2.0, 0.5]])
    y = np.zeros(1000)
    plain = corrupt_labels(y, config, 1.0, np.random.default_rng(0))
    scaled = corrupt_labels(y, config, 0.25, np.random.default_rng(0))
    np.testing.assert_allclose(scaled.variance, plain.variance * 0.25)


def test_disturbance_changes_only_the_seen_variance() -> None:
    config = NoiseConfig(components=[[2.0, 0.5]], disturbance=1.0)
    labels = corrupt_labels(np.zeros(N_DRAWS), config, 1.0, np.random.default_rng(0))
    error = labels.variance_seen - labels.variance
    assert (labels.variance_seen >= 0).all()
    # |var + N(0, d (var/3)^2)|: the error's spread is var/3 for d = 1 (var >= 0.8 here, no folding)
    assert np.std(error / (labels.variance / 3)) == pytest.approx(1.0, rel=0.02)


def test_disabled_noise_keeps_clean_labels() -> None:
    config = NoiseConfig(components=[[2.0, 0.5]], enabled=False)
    y = np.linspace(0, 1, 10)
    labels = corrupt_labels(y, config, 1.0, np.random.default_rng(0))
    assert np.array_equal(labels.y_noisy, y)
    assert not labels.variance.any()


@pytest.mark.parametrize(
    ("units", "normalized", "expected"),
    [
        ("raw", True, 1 / 4),
        ("raw", False, 1.0),
        ("normalized", True, 1.0),
        ("normalized", False, 4),
    ],
)
def test_variance_scale_converts_units(units: str, normalized: bool, expected: float) -> None:
    assert variance_scale(units, 2.0, normalized) == pytest.approx(expected)


BASE = {"components": [[0.05, 0.0008], [10.0, 30.0]]}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"distribution": "normal"}, "noise.distribution: input should be 'uniform' or 'gamma'"),
        ({"parameterisation": "manvar"}, "noise.parameterisation: input should be 'bounds', "),
        ({"units": "kg"}, "noise.units: input should be 'normalized' or 'raw'; got 'kg'"),
        ({"p": 1.5}, "noise.p: input should be less than or equal to 1; got 1.5"),
        ({"p": -0.1}, "noise.p: input should be greater than or equal to 0"),
        ({"p": True}, "noise.p: input should be a valid number; got True"),
        ({"p": "abc"}, "noise.p: input should be a valid number; got 'abc'"),
        (
            {"p": float("nan")},
            "noise.p: input should be less than or equal to 1; got nan, which is",
        ),
        ({"pp": 0.3}, "noise.pp: unknown parameter; did you mean noise.p?"),
        (
            {"components": [0.05, 10.0]},
            "noise.components[0]: input should be a valid list; got 0.05",
        ),
        ({"components": [[1.0, -0.5]]}, "variance >= 0"),
        ({"components": [[0.0, 0.5]]}, "the mean must be > 0"),
        ({"components": [[1.0, 1.0]]}, "uniform lower bound"),
        ({"components": [[1.0, 0.0]], "distribution": "gamma"}, "variance > 0 for gamma"),
        ({"components": [[-1.0, 1.0]], "distribution": "gamma"}, "the mean must be > 0"),
        (
            {"components": [[0.0, 1.0]], "distribution": "gamma", "parameterisation": "alphabeta"},
            "both must be > 0",
        ),
        ({"components": [[2.0, 1.0]], "parameterisation": "bounds"}, "need 0 <= a <= b"),
        (
            {"components": [[1.0, 2.0, 3.0]]},
            "noise.components[0]: list should have at most 2 items",
        ),
        ({"components": []}, "noise.components: list should have at least 1 item"),
        ({"average_variance": 0.01, "p": 0.5}, "must be > 0"),
        ({"average_variance": 5.0, "p": 1.0}, "noise.p = 1"),
        ({"components": [[1.0, 0.1]], "average_variance": 5.0}, "needs exactly 2 components"),
        ({"hetero_scale": 1.5}, "noise.hetero_scale: input should be less than or equal to 1"),
        ({"hetero_scale": 0.5, "distribution": "gamma"}, "applies to distribution: uniform"),
        ({"weights": [0.5, 0.6]}, "noise.weights must be 2 non-negative probabilities"),
        ({"weights": [1.0]}, "noise.weights must be 2"),
        ({"threshold": 0.0}, "noise.threshold: input should be greater than 0; got 0.0"),
        ({"disturbance": -1.0}, "noise.disturbance: input should be greater than or equal to 0"),
        ({"tau2": -1.0}, "noise.tau2: input should be greater than or equal to 0"),
        ({"tau2": 0.5, "enabled": False}, "noise.tau2: 0.5 adds noise that noise.enabled: false"),
        ({"seed": 1.5}, "noise.seed: input should be a valid integer; got 1.5"),
        ({"seed": -1}, "noise.seed: input should be greater than or equal to 0; got -1"),
    ],
)
def test_invalid_parameters_raise_a_message_naming_them(overrides: dict, message: str) -> None:
    with pytest.raises(ParameterError) as error:
        parse_block("noise", {**BASE, **overrides})
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_average_variance_error_names_the_needed_mean() -> None:
    with pytest.raises(ValueError, match=r"mu2 = -"):
        NoiseConfig(components=[[1.0, 0.1], [5.0, 1.0]], p=0.5, average_variance=0.2)


def test_config_is_a_frozen_value() -> None:
    config = NoiseConfig(**BASE)
    assert replace(config, p=0.7).p == 0.7
    with pytest.raises(AttributeError):
        config.p = 0.1  # type: ignore[misc]


def test_the_noisy_labels_are_the_columns_of_the_noisy_table_schema() -> None:
    assert tuple(field.name for field in fields(NoisyLabels)) == NOISY.names()
