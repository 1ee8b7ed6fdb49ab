"""The columns two pipelines share, defined once: the label of a split and the noisy table.

The ingest pipeline writes ``LABEL`` in every split; the noise pipeline adds the
``NoisyColumns`` to the training split (``noisy_train``) and the train pipeline reads them.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass

LABEL = "y"  # the clean label of a split, in the learner's units


@dataclass(frozen=True)
class NoisyColumns:
    """The columns the noise pipeline adds to the training split (``noisy_train``)."""

    y_noisy: str = "y_noisy"  # the label plus N(0, variance) noise
    variance: str = "variance"  # the variance that noise was drawn with
    variance_seen: str = "variance_seen"  # the variance the learner is told (maybe disturbed)
    component: str = "component"  # the mixture component the variance came from

    def names(self) -> tuple[str, ...]:
        """Every column name, in table order."""
        return astuple(self)


NOISY = NoisyColumns()
