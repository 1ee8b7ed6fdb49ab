"""Axes people read at a glance: whole epochs on an epoch axis, plain numbers on a log axis.

Matplotlib's defaults label a log axis that spans less than a decade ``7x10^-1`` and put
ticks at epoch 1.25; :func:`epoch_axis` and :func:`plain_log_axis` give ``1 2 3`` and
``0.7 0.8 1.0``. Used by the train and report pipelines' figures.
"""

from __future__ import annotations

import math

from matplotlib.axis import Axis
from matplotlib.ticker import LogFormatter, MaxNLocator


class PlainLogFormatter(LogFormatter):
    """Labels the ticks matplotlib's log formatter labels, as plain decimals.

    Decades alone read ``0.01 0.1 1 10``; when ticks between decades are labelled too, every
    label has as many decimals as the smallest one needs (``0.6 0.7 0.8 1.0``).
    """

    def _num_to_string(self, x: float, vmin: float, vmax: float) -> str:
        low = min(vmin, vmax)
        if low <= 0 or self.labelOnlyBase or self._sublabels == {1}:
            return f"{x:g}"
        return f"{x:.{max(0, -math.floor(math.log10(low)))}f}"


def plain_log_axis(axis: Axis) -> None:
    """Label a log-scaled axis's major and minor ticks as plain numbers (``0.7 0.8 1.0``)."""
    axis.set_major_formatter(PlainLogFormatter())
    axis.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False))


def epoch_axis(axis: Axis) -> None:
    """Ticks of an epoch axis at whole epochs only."""
    axis.set_major_locator(MaxNLocator(integer=True))
