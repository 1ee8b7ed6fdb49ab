"""How many labels per second does the vectorised noise sampler corrupt, against per-label loops?

All draw, for every label, a mixture component (probability p for the first), a variance
uniform on that component's [mu - sqrt(3 v), mu + sqrt(3 v)], and Gaussian noise of that
variance. Two per-label baselines, one label at a time:
- "original loop": the original research code's way, ``torch.rand`` for the component and
  ``torch.distributions`` ``Uniform``/``Normal`` ``.sample()`` per label (1e5 labels only:
  it takes minutes at 1e6);
- "numpy loop": a careful rewrite with ``numpy.random.Generator`` scalar calls, a much
  stricter baseline.

Vectorised: best of 3. numpy loop: best of 3 at 1e5 labels, one run at 1e6. Original: one run.
Run: ``python benchmarks/noise_sampler.py``
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import torch
from torch.distributions import Normal, Uniform

from biv_pipeline.noise import NoiseConfig, corrupt_labels

COMPONENTS = [[0.05, 0.0008], [10.0, 30.0]]
P = 0.5
SEED = 0
SIZES = (100_000, 1_000_000)
VECTORISED_REPEATS = 3
LOOP_REPEATS = {100_000: 3, 1_000_000: 1}
ORIGINAL_LOOP_SIZES = (100_000,)


def original_loop_corrupt(
    y: np.ndarray, components: list[list[float]], p: float, generator: torch.Generator
) -> np.ndarray:
    """Variances drawn the original's way: torch scalar draws and distributions per label."""
    bounds = [(mu - math.sqrt(3 * v), mu + math.sqrt(3 * v)) for mu, v in components]
    variances = np.empty(len(y))
    for index, label in enumerate(y):
        a, b = bounds[0] if torch.rand((1, 1), generator=generator).item() < p else bounds[1]
        variance = Uniform(a, b).sample().item()
        _noisy = label + Normal(0.0, math.sqrt(variance)).sample().item()
        variances[index] = variance
    return variances


def loop_corrupt(
    y: np.ndarray, components: list[list[float]], p: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Noisy labels and variances, one label at a time (component, variance, noise)."""
    bounds = [(mu - math.sqrt(3 * v), mu + math.sqrt(3 * v)) for mu, v in components]
    y_noisy: list[float] = []
    variances: list[float] = []
    for label in y:
        a, b = bounds[0] if rng.random() < p else bounds[1]
        variance = rng.uniform(a, b)
        y_noisy.append(label + rng.normal(0.0, math.sqrt(variance)))
        variances.append(variance)
    return np.array(y_noisy), np.array(variances)


def best_time(run: Callable[[], np.ndarray], repeats: int) -> tuple[float, np.ndarray]:
    """Shortest wall time of ``repeats`` calls, and the last call's variances."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        variances = run()
        times.append(time.perf_counter() - start)
    return min(times), variances


def main() -> None:
    """Time both samplers at every size and print the table."""
    config = NoiseConfig(components=COMPONENTS, p=P)
    expected = P * COMPONENTS[0][0] + (1 - P) * COMPONENTS[1][0]
    header = (
        f"{'n':>9} | {'vectorised labels/s':>19} | {'numpy loop /s':>13} | {'ratio':>6} | "
        f"{'original loop /s':>16} | {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    checks = []
    for n in SIZES:
        y = np.zeros(n)
        vectorised_s, vectorised_var = best_time(
            lambda y=y: corrupt_labels(y, config, 1.0, np.random.default_rng(SEED)).variance,
            VECTORISED_REPEATS,
        )
        loop_s, loop_var = best_time(
            lambda y=y: loop_corrupt(y, COMPONENTS, P, np.random.default_rng(SEED))[1],
            LOOP_REPEATS[n],
        )
        original = "not run", "-"
        if n in ORIGINAL_LOOP_SIZES:
            torch.manual_seed(SEED)  # torch.distributions samples from the global generator
            original_s, _ = best_time(
                lambda y=y: original_loop_corrupt(
                    y, COMPONENTS, P, torch.Generator().manual_seed(SEED)
                ),
                1,
            )
            original = f"{n / original_s:,.0f}", f"{original_s / vectorised_s:.0f}x"
        print(
            f"{n:>9,} | {n / vectorised_s:>19,.0f} | {n / loop_s:>13,.0f} | "
            f"{loop_s / vectorised_s:>5.0f}x | {original[0]:>16} | {original[1]:>6}"
        )
        checks.append(f"n={n:,}: {vectorised_var.mean():.3f} vs {loop_var.mean():.3f}")
    print(f"mean variance, vectorised vs loop (expected {expected:.3f}): " + "; ".join(checks))


if __name__ == "__main__":
    main()
