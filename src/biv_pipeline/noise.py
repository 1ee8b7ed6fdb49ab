"""Heteroscedastic label noise with known per-label variance.

Each training label gets a noise variance drawn from a mixture of uniform or gamma
distributions, then Gaussian noise of that variance: ``y_noisy = y + N(0, variance)``.
Everything is vectorised and driven by one seeded ``numpy.random.Generator``. A table that
declares its labels' variances has noisy labels already: ``noise.source`` says whether to use
them as they are, add sampled noise on top, or ignore them
(:mod:`biv_pipeline.data.declared_noise`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
from pydantic import Field
from pydantic import dataclasses as pydantic_dataclasses

from biv_pipeline.errors import ParameterError
from biv_pipeline.parameters.types import (
    BLOCK_CONFIG,
    Flag,
    NonNegativeReal,
    PositiveReal,
    Probability,
    Real,
    Seed,
)

Distribution = Literal["uniform", "gamma"]
Parameterisation = Literal["bounds", "alphabeta", "meanvar"]
Units = Literal["normalized", "raw"]
# where the training labels' noise comes from (biv_pipeline.data.declared_noise.resolve_source)
Source = Literal["auto", "declared", "synthetic", "declared_plus_synthetic"]

WEIGHTS_TOLERANCE = 1e-6
# one mixture component: [x, y], read per parameterisation (bounds, alphabeta or meanvar)
ComponentPair = Annotated[list[Real], Field(min_length=2, max_length=2)]


@pydantic_dataclasses.dataclass(frozen=True, config=BLOCK_CONFIG)
class NoiseConfig:
    """The user-facing ``noise`` parameter block (fields: ``conf/base/parameters_noise.yml``),
    validated on construction: pydantic checks keys, types and ranges; ``__post_init__`` the
    rules that tie fields together."""

    components: Annotated[list[ComponentPair], Field(min_length=1)]
    enabled: Flag = True
    source: Source = "auto"
    distribution: Distribution = "uniform"
    parameterisation: Parameterisation = "meanvar"
    p: Probability = 0.5
    weights: list[NonNegativeReal] | None = None
    average_variance: PositiveReal | None = None
    hetero_scale: Probability | None = None
    threshold: PositiveReal | None = None
    disturbance: NonNegativeReal = 0.0
    tau2: NonNegativeReal = 0.0
    units: Units = "normalized"
    seed: Seed = 7159

    def __post_init__(self) -> None:
        if self.source == "declared_plus_synthetic" and not self.enabled:
            raise ParameterError(
                "noise.source: declared_plus_synthetic adds sampled noise, which "
                "noise.enabled: false switches off; use noise.source: declared for the "
                "declared labels alone"
            )
        if self.tau2 > 0 and not self.enabled:
            raise ParameterError(
                f"noise.tau2: {self.tau2} adds noise that noise.enabled: false "
                "switches off; set noise.tau2: 0 or noise.enabled: true"
            )
        self._check_weights()
        self._check_average_variance()
        self._check_hetero_scale()
        # Resolving the mixture validates the component parameters themselves.
        resolve_mixture(self)

    def _check_weights(self) -> None:
        if self.weights is None:
            return
        weights = np.asarray(self.weights, dtype=float)
        if weights.shape != (len(self.components),) or abs(weights.sum() - 1.0) > WEIGHTS_TOLERANCE:
            raise ParameterError(
                f"noise.weights must be {len(self.components)} non-negative probabilities "
                f"summing to 1 (one per component); got {self.weights!r}"
            )

    def _check_average_variance(self) -> None:
        if self.average_variance is None:
            return
        if len(self.components) != 2:
            raise ParameterError(
                f"noise.average_variance needs exactly 2 components; got {len(self.components)}"
            )
        if self.weights is not None:
            raise ParameterError("noise.average_variance uses noise.p; set noise.weights to null")
        if self.p == 1.0:
            raise ParameterError(
                "noise.average_variance cannot be met with noise.p = 1 (the second component "
                "is never drawn); use p < 1 or set average_variance to null"
            )

    def _check_hetero_scale(self) -> None:
        if self.hetero_scale is None:
            return
        if (self.distribution, self.parameterisation) != ("uniform", "meanvar"):
            raise ParameterError(
                "noise.hetero_scale applies to distribution: uniform with parameterisation: "
                f"meanvar; got {self.distribution} with {self.parameterisation}"
            )


@dataclass(frozen=True)
class Mixture:
    """A resolved mixture: per-component probabilities and distribution parameters.

    For uniform components ``first``/``second`` are the bounds (a, b); for gamma
    components they are the shape and the rate.
    """

    distribution: Distribution
    weights: np.ndarray
    first: np.ndarray
    second: np.ndarray

    def means(self) -> np.ndarray:
        """Mean variance of each component."""
        if self.distribution == "uniform":
            return (self.first + self.second) / 2
        return self.first / self.second

    def mean_variance(self) -> float:
        """Mean of the whole mixture: sum_k w_k mu_k."""
        return float(self.weights @ self.means())


def component_weights(p: float, n_components: int) -> np.ndarray:
    """The original's ratio rule for N components and first-group probability p.

    [0, p) is split evenly among the first ceil(N/2) components, [p, 1] among the rest.
    """
    if n_components == 1:
        return np.ones(1)
    n_first = math.ceil(n_components / 2)
    n_rest = n_components - n_first
    return np.concatenate([np.full(n_first, p / n_first), np.full(n_rest, (1 - p) / n_rest)])


def _moments(config: NoiseConfig, index: int, x: float, y: float) -> tuple[float, float]:
    """Mean and variance of one component, from whichever parameterisation was given."""
    name = f"noise.components[{index}]"
    if config.parameterisation == "meanvar":
        if not x > 0 or y < 0 or (config.distribution == "gamma" and not y > 0):
            allowed = "> 0" if config.distribution == "gamma" else ">= 0"
            raise ParameterError(
                f"{name} = [{x}, {y}] is (mean, variance): the mean must be > 0 and the "
                f"variance {allowed} for {config.distribution}"
            )
        return x, y
    if config.parameterisation == "bounds":
        if config.distribution != "uniform":
            raise ParameterError(
                "noise.parameterisation: bounds applies to distribution: uniform only; "
                "use alphabeta or meanvar for gamma"
            )
        if not 0 <= x <= y or not y > 0:
            raise ParameterError(
                f"{name} = [{x}, {y}] are uniform bounds (a, b): need 0 <= a <= b and b > 0"
            )
        return (x + y) / 2, (y - x) ** 2 / 12
    if config.distribution != "gamma":
        raise ParameterError(
            "noise.parameterisation: alphabeta applies to distribution: gamma only; "
            "use bounds or meanvar for uniform"
        )
    if not (x > 0 and y > 0):
        raise ParameterError(f"{name} = [{x}, {y}] is gamma (shape, rate): both must be > 0")
    return x / y, x / y**2


def resolve_mixture(config: NoiseConfig) -> Mixture:
    """Turn the parameter block into per-component weights and distribution parameters.

    Order: moments of each component; the average-variance constraint moves the second
    mean to mu2 = (X - p*mu1) / (1 - p), keeping its variance; the heteroscedasticity scale
    sets v = s * Vmax with Vmax = 4*mu^2/12 (the variance of U(0, 2*mu)); then moment
    matching: uniform a, b = mu -/+ sqrt(3v), gamma shape = mu^2/v, rate = mu/v.
    """
    moments = np.array(
        [_moments(config, i, float(x), float(y)) for i, (x, y) in enumerate(config.components)]
    )
    means, variances = moments[:, 0], moments[:, 1]
    weights = (
        np.asarray(config.weights, dtype=float)
        if config.weights is not None
        else component_weights(config.p, len(means))
    )
    if config.average_variance is not None:
        mu2 = (config.average_variance - config.p * means[0]) / (1 - config.p)
        if not mu2 > 0:
            raise ParameterError(
                f"noise.average_variance = {config.average_variance} with p = {config.p} and "
                f"mu1 = {means[0]:g} needs a second mean mu2 = {mu2:g}; it must be > 0 "
                "(raise average_variance or lower mu1)"
            )
        means = np.array([means[0], mu2])
    if config.hetero_scale is not None:
        variances = config.hetero_scale * 4 * means**2 / 12
    if config.distribution == "gamma":
        return Mixture("gamma", weights, means**2 / variances, means / variances)
    half_width = np.sqrt(3 * variances)
    lower = means - half_width
    if (lower < 0).any():
        index = int(np.argmax(lower < 0))
        raise ParameterError(
            f"noise.components[{index}]: mean {means[index]:g} and variance "
            f"{variances[index]:g} give a uniform lower bound {lower[index]:g} < 0; "
            "need variance <= mean^2 / 3"
        )
    return Mixture("uniform", weights, lower, means + half_width)


@dataclass(frozen=True)
class NoisyLabels:
    """Per-label draws, all in the units of ``scale``-adjusted variances; ``component`` is
    None for declared variances (no mixture component)."""

    y_noisy: np.ndarray
    variance: np.ndarray
    variance_seen: np.ndarray
    component: np.ndarray | None


def sample_variances(
    mixture: Mixture, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw each label's mixture component and noise variance (vectorised).

    The component is the first k with u < w_1 + ... + w_k for u ~ U[0, 1) (inverse CDF), which
    is several times faster than ``Generator.choice`` with probabilities.
    """
    cumulative = np.cumsum(mixture.weights)
    last = len(cumulative) - 1
    component = np.minimum(np.searchsorted(cumulative, rng.random(n), side="right"), last)
    first, second = mixture.first[component], mixture.second[component]
    if mixture.distribution == "uniform":
        variance = first + (second - first) * rng.random(n)
    else:
        variance = rng.gamma(first, 1.0 / second)
    return component, variance


def corrupt_labels(
    y: np.ndarray, config: NoiseConfig, variance_scale: float, rng: np.random.Generator
) -> NoisyLabels:
    """Add N(0, variance) noise to ``y``, variances multiplied by ``variance_scale`` (the
    configured units in the learner's label units); the learner sees them ``disturb``-ed.
    ``noise.tau2`` adds noise the variances miss (``add_unrecorded_noise``), drawn last."""
    n = len(y)
    if not config.enabled:
        zeros = np.zeros(n)
        return NoisyLabels(y.astype(float).copy(), zeros, zeros.copy(), np.zeros(n, dtype=int))
    component, variance = sample_variances(resolve_mixture(config), n, rng)
    variance = variance * variance_scale
    y_noisy = y + rng.standard_normal(n) * np.sqrt(variance)
    variance_seen = disturb(variance, config.disturbance, rng)
    y_noisy = add_unrecorded_noise(y_noisy, config.tau2, variance_scale, rng)
    return NoisyLabels(y_noisy, variance, variance_seen, component)


def disturb(variance: np.ndarray, disturbance: float, rng: np.random.Generator) -> np.ndarray:
    """The variance the learner sees: ``|var + N(0, d * (var/3)^2)|``, d = disturbance
    (``variance`` itself when d = 0)."""
    if disturbance <= 0:
        return variance
    spread = math.sqrt(disturbance) * variance / 3
    return np.abs(variance + rng.standard_normal(len(variance)) * spread)


def add_unrecorded_noise(
    y: np.ndarray, tau2: float, scale: float, rng: np.random.Generator
) -> np.ndarray:
    """``y + N(0, tau2 * scale)``: noise recorded in no variance (``y`` itself when tau2 = 0,
    drawing nothing, so every other draw stays as it was)."""
    return y if tau2 <= 0 else y + rng.standard_normal(len(y)) * math.sqrt(tau2 * scale)


def variance_scale(units: Units, label_std: float, normalized: bool) -> float:
    """Factor turning configured variances into the learner's label units squared.

    raw: label units^2, divided by label_std^2 when labels are standardised;
    normalized: units of the label variance, multiplied by label_std^2 when they are not.
    """
    if units == "raw":
        return 1.0 / label_std**2 if normalized else 1.0
    return 1.0 if normalized else label_std**2
