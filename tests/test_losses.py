"""Each loss against its formula, computed independently in float64; the registry by name;
the rules each loss owns (labels it can learn from, batches it trains on, mean weight)."""

from __future__ import annotations

import logging

import pytest
import torch

from biv_pipeline.errors import ParameterError
from biv_pipeline.losses import (
    LOSS_CLASSES,
    BIVLoss,
    CutoffMSELoss,
    IVLoss,
    MSELoss,
    auto_epsilon,
    kish_effective_sample_size,
    make_loss,
)
from biv_pipeline.parameters.training import LOSSES, TrainingConfig, check_registry

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


def test_cutoff_with_nothing_below_the_threshold_trains_no_batch_and_has_zero_loss(batch) -> None:
    pred, target, variance = batch
    loss = CutoffMSELoss(0.001)
    noisy = variance + 1
    assert loss.trained_batches(noisy, B) == []
    assert loss(pred, target, noisy).item() == 0.0


@pytest.mark.parametrize("batch_size", [1, 7, 64, 100])
def test_cutoff_trains_the_consecutive_batches_that_keep_a_label(batch_size: int) -> None:
    variance = torch.full((100,), 5.0)
    variance[[3, 40, 99]] = 0.1
    expected = [
        number
        for number, start in enumerate(range(0, 100, batch_size))
        if any(v < 1.0 for v in variance[start : start + batch_size].tolist())
    ]
    assert CutoffMSELoss(1.0).trained_batches(variance, batch_size) == expected


@pytest.mark.parametrize("loss", [MSELoss(), IVLoss(), BIVLoss("auto")])
def test_the_other_losses_train_every_batch(loss) -> None:
    assert list(loss.trained_batches(torch.full((100,), 5.0), 7)) == list(range(15))


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


def test_the_registry_builds_every_loss_the_parameters_name() -> None:
    assert set(LOSS_CLASSES) == set(LOSSES)
    for name in LOSSES:
        loss = make_loss(TrainingConfig(loss=name))
        assert type(loss) is LOSS_CLASSES[name]
        assert loss.name == name


def test_make_loss_passes_each_loss_the_config_fields_it_uses() -> None:
    config = TrainingConfig(epsilon="auto", ess_ratio=0.3, cutoff=2.5)
    iv = make_loss(TrainingConfig(loss="iv", epsilon=0.7, ess_ratio=0.3))
    biv = make_loss(config)
    cutoff = make_loss(TrainingConfig(loss="cutoff", cutoff=2.5))
    assert (type(iv), iv.epsilon, iv.ess_ratio) == (IVLoss, 0.7, 0.3)
    assert (type(biv), biv.epsilon, biv.ess_ratio) == (BIVLoss, "auto", 0.3)
    assert (type(cutoff), cutoff.threshold) == (CutoffMSELoss, 2.5)


def test_a_registry_that_disagrees_with_the_parameters_fails() -> None:
    with pytest.raises(RuntimeError, match=r"defines \['biv', 'mse'\] but the parameters accept"):
        check_registry("loss", ["mse", "biv"], LOSSES)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: BIVLoss(epsilon=-1.0), "epsilon: input should be greater than or equal to 0"),
        (lambda: IVLoss(epsilon="big"), "epsilon: input should be a valid number, or 'auto'"),
        (lambda: BIVLoss("auto", ess_ratio=1.0), "ess_ratio: input should be less than 1"),
        (lambda: CutoffMSELoss(0.0), "cutoff: input should be greater than 0; got 0.0"),
    ],
)
def test_bad_loss_settings_are_named(build, message: str) -> None:
    with pytest.raises(ValueError) as error:
        build()
    assert message in str(error.value)


def test_batch_loss_returns_the_loss_the_epsilon_and_the_effective_size(batch) -> None:
    pred, target, variance = batch
    eps = 0.3
    weights = [1 / (v + eps) for v in variance.tolist()]
    step = BIVLoss(eps).batch_loss(pred, target, variance)
    assert step.loss.item() == BIVLoss(eps)(pred, target, variance).item()
    assert step.epsilon.item() == pytest.approx(eps)
    assert step.effective_size.item() == pytest.approx(
        sum(weights) ** 2 / sum(w * w for w in weights)
    )
    kept = int((variance < 4.0).sum())
    assert CutoffMSELoss(4.0).batch_loss(pred, target, variance).effective_size.item() == (
        pytest.approx(kept)
    )


def test_batch_loss_checks_shapes(batch) -> None:
    pred, target, variance = batch
    with pytest.raises(ValueError, match=r"shape \(B,\)"):
        MSELoss().batch_loss(pred.unsqueeze(1), target, variance)


def test_cutoff_refuses_labels_that_are_all_at_or_above_it() -> None:
    variance = torch.tensor([0.5, 2.0, 3.0])
    with pytest.raises(ParameterError) as error:
        CutoffMSELoss(0.1).check_labels(variance)
    assert str(error.value) == (
        "cutoff = 0.1 is below every seen variance of the 3 training labels (smallest 0.5), "
        "so the cutoff loss would never train; raise cutoff above it or choose another loss"
    )


def test_cutoff_warns_when_it_keeps_under_five_percent_of_the_labels(caplog) -> None:
    variance = torch.full((100,), 5.0)
    variance[:4] = 0.1
    with caplog.at_level(logging.WARNING):
        CutoffMSELoss(1.0).check_labels(variance)
        variance[4] = 0.1
        CutoffMSELoss(1.0).check_labels(variance)
    assert [record.getMessage() for record in caplog.records] == [
        "cutoff = 1 keeps 4.0% of the 100 training labels (under 5%): most batches will be skipped"
    ]


@pytest.mark.parametrize("loss", [MSELoss(), IVLoss(0.5), BIVLoss("auto")])
def test_the_other_losses_accept_any_labels(loss, caplog) -> None:
    # (with epsilon 0, IV and BIV refuse variances of 0: tests/test_declared_noise.py)
    with caplog.at_level(logging.WARNING):
        loss.check_labels(torch.tensor([0.0, 1e6]))
    assert not caplog.records


def test_only_iv_has_a_mean_weight_other_than_one() -> None:
    variance = torch.tensor([0.0, 0.5, 1.5, 3.0])
    expected = (1 / 0.5 + 1 / 1.0 + 1 / 2.0 + 1 / 3.5) / 4
    assert IVLoss(0.5).mean_weight(variance) == pytest.approx(expected, rel=1e-12)
    for loss in (MSELoss(), BIVLoss(0.5), CutoffMSELoss(1.0)):
        assert loss.mean_weight(variance) == 1.0
