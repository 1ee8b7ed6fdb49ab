"""Train/test splitting and standardisation fitted on the training split only."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from biv_pipeline.data.registry import feature_columns
from biv_pipeline.data.schema import DECLARED, LABEL
from biv_pipeline.errors import ParameterError

ROW_INDEX = "row"  # index name of a split: the row's position in the raw dataset


@dataclass(frozen=True)
class Normalisation:
    """Statistics of the training split; ``normalized`` says whether they were applied.

    The label mean and std are always recorded, so variances and errors can be converted
    between raw label units and the learner's units.
    """

    normalized: bool
    feature_mean: dict[str, float]
    feature_std: dict[str, float]
    label_mean: float
    label_std: float

    @property
    def label_scale(self) -> float:
        """Raw label units per learner label unit (label_std if normalised, else 1)."""
        return self.label_std if self.normalized else 1.0

    def to_dict(self) -> dict:
        """Plain JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Normalisation:
        """Inverse of ``to_dict``."""
        return cls(**data)


def split_train_test(
    frame: pd.DataFrame, train_size: int, test_size: int, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded random split into disjoint train and test rows.

    Both keep ``frame``'s index, named ``ROW_INDEX``: the loader's position of the row in the
    raw data (a declared table's rows keep their place in its files when rows are dropped),
    so any table derived from a split can be matched to its raw rows and checked for overlap.
    """
    if train_size < 1 or test_size < 1 or train_size + test_size > len(frame):
        raise ParameterError(
            f"ingest.train_size + ingest.test_size must be at most the {len(frame)} rows "
            f"available, each >= 1; got {train_size} + {test_size}"
        )
    order = np.random.default_rng(seed).permutation(len(frame))
    rows = frame.rename_axis(ROW_INDEX)
    return rows.iloc[order[:train_size]], rows.iloc[order[train_size : train_size + test_size]]


def fit_normalisation(train: pd.DataFrame, normalize: bool) -> Normalisation:
    """Per-feature mean and std of the training split (a constant column keeps std 1).

    Image datasets have no feature columns; their per-channel statistics are fitted on the
    training images by the train pipeline.
    """
    features = train[feature_columns(train)]
    std = features.std(ddof=0)
    return Normalisation(
        normalized=normalize,
        feature_mean=features.mean().to_dict(),
        feature_std=std.where(std > 0, 1.0).to_dict(),
        label_mean=float(train[LABEL].mean()),
        label_std=float(train[LABEL].std(ddof=0)),
    )


def apply_normalisation(frame: pd.DataFrame, stats: Normalisation) -> pd.DataFrame:
    """Standardise features and label with ``stats``; identity when normalisation is off.

    A declared clean label is standardised as the label is, and a declared variance is
    divided by label_std^2: the variance of the standardised label.
    """
    if not stats.normalized:
        return frame.copy()
    columns = list(stats.feature_mean)
    out = frame.copy()
    out[columns] = (frame[columns] - pd.Series(stats.feature_mean)) / pd.Series(stats.feature_std)
    out[LABEL] = (frame[LABEL] - stats.label_mean) / stats.label_std
    if DECLARED.clean in frame:
        out[DECLARED.clean] = (frame[DECLARED.clean] - stats.label_mean) / stats.label_std
    if DECLARED.variance in frame:
        out[DECLARED.variance] = frame[DECLARED.variance] / stats.label_std**2
    return out
