"""Each loss against its formula, computed independently in float64."""

from __future__ import annotations

import pytest
import torch

from biv_pipeline.errors import ParameterError
from biv_pipeline.losses import (
    BIVLoss,
    CutoffMSELoss,
    IVLoss,
    MSELoss,
    auto_epsilon,
    kish_effective_sample_size,
    make_loss,
)

B = 64


@pytest.fixture
def batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    pred = torch.randn(B, generator=generator, dtype=torch.float64)
    target = torch.randn(B, generator=generator, dtype=torch.float64)
    variance = torch.rand(B, generator=generator, dtype=torch.float64) * 10
    return pred, target, variance


def test_mse_is_the_mean_squared_error(batch) -> None:
    pred, target, variance = batch
    expected = sum((p - t) ** 2 for p, t in zip(pred.tolist(), target.tolist(), strict=True)) / B
    assert MSELoss()(pred, target, variance).item() == pytest.approx(expected)


def test_iv_is_the_unnormalised_inverse_variance_mean(batch) -> None:
    pred, target, variance = batch
    eps = 0.3
    terms = [
        (p - t) ** 2 / (v + eps)
        for p, t, v in zip(pred.tolist(), target.tolist(), variance.tolist(), strict=True)
    ]
    assert IVLoss(eps)(pred, target, variance).item() == pytest.approx(sum(terms) / B)


def test_biv_is_the_batch_normalised_inverse_variance_mean(batch) -> None:
    pred, target, variance = batch
    eps = 0.3
    weights = [1 / (v + eps) for v in variance.tolist()]
    weighted = sum(
        w * (p - t) ** 2 for w, p, t in zip(weights, pred.tolist(), target.tolist(), strict=True)
    )
    assert BIVLoss(eps)(pred, target, variance).item() == pytest.approx(weighted / sum(weights))


def test_biv_equals_mse_when_variances_are_equal(batch) -> None:
    pred, target, _ = batch
    equal = torch.full((B,), 3.7, dtype=torch.float64)
    assert BIVLoss(0.5)(pred, target, equal).item() == pytest.approx(
        MSELoss()(pred, target, equal).item()
    )


def test_biv_is_invariant_to_scaling_all_variances_when_epsilon_is_zero(batch) -> None:
    pred, target, variance = batch
    loss = BIVLoss(0.0)
    assert loss(pred, target, variance * 1000).item() == pytest.approx(
        loss(pred, target, variance).item()
    )


def test_iv_equals_biv_times_the_mean_weight(batch) -> None:
    pred, target, variance = batch
    eps = 0.5
    mean_weight = (1 / (variance + eps)).mean().item()
    assert IVLoss(eps)(pred, target, variance).item() == pytest.approx(
        BIVLoss(eps)(pred, target, variance).item() * mean_weight
    )


def test_cutoff_averages_exactly_the_rows_below_the_threshold(batch) -> None:
    pred, target, variance = batch
    threshold = 4.0
    kept = [
        (p - t) ** 2
        for p, t, v in zip(pred.tolist(), target.tolist(), variance.tolist(), strict=True)
        if v < threshold
    ]
    assert 0 < len(kept) < B
    assert CutoffMSELoss(threshold)(pred, target, variance).item() == pytest.approx(
        sum(kept) / len(kept)
    )


def test_cutoff_with_nothing_below_the_threshold_has_no_signal_and_zero_loss(batch) -> None:
    pred, target, variance = batch
    loss = CutoffMSELoss(0.001)
    noisy = variance + 1
    assert not loss.has_signal(noisy)
    assert loss(pred, target, noisy).item() == 0.0


@pytest.mark.parametrize("batch_size", [1, 7, 64, 100])
def test_signal_per_batch_says_which_consecutive_batches_keep_a_label(batch_size: int) -> None:
    variance = torch.full((100,), 5.0)
    variance[[3, 40, 99]] = 0.1
    expected = [
        any(v < 1.0 for v in variance[start : start + batch_size].tolist())
        for start in range(0, 100, batch_size)
    ]
    assert CutoffMSELoss(1.0).signal_per_batch(variance, batch_size).tolist() == expected
    assert make_loss("biv").signal_per_batch(variance, batch_size).tolist() == [True] * len(
        expected
    )


@pytest.mark.parametrize("ratio", [0.2, 0.5, 0.9])
def test_auto_epsilon_is_the_smallest_that_meets_the_effective_size(ratio: float) -> None:
    generator = torch.Generator().manual_seed(1)
    variance = torch.rand(256, generator=generator, dtype=torch.float64) ** 4 * 50
    eps = auto_epsilon(variance, ratio)
    target = ratio * len(variance)
    assert kish_effective_sample_size(1 / (variance + eps)) >= target
    assert kish_effective_sample_size(1 / (variance + eps * 0.99)) < target


def test_auto_epsilon_is_zero_when_the_variances_are_already_balanced() -> None:
    variance = torch.full((32,), 2.0, dtype=torch.float64)
    assert auto_epsilon(variance, 0.5).item() == 0.0


def test_mismatched_shapes_raise_instead_of_broadcasting(batch) -> None:
    pred, target, variance = batch
    with pytest.raises(ValueError, match=r"shape \(B,\)"):
        BIVLoss()(pred.unsqueeze(1), target, variance)


def test_losses_backpropagate() -> None:
    pred = torch.zeros(4, requires_grad=True)
    BIVLoss("auto")(pred, torch.ones(4), torch.tensor([0.1, 1.0, 5.0, 9.0])).backward()
    assert (pred.grad < 0).all()


def test_unknown_loss_lists_the_valid_ones() -> None:
    with pytest.raises(
        ParameterError, match="loss: input should be 'mse', 'iv', 'biv' or 'cutoff'; got 'l1'"
    ):
        make_loss("l1")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "biv", "epsilon": -1.0}, "epsilon: input should be greater than or equal to 0"),
        ({"name": "iv", "epsilon": "big"}, "epsilon: input should be a valid number, or 'auto'"),
        (
            {"name": "biv", "epsilon": "auto", "ess_ratio": 1.0},
            "ess_ratio: input should be less than 1",
        ),
        ({"name": "cutoff", "cutoff": 0.0}, "cutoff: input should be greater than 0; got 0.0"),
    ],
)
def test_bad_loss_settings_are_named(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError) as error:
        make_loss(**kwargs)
    assert message in str(error.value)
