"""Regression losses that use each label's known noise variance.

All losses are weighted squared errors  L = sum_k w_k (f_k - y_k)^2 / Z  and differ in the
weights w_k and the normaliser Z. Every loss takes ``(pred, target, variance)``, all of
shape (B,); a (B, 1) vs (B,) mix-up raises instead of broadcasting to (B, B).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import nn

from biv_pipeline.errors import ParameterError
from biv_pipeline.parameters.training import (
    AUTO,
    check_cutoff,
    check_epsilon,
    check_ess_ratio,
    check_loss_name,
)

BISECTION_STEPS = 40


class BatchWeights(NamedTuple):
    """Per-sample weights of one batch and the epsilon that produced them (0 if none)."""

    weights: torch.Tensor
    epsilon: torch.Tensor


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


class WeightedSquaredLoss(nn.Module):
    """Base class: L = sum_k w_k (f_k - y_k)^2 / Z with Z = B, or Z = sum_k w_k if normalised.

    Subclasses define ``batch_weights``. A batch whose weights are all zero (possible for
    cutoff) has no signal: ``has_signal`` says so and the loss is 0 with zero gradient.
    """

    normalise_by_weight_sum = False

    def batch_weights(self, variance: torch.Tensor) -> BatchWeights:
        """Weights of one batch; equal weights by default (plain MSE)."""
        return BatchWeights(torch.ones_like(variance), variance.new_zeros(()))

    def has_signal(self, variance: torch.Tensor) -> bool:
        """Whether a batch with these variances contributes to training."""
        return True

    def signal_per_batch(self, variance: torch.Tensor, batch_size: int) -> torch.Tensor:
        """``has_signal`` of each consecutive batch of ``batch_size`` (the last may be shorter),
        as a bool tensor (n_batches,) on the device of ``variance``, computed without a host
        synchronisation; the caller reads it once per epoch instead of once per batch."""
        n_batches = math.ceil(variance.numel() / batch_size)
        return torch.ones(n_batches, dtype=torch.bool, device=variance.device)

    def weighted_loss(
        self, pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor
    ) -> torch.Tensor:
        """The weighted squared error for precomputed weights."""
        weighted = (weights * (pred - target) ** 2).sum()
        if self.normalise_by_weight_sum:
            return weighted / weights.sum().clamp_min(torch.finfo(weights.dtype).tiny)
        return weighted / pred.numel()

    def forward(
        self, pred: torch.Tensor, target: torch.Tensor, variance: torch.Tensor
    ) -> torch.Tensor:
        """Loss of one batch; shapes are checked first."""
        check_shapes(pred, target, variance)
        return self.weighted_loss(pred, target, self.batch_weights(variance).weights)


class MSELoss(WeightedSquaredLoss):
    """Mean squared error, ignoring the variances: L = (1/B) sum_k (f_k - y_k)^2."""


class _InverseVarianceWeights(WeightedSquaredLoss):
    """Shared weights w_k = 1 / (sigma_k^2 + eps); eps fixed or chosen per batch."""

    def __init__(self, epsilon: float | str = 0.5, ess_ratio: float = 0.5) -> None:
        super().__init__()
        check_epsilon(epsilon)
        check_ess_ratio(ess_ratio)
        self.epsilon = epsilon
        self.ess_ratio = ess_ratio

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


class BIVLoss(_InverseVarianceWeights):
    """Batch inverse-variance weighted squared error.

    L = sum_k w_k (f_k - y_k)^2 / sum_k w_k,  w_k = 1 / (sigma_k^2 + eps).
    Shapes: pred, target, variance are all (B,).
    """

    normalise_by_weight_sum = True


class CutoffMSELoss(WeightedSquaredLoss):
    """MSE over the samples whose variance is below a threshold.

    L = sum_k 1[sigma_k^2 < t] (f_k - y_k)^2 / sum_k 1[sigma_k^2 < t].  Shapes: all (B,).
    """

    normalise_by_weight_sum = True

    def __init__(self, threshold: float) -> None:
        super().__init__()
        check_cutoff(threshold)
        self.threshold = threshold

    def batch_weights(self, variance: torch.Tensor) -> BatchWeights:
        """w_k = 1 if sigma_k^2 < threshold else 0."""
        return BatchWeights((variance < self.threshold).to(variance.dtype), variance.new_zeros(()))

    def has_signal(self, variance: torch.Tensor) -> bool:
        """False when every sample of the batch is at or above the threshold."""
        return bool((variance < self.threshold).any())

    def signal_per_batch(self, variance: torch.Tensor, batch_size: int) -> torch.Tensor:
        """Per batch of ``batch_size``: whether any sample is below the threshold."""
        kept = variance < self.threshold
        padding = kept.new_zeros((-kept.numel()) % batch_size)
        return torch.cat([kept, padding]).view(-1, batch_size).any(dim=1)


def cutoff_kept_share(variance: torch.Tensor, threshold: float) -> float:
    """Share of the labels the cutoff loss learns from: mean_k 1[sigma_k^2 < threshold].

    Raises ParameterError when it is none: every batch would be skipped and the network
    never updated, yet the run would finish as if it had trained.
    """
    kept = variance < threshold
    if not kept.any():
        raise ParameterError(
            f"cutoff = {threshold:g} is below every seen variance of the {variance.numel()} "
            f"training labels (smallest {variance.min().item():g}), so the cutoff loss would "
            "never train; raise cutoff above it or choose another loss"
        )
    return kept.double().mean().item()


def make_loss(
    name: str, epsilon: float | str = 0.5, ess_ratio: float = 0.5, cutoff: float = 1.0
) -> WeightedSquaredLoss:
    """Build a loss by name: mse | iv | biv | cutoff (settings a loss does not use are ignored)."""
    check_loss_name(name)
    builders: dict[str, Callable[[], WeightedSquaredLoss]] = {
        "mse": MSELoss,
        "iv": lambda: IVLoss(epsilon, ess_ratio),
        "biv": lambda: BIVLoss(epsilon, ess_ratio),
        "cutoff": lambda: CutoffMSELoss(cutoff),
    }
    return builders[name]()
