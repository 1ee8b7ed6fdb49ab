"""The label noise the given variances miss: DerSimonian-Laird's tau^2 from a linear fit.

Model: y_i = x_i' beta + mu_i + e_i,  e_i ~ N(0, sigma_i^2 + tau^2), with sigma_i^2 the variance
each label is given and tau^2 the homoscedastic part they miss (mu_i: what the linear design
cannot express; 0 for a linear problem). The moment estimator of DerSimonian and Laird (1986),
in its meta-regression form (Raudenbush 2009, as in PyMARE and metafor):

    w_i = 1 / sigma_i^2,  beta_w: the weighted least-squares fit,
    Q = sum_i w_i (y_i - x_i' beta_w)^2
    A = sum_i w_i - tr((X'WX)^+ X'W^2 X) = sum_i w_i (1 - h_i)   (h_i: leverages of W^1/2 X)
    tau2_hat = max(0, (Q - (n - r)) / A)                          (r: rank of X)

Its standard error is exact for Gaussian errors (before the truncation at 0):
Var(Q) = 2 tr((M V)^2), M = W - W X (X'WX)^+ X' W, V = diag(sigma_i^2 + tau2_hat).

For a network the design is a linear pilot fit of the features (plus an intercept; pooled
channel means for images): the misfit mu adds mu' M mu / A >= 0 to the expected estimate, so
there tau2_hat is an *upper bound* (in expectation) of the missing variance: tau^2 plus the
linear model's error. Plain numpy, in float64; no random numbers are drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from biv_pipeline.errors import ParameterError
from biv_pipeline.parameters.training import TAU2_HAT, TrainingConfig
from biv_pipeline.run_record import TAU2_METRIC, TAU2_SE_METRIC, VARIANCE_SHARE_METRIC

INCOMPLETE_SHARE = 0.8  # below this variance share the given variances look incomplete
EPSILON_LOSSES = ("iv", "biv")  # the losses whose weights 1/(variance + epsilon) use epsilon
POOLED_GRID = 4  # images: channel means over a POOLED_GRID x POOLED_GRID grid (48 features)
IMAGE_CHUNK = 1024  # images pooled per step


def looks_incomplete(variance_share: float) -> bool:
    """Whether given variances with this share of the noise miss a fifth of it or more."""
    return variance_share < INCOMPLETE_SHARE


@dataclass(frozen=True)
class Heterogeneity:
    """tau2_hat with its standard error, from ``n`` labels and a design of rank ``rank``.

    ``mean_variance`` is the mean variance the labels were given, ``q`` Cochran's Q and
    ``bound`` says whether tau2_hat is an estimate (``linear``: the data are linear in the
    design) or an upper bound (``pilot``: a linear pilot fit of a non-linear problem).
    """

    tau2_hat: float
    standard_error: float
    mean_variance: float
    q: float
    n: int
    rank: int
    bound: str = "pilot"

    @property
    def variance_share(self) -> float:
        """mean sigma^2 / (mean sigma^2 + tau2_hat): the share of the noise the variances give."""
        return self.mean_variance / (self.mean_variance + self.tau2_hat)

    def metrics(self) -> dict[str, float]:
        """What a run logs of it: tau2_hat, its standard error and the variance share."""
        return {
            TAU2_METRIC: self.tau2_hat,
            TAU2_SE_METRIC: self.standard_error,
            VARIANCE_SHARE_METRIC: self.variance_share,
        }

    @property
    def looks_incomplete(self) -> bool:
        """Whether the given variances miss a fifth or more of the noise (share below 0.8)."""
        return looks_incomplete(self.variance_share)


@dataclass(frozen=True)
class LabelHeterogeneity:
    """The train pipeline's ``label_heterogeneity``: the training labels' estimate, or None for
    labels that carry no variances (a Kedro dataset cannot hold None itself)."""

    estimate: Heterogeneity | None

    def metrics(self) -> dict[str, float]:
        """What a run logs of the estimate (none without one)."""
        return {} if self.estimate is None else self.estimate.metrics()


def dersimonian_laird(
    y: np.ndarray, variance: np.ndarray, design: np.ndarray, bound: str = "linear"
) -> Heterogeneity:
    """DerSimonian-Laird tau^2 for labels ``y`` (n,), given variances (n,) > 0 and a design
    matrix (n, p) that holds its own intercept column; see the module docstring.

    A rank-deficient design (one-hot columns beside an intercept) is fitted on its rank.
    """
    y = np.asarray(y, dtype=np.float64)
    variance = np.asarray(variance, dtype=np.float64)
    design = np.asarray(design, dtype=np.float64)
    weight = 1.0 / variance
    root = np.sqrt(weight)
    u, singular, _ = np.linalg.svd(design * root[:, None], full_matrices=False)
    tolerance = singular.max(initial=0.0) * max(design.shape) * np.finfo(np.float64).eps
    rank = int((singular > tolerance).sum())
    u = u[:, :rank]
    whitened = y * root
    residual = whitened - u @ (u.T @ whitened)
    q = float(residual @ residual)
    leverage = (u**2).sum(axis=1)
    scale = float((weight * (1.0 - leverage)).sum())
    n = len(y)
    tau2 = max(0.0, (q - (n - rank)) / scale) if n > rank else 0.0
    d = weight * (variance + tau2)  # diagonal of W V
    projected = (u * d[:, None]).T @ u  # U' D U
    trace = (d**2).sum() - 2 * (leverage * d**2).sum() + (projected**2).sum()
    standard_error = float(np.sqrt(2 * max(trace, 0.0)) / scale) if scale > 0 else float("nan")
    return Heterogeneity(tau2, standard_error, float(variance.mean()), q, n, rank, bound)


def with_intercept(features: np.ndarray) -> np.ndarray:
    """The design of a linear pilot fit: an intercept column, then the features (n, F)."""
    features = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
    return np.hstack([np.ones((len(features), 1)), features])


def pooled_image_features(
    images: np.ndarray, index: np.ndarray | None = None, grid: int = POOLED_GRID
) -> np.ndarray:
    """Per-channel means of the uint8 images ``images[index]`` (N, C, H, W) over a ``grid`` x
    ``grid`` grid, in [0, 1]: (N, C * grid^2) features a linear pilot fit can use (edge pixels
    that do not fill a cell are left out). Read in chunks, so a memory-mapped cache is never
    copied whole."""
    index = np.arange(len(images)) if index is None else np.asarray(index)
    _, channels, height, width = images.shape
    cells_h, cells_w = min(grid, height), min(grid, width)
    cell_h, cell_w = height // cells_h, width // cells_w
    pooled = np.empty((len(index), channels * cells_h * cells_w))
    for start in range(0, len(index), IMAGE_CHUNK):
        rows = index[start : start + IMAGE_CHUNK]
        chunk = images[rows][:, :, : cells_h * cell_h, : cells_w * cell_w] / 255.0
        cells = chunk.reshape(len(rows), channels, cells_h, cell_h, cells_w, cell_w)
        pooled[start : start + len(rows)] = cells.mean(axis=(3, 5)).reshape(len(rows), -1)
    return pooled


def estimate_heterogeneity(
    features: np.ndarray, y: np.ndarray, variance: np.ndarray
) -> Heterogeneity | None:
    """tau2_hat of labels ``y`` with given variances, from a linear pilot fit of ``features``
    (n, F) and an intercept: an upper bound of the missing variance (see the module docstring).

    Labels without a positive finite variance are left out (their weight 1/sigma^2 is not
    finite); None when fewer labels than the design has columns, plus two, carry one (labels
    without variances, such as ``noise.enabled: false``).
    """
    variance = np.asarray(variance, dtype=np.float64)
    carried = np.isfinite(variance) & (variance > 0)
    design = with_intercept(features)
    if carried.sum() < design.shape[1] + 2:
        return None
    return dersimonian_laird(
        np.asarray(y)[carried], variance[carried], design[carried], bound="pilot"
    )


def resolve_epsilon(config: TrainingConfig, heterogeneity: Heterogeneity | None) -> TrainingConfig:
    """``config`` with ``epsilon: tau2_hat`` replaced by the estimate, for the losses that use
    epsilon (iv, biv); any other config unchanged."""
    if config.epsilon != TAU2_HAT or config.loss not in EPSILON_LOSSES:
        return config
    if heterogeneity is None:
        raise ParameterError(
            f"epsilon: tau2_hat needs training labels with variances, and these have none "
            f"(noise.enabled: false?); use a numeric epsilon or auto with loss {config.loss}"
        )
    return replace(config, epsilon=heterogeneity.tau2_hat)
