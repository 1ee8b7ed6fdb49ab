"""Splitting and standardisation fitted on the training split only."""

from __future__ import annotations

import numpy as np
import pytest

from biv_pipeline.data.preprocessing import (
    Normalisation,
    apply_normalisation,
    fit_normalisation,
    split_train_test,
)
from biv_pipeline.data.registry import make_synthetic
from biv_pipeline.data.schema import LABEL


def test_split_is_seeded_disjoint_and_sized() -> None:
    frame = make_synthetic(100, 3, seed=0)
    train, test = split_train_test(frame, 60, 30, seed=1)
    again, _ = split_train_test(frame, 60, 30, seed=1)
    assert (len(train), len(test)) == (60, 30)
    assert train.equals(again)
    rows = {tuple(row) for row in train.to_numpy()}
    assert not rows & {tuple(row) for row in test.to_numpy()}


def test_split_larger_than_the_data_names_both_sizes() -> None:
    frame = make_synthetic(100, 3, seed=0)
    with pytest.raises(
        ValueError, match=r"ingest.train_size \+ ingest.test_size .* 100 rows.*80 \+ 30"
    ):
        split_train_test(frame, 80, 30, seed=1)


def test_statistics_come_from_the_training_split_only() -> None:
    frame = make_synthetic(1000, 3, seed=0)
    train, test = split_train_test(frame, 500, 500, seed=1)
    stats = fit_normalisation(train, normalize=True)
    train_n, test_n = apply_normalisation(train, stats), apply_normalisation(test, stats)
    np.testing.assert_allclose(train_n.mean(), 0, atol=1e-12)
    np.testing.assert_allclose(train_n.std(ddof=0), 1, atol=1e-12)
    assert abs(test_n[LABEL].mean()) > 1e-6
    expected = (test[LABEL] - train[LABEL].mean()) / train[LABEL].std(ddof=0)
    np.testing.assert_allclose(test_n[LABEL], expected)


def test_switched_off_normalisation_is_the_identity_but_keeps_statistics() -> None:
    train = make_synthetic(200, 3, seed=0)
    stats = fit_normalisation(train, normalize=False)
    assert apply_normalisation(train, stats).equals(train)
    assert stats.label_std == pytest.approx(train[LABEL].std(ddof=0))
    assert stats.label_scale == 1.0


def test_statistics_round_trip_through_json_form() -> None:
    stats = fit_normalisation(make_synthetic(50, 2, seed=0), normalize=True)
    assert Normalisation.from_dict(stats.to_dict()) == stats
