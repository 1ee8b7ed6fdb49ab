"""Regression losses that use each label's known noise variance, by name.

All losses are weighted squared errors  L = sum_k w_k (f_k - y_k)^2 / Z  and differ in the
weights w_k and the normaliser Z. Every loss takes ``(pred, target, variance)``, all of
shape (B,); a (B, 1) vs (B,) mix-up raises instead of broadcasting to (B, B).

A loss owns its rules: its name, how it is built from the training config (``from_config``),
which labels it can learn from (``check_labels``), which batches it trains on
(``trained_batches``) and what ``lr_scale: mean_weight`` divides the learning rate by
(``mean_weight``). Adding a loss is its class (with a ``name`` from
:data:`~biv_pipeline.parameters.training.LOSSES`), its config field and its test.
"""

from __future__ import annotations

import logging
import math
from typing import ClassVar, NamedTuple

import torch
from torch import nn

from biv_pipeline.errors import ParameterError
from biv_pipeline.parameters.training import (
    AUTO,
    LOSSES,
    TrainingConfig,
    check_cutoff,
    check_epsilon,
    check_ess_ratio,
    check_no_zero_variance,
    check_registry,
)

logger = logging.getLogger(__name__)

BISECTION_STEPS = 40
# the cutoff loss learning from fewer labels than this share gets a warning: its batches are
# mostly skipped and its few steps are noisy
MIN_CUTOFF_SHARE = 0.05


class BatchWeights(NamedTuple):
    """Per-sample weights of one batch and the epsilon that produced them (0 if none)."""

    weights: torch.Tensor
    epsilon: torch.Tensor


class BatchLoss(NamedTuple):
    """One batch's loss (with its graph) and what the training loop records of it, as 0-d
    tensors on the batch's device: the epsilon used and the Kish effective batch size."""

    loss: torch.Tensor
    epsilon: torch.Tensor
    effective_size: torch.Tensor


def check_shapes(pred: torch.Tensor, target: torch.Tensor, variance: torch.Tensor) -> None:
    """Require three 1-D tensors of the same length."""
    if not (pred.dim() == 1 and pred.shape == target.shape == variance.shape):
        raise ValueError(
            "pred, target and variance must all have shape (B,); got "
            f"{tuple(pred.shape)}, {tuple(target.shape)}, {tuple(variance.shape)}"
        )


def kish_effective_sample_size(weights: torch.Tensor) -> torch.Tensor:
    """Kish's effective sample size (sum w)^2 / sum w^2 (B for equal weights)."""
    return weights.sum() ** 2 / (weights**2).sum()


def _max_weight_ratio(ess_ratio: float) -> float:
    """Largest max/min weight ratio rho for which any weights keep ESS >= ess_ratio * B.

    With weights in [m, M], ESS/B >= 4 m M / (m + M)^2 (Kantorovich); solving
    4 rho / (1 + rho)^2 = r gives rho = ((2 - r) + 2 sqrt(1 - r)) / r.
    """
    return ((2 - ess_ratio) + 2 * math.sqrt(1 - ess_ratio)) / ess_ratio


def auto_epsilon(variance: torch.Tensor, ess_ratio: float) -> torch.Tensor:
    """Smallest eps >= 0 with ESS of w = 1/(variance + eps) at least ess_ratio * B.

    ESS grows with eps, and eps_hi = max(variance) / (rho - 1) is always enough (see
    ``_max_weight_ratio``), so a fixed number of bisection steps on [0, eps_hi] finds it
    without leaving the device (no host synchronisation).
    """
    target = ess_ratio * variance.numel()
    eps_hi = (variance.max() / (_max_weight_ratio(ess_ratio) - 1)).clamp_min(
        torch.finfo(variance.dtype).eps
    )
    low, high = torch.zeros_like(eps_hi), eps_hi
    for _ in range(BISECTION_STEPS):
        middle = (low + high) / 2
        enough = kish_effective_sample_size(1 / (variance + middle)) >= target
        high = torch.where(enough, middle, high)
        low = torch.where(enough, low, middle)
    exact_ok = (variance.min() > 0) & (kish_effective_sample_size(1 / variance) >= target)
    return torch.where(exact_ok, torch.zeros_like(high), high)


LOSS_CLASSES: dict[str, type[WeightedSquaredLoss]] = {}  # filled by the subclasses below


class WeightedSquaredLoss(nn.Module):
    """Base class: L = sum_k w_k (f_k - y_k)^2 / Z with Z = B, or Z = sum_k w_k if normalised.

    Subclasses define ``batch_weights``; one that sets ``name`` is registered in
    ``LOSS_CLASSES`` under it. A batch whose weights are all zero (possible for cutoff) has
    no signal: ``trained_batches`` leaves it out, and its loss is 0 with zero gradient.
    """

    name: ClassVar[str]
    normalise_by_weight_sum = False

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            LOSS_CLASSES[cls.name] = cls

    @classmethod
    def from_config(cls, config: TrainingConfig) -> WeightedSquaredLoss:
        """The loss with the settings it uses from ``config`` (none by default)."""
        return cls()

    def check_labels(self, variance: torch.Tensor) -> None:
        """Raise ParameterError if the loss cannot learn from labels of these seen variances
        (all the training labels, before training); every loss but cutoff can."""

    def mean_weight(self, variance: torch.Tensor) -> float:
        """What ``lr_scale: mean_weight`` divides the learning rate by: 1 for losses whose
        weights are normalised per batch (mean 1) or 1 for every kept label."""
        return 1.0

    def trained_batches(self, variance: torch.Tensor, batch_size: int) -> range | list[int]:
        """The numbers of the consecutive batches of ``batch_size`` (the last may be shorter)
        that train, for labels of ``variance`` in the epoch's order: all of them by default,
        without touching the device. Call once per epoch."""
        return range(math.ceil(variance.numel() / batch_size))

    def batch_weights(self, variance: torch.Tensor) -> BatchWeights:
        """Weights of one batch; equal weights by default (plain MSE)."""
        return BatchWeights(torch.ones_like(variance), variance.new_zeros(()))

    def weighted_loss(
        self, pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor
    ) -> torch.Tensor:
        """The weighted squared error for precomputed weights."""
        weighted = (weights * (pred - target) ** 2).sum()
        if self.normalise_by_weight_sum:
            return weighted / weights.sum().clamp_min(torch.finfo(weights.dtype).tiny)
        return weighted / pred.numel()

    def batch_loss(
        self, pred: torch.Tensor, target: torch.Tensor, variance: torch.Tensor
    ) -> BatchLoss:
        """The loss of one batch and what the training loop records of it, all on the device
        (no host synchronisation); shapes are checked first."""
        check_shapes(pred, target, variance)
        weights = self.batch_weights(variance)
        return BatchLoss(
            self.weighted_loss(pred, target, weights.weights),
            weights.epsilon.detach(),
            kish_effective_sample_size(weights.weights).detach(),
        )

    def forward(
        self, pred: torch.Tensor, target: torch.Tensor, variance: torch.Tensor
    ) -> torch.Tensor:
        """Loss of one batch; shapes are checked first."""
        check_shapes(pred, target, variance)
        return self.weighted_loss(pred, target, self.batch_weights(variance).weights)


class MSELoss(WeightedSquaredLoss):
    """Mean squared error, ignoring the variances: L = (1/B) sum_k (f_k - y_k)^2."""

    name = "mse"


class _InverseVarianceWeights(WeightedSquaredLoss):
    """Shared weights w_k = 1 / (sigma_k^2 + eps); eps fixed or chosen per batch."""

    def __init__(self, epsilon: float | str = 0.5, ess_ratio: float = 0.5) -> None:
        super().__init__()
        check_epsilon(epsilon)
        check_ess_ratio(ess_ratio)
        self.epsilon = epsilon
        self.ess_ratio = ess_ratio

    @classmethod
    def from_config(cls, config: TrainingConfig) -> WeightedSquaredLoss:
        """The loss with ``config.epsilon`` and ``config.ess_ratio``."""
        return cls(epsilon=config.epsilon, ess_ratio=config.ess_ratio)

    def check_labels(self, variance: torch.Tensor) -> None:
        """Stop before training when epsilon 0 meets a label of variance 0 (infinite weight)."""
        if self.epsilon != AUTO and float(self.epsilon) == 0:
            check_no_zero_variance(self.name, (variance == 0).nonzero().flatten().tolist())

    def batch_weights(self, variance: torch.Tensor) -> BatchWeights:
        """w_k = 1 / (sigma_k^2 + eps) with eps fixed or from ``auto_epsilon``."""
        epsilon = (
            auto_epsilon(variance, self.ess_ratio)
            if self.epsilon == AUTO
            else variance.new_full((), float(self.epsilon))  # new_tensor would copy: a sync
        )
        return BatchWeights(1 / (variance + epsilon), epsilon)


class IVLoss(_InverseVarianceWeights):
    """Inverse-variance weighted, not normalised per batch.

    L = (1/B) sum_k (f_k - y_k)^2 / (sigma_k^2 + eps).    Shapes: all (B,).
    """

    name = "iv"

    def mean_weight(self, variance: torch.Tensor) -> float:
        """mean_k 1 / (variance_k + eps) over the training labels, in float64, so that
        ``lr_scale: mean_weight`` gives IV's gradients the scale of MSE's on average. Needs a
        numeric epsilon (the training config refuses ``auto`` with ``mean_weight``)."""
        return float((1.0 / (variance.double() + float(self.epsilon))).mean())


class BIVLoss(_InverseVarianceWeights):
    """Batch inverse-variance weighted squared error.

    L = sum_k w_k (f_k - y_k)^2 / sum_k w_k,  w_k = 1 / (sigma_k^2 + eps).
    Shapes: pred, target, variance are all (B,).
    """

    name = "biv"
    normalise_by_weight_sum = True


class CutoffMSELoss(WeightedSquaredLoss):
    """MSE over the samples whose variance is below a threshold.

    L = sum_k 1[sigma_k^2 < t] (f_k - y_k)^2 / sum_k 1[sigma_k^2 < t].  Shapes: all (B,).
    """

    name = "cutoff"
    normalise_by_weight_sum = True

    def __init__(self, threshold: float) -> None:
        super().__init__()
        check_cutoff(threshold)
        self.threshold = threshold

    @classmethod
    def from_config(cls, config: TrainingConfig) -> WeightedSquaredLoss:
        """The loss with threshold ``config.cutoff``."""
        return cls(threshold=config.cutoff)

    def kept_share(self, variance: torch.Tensor) -> float:
        """Share of the labels the loss learns from: mean_k 1[sigma_k^2 < threshold].

        Raises ParameterError when it is none: every batch would be skipped and the network
        never updated, yet the run would finish as if it had trained.
        """
        kept = variance < self.threshold
        if not kept.any():
            raise ParameterError(
                f"cutoff = {self.threshold:g} is below every seen variance of the "
                f"{variance.numel()} training labels (smallest {variance.min().item():g}), so "
                "the cutoff loss would never train; raise cutoff above it or choose another loss"
            )
        return kept.double().mean().item()

    def check_labels(self, variance: torch.Tensor) -> None:
        """Stop if the cutoff keeps no label (:meth:`kept_share`), warn if it keeps under 5%."""
        share = self.kept_share(variance)
        if share < MIN_CUTOFF_SHARE:
            logger.warning(
                "cutoff = %g keeps %.1f%% of the %d training labels (under %.0f%%): most "
                "batches will be skipped",
                self.threshold, 100 * share, variance.numel(), 100 * MIN_CUTOFF_SHARE,
            )  # fmt: skip

    def trained_batches(self, variance: torch.Tensor, batch_size: int) -> list[int]:
        """The batches with a label below the threshold (one host synchronisation)."""
        kept = variance < self.threshold
        padding = kept.new_zeros((-kept.numel()) % batch_size)
        signal = torch.cat([kept, padding]).view(-1, batch_size).any(dim=1)
        return signal.nonzero().flatten().tolist()

    def batch_weights(self, variance: torch.Tensor) -> BatchWeights:
        """w_k = 1 if sigma_k^2 < threshold else 0."""
        return BatchWeights((variance < self.threshold).to(variance.dtype), variance.new_zeros(()))


check_registry("loss", LOSS_CLASSES, LOSSES)


def make_loss(config: TrainingConfig) -> WeightedSquaredLoss:
    """The loss ``config.loss``, built from the config fields it uses."""
    return LOSS_CLASSES[config.loss].from_config(config)
