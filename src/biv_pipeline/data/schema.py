"""The columns two pipelines share, defined once: the labels of a split and the noisy table.

The ingest pipeline writes ``LABEL`` in every split, and for a table that declares its label
noise the ``DeclaredColumns`` too (in the train *and* the test split: test labels keep their
noise); the noise pipeline adds the ``NoisyColumns`` to the training split (``noisy_train``)
and the train pipeline reads them.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

LABEL = "y"  # the label of a split, in the learner's units: clean, or noisy as declared


@dataclass(frozen=True)
class NoisyColumns:
    """The columns the noise pipeline adds to the training split (``noisy_train``)."""

    y_noisy: str = "y_noisy"  # the label plus N(0, variance) noise
    variance: str = "variance"  # the variance that noise was drawn with (or was declared)
    variance_seen: str = "variance_seen"  # the variance the learner is told (maybe disturbed)
    # the mixture component the variance came from; missing (<NA>) for declared variances
    component: str = "component"

    def names(self) -> tuple[str, ...]:
        """Every column name, in table order."""
        return astuple(self)


@dataclass(frozen=True)
class DeclaredColumns:
    """The columns of every split of a table that declares its label noise (``std``,
    ``variance`` or ``repeats``): ``LABEL`` is then the noisy label as the table gives it."""

    variance: str = "declared_variance"  # the declared variance of LABEL (learner's units^2)
    clean: str = "y_clean"  # a clean label known for evaluation only (``clean_label``)

    def names(self) -> tuple[str, ...]:
        """Every column name, in table order."""
        return astuple(self)


NOISY = NoisyColumns()
DECLARED = DeclaredColumns()


def declares_noise(split: pd.DataFrame) -> bool:
    """Whether the labels of ``split`` are noisy with declared variances."""
    return DECLARED.variance in split


def clean_label_column(split: pd.DataFrame) -> str | None:
    """The column of ``split`` holding its clean labels: ``LABEL`` when the labels are clean
    (no declared noise), ``DECLARED.clean`` when the table declares them, else None."""
    if not declares_noise(split):
        return LABEL
    return DECLARED.clean if DECLARED.clean in split else None
