"""Classical regressors beside the networks, fitted on the same noisy labels with the same losses.

- ``linear``: least squares, weighted least squares with weights (scikit-learn's
  ``LinearRegression``, exact in float64);
- ``gbm``: gradient-boosted trees (``HistGradientBoostingRegressor``, default settings);
- ``gp``: a Gaussian process with a constant x RBF kernel fitted by maximum likelihood
  (``GaussianProcessRegressor``) on at most ``gp_max_rows`` labels, drawn with the run's seed.

The loss says which labels a model learns from and how much each one counts:

| loss     | labels              | weight of label k                                           |
| -------- | ------------------- | ----------------------------------------------------------- |
| `mse`    | all                 | equal; the GP fits a white-noise term                       |
| `iv`     | all                 | 1/(sigma_k^2 + eps); the GP's noise variance of label k is  |
|          |                     | sigma_k^2 + eps (``alpha``)                                 |
| `cutoff` | sigma_k^2 < cutoff  | equal; the GP fits a white-noise term                       |

``biv`` and ``epsilon: auto`` work per batch and a classical model has none: the training
config refuses them (:func:`biv_pipeline.parameters.training.batchless_refusal`).

Framework-free (numpy and scikit-learn; no torch, Kedro or MLflow), float64 throughout.
Features are the standardised ones the networks train on; the model a run logs takes raw
rows around it, as the logged network does (:func:`biv_pipeline.serving.serve_rows`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from biv_pipeline.data.images.cache import IMAGE_KEY
from biv_pipeline.data.registry import feature_columns
from biv_pipeline.data.schema import NOISY
from biv_pipeline.errors import ParameterError
from biv_pipeline.parameters.training import CLASSICAL_NAMES, TrainingConfig, check_registry


@dataclass(frozen=True)
class Labels:
    """The training labels a model learns from: their positions in the training table and,
    for ``iv``, each one's noise variance sigma^2 + eps (None: equal weights)."""

    rows: np.ndarray
    noise: np.ndarray | None = None

    @property
    def weights(self) -> np.ndarray | None:
        """Inverse-variance weights 1/(sigma^2 + eps), or None for equal weights."""
        return None if self.noise is None else 1.0 / self.noise

    def drawn(self, max_rows: int, rng: np.random.Generator) -> Labels:
        """At most ``max_rows`` of these labels, drawn without replacement, in table order."""
        if len(self.rows) <= max_rows:
            return self
        keep = np.sort(rng.choice(len(self.rows), size=max_rows, replace=False))
        return Labels(self.rows[keep], None if self.noise is None else self.noise[keep])


def select_labels(config: TrainingConfig, variance: np.ndarray) -> Labels:
    """The labels and weights of ``config.loss`` for labels of seen ``variance`` (n,)."""
    variance = np.asarray(variance, dtype=np.float64)
    rows = np.arange(len(variance))
    if config.loss == "mse":
        return Labels(rows)
    if config.loss == "iv":
        return Labels(rows, variance + float(config.epsilon))
    if config.loss == "cutoff":
        return Labels(np.flatnonzero(variance < config.cutoff))
    raise ValueError(f"loss {config.loss} has no classical form (mse, iv, cutoff)")


@dataclass(frozen=True)
class ClassicalModel:
    """A fitted classical regressor: standardised features (n, F) in, the learner's label
    units (n,) out, as a trained network."""

    name: str
    loss: str
    estimator: Any  # a fitted scikit-learn regressor
    fit_rows: int  # the labels it learned from
    fit_seconds: float  # wall-clock seconds of the fit alone

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions (n,) in float64 for features ``x`` (n, F)."""
        prediction = self.estimator.predict(np.asarray(x, dtype=np.float64))
        return np.asarray(prediction, dtype=np.float64)


# An estimator builder: (config, labels) -> (unfitted estimator, keyword arguments of fit).
EstimatorBuilder = Callable[[TrainingConfig, Labels], tuple[Any, dict[str, Any]]]


# scikit-learn takes about a second to import: only the runs of a classical model pay it.
def _linear(config: TrainingConfig, labels: Labels) -> tuple[Any, dict[str, Any]]:
    from sklearn.linear_model import LinearRegression  # noqa: PLC0415

    return LinearRegression(), {"sample_weight": labels.weights}


def _gbm(config: TrainingConfig, labels: Labels) -> tuple[Any, dict[str, Any]]:
    from sklearn.ensemble import HistGradientBoostingRegressor  # noqa: PLC0415

    return HistGradientBoostingRegressor(random_state=config.seed), {
        "sample_weight": labels.weights
    }


def gp_kernel(noise_fitted: bool) -> Any:
    """The GP's kernel before fitting: 1.0 x RBF(1.0), plus a white-noise term (1.0) when the
    labels' noise is fitted rather than given."""
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel  # noqa: PLC0415

    kernel = ConstantKernel(1.0) * RBF(1.0)
    return kernel + WhiteKernel(1.0) if noise_fitted else kernel


def _gp(config: TrainingConfig, labels: Labels) -> tuple[Any, dict[str, Any]]:
    from sklearn.gaussian_process import GaussianProcessRegressor  # noqa: PLC0415

    if labels.noise is None:
        return GaussianProcessRegressor(gp_kernel(True), random_state=config.seed), {}
    return GaussianProcessRegressor(
        gp_kernel(False), alpha=labels.noise, random_state=config.seed
    ), {}


ESTIMATORS: dict[str, EstimatorBuilder] = {"linear": _linear, "gbm": _gbm, "gp": _gp}
check_registry("classical model", ESTIMATORS, CLASSICAL_NAMES)


def fit_classical(
    config: TrainingConfig, x: np.ndarray, y: np.ndarray, variance: np.ndarray
) -> ClassicalModel:
    """Fit ``config.model`` on features ``x`` (n, F) and noisy labels ``y`` (n,) of seen
    ``variance`` (n,), with the labels and weights of ``config.loss`` (see the module).

    The GP learns from at most ``config.gp_max_rows`` of those labels, drawn with
    ``config.seed``; BLAS and OpenMP use ``config.threads`` threads.
    """
    if config.model not in ESTIMATORS:
        raise ValueError(f"model {config.model} is not one of {', '.join(ESTIMATORS)}")
    labels = select_labels(config, variance)
    if config.model == "gp":
        labels = labels.drawn(config.gp_max_rows, np.random.default_rng(config.seed))
    estimator, fit_arguments = ESTIMATORS[config.model](config, labels)
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    started = time.perf_counter()
    with threadpool_limits(limits=config.threads):
        estimator.fit(x[labels.rows], y[labels.rows], **fit_arguments)
    seconds = time.perf_counter() - started
    return ClassicalModel(config.model, config.loss, estimator, len(labels.rows), seconds)


def fit_classical_on_table(noisy_train: pd.DataFrame, config: TrainingConfig) -> ClassicalModel:
    """``fit_classical`` on a noisy table's features, labels and seen variances."""
    if IMAGE_KEY in noisy_train:
        raise ParameterError(
            f"model {config.model} takes table features, and dataset "
            f"{noisy_train.attrs.get('dataset')} is images: use vanilla_cnn or resnet18"
        )
    variance = noisy_train[NOISY.variance_seen].to_numpy(np.float64)
    features = noisy_train[feature_columns(noisy_train)].to_numpy(np.float64)
    return fit_classical(config, features, noisy_train[NOISY.y_noisy].to_numpy(), variance)
