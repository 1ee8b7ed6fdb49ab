"""How much faster is the project's training loop than one built like the original research code?

Both train the same VanillaANN (same initial weights) with Adam (lr 1e-2) and BIV loss
(epsilon 0.5) for 20 epochs of batch 256 on noisy Wine labels (4,000 train rows, the other
2,497 as test, standardised on the train split), on the CPU with 2 torch threads.

- project: ``biv_pipeline.training.fit`` (index batches on whole tensors, test MSE per epoch);
- original-style: a per-item ``Dataset`` building tensors from numpy rows, a shuffling
  ``DataLoader`` with default collation, and the whole test set evaluated (eval mode, no grad,
  its own ``DataLoader`` of batch 256 over the same kind of ``Dataset``) after every batch.

A throwaway 1-epoch ``fit`` first pays torch's one-off start-up (the first ``Adam`` imports
``torch._dynamo``, about 2 s here), so neither timed loop carries it. Each loop then runs once.
Run: ``python benchmarks/training_loop.py``
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml
from torch import nn
from torch.utils.data import DataLoader, Dataset

from biv_pipeline.data.preprocessing import apply_normalisation, fit_normalisation, split_train_test
from biv_pipeline.data.registry import SourceOptions, get_dataset
from biv_pipeline.data.schema import LABEL
from biv_pipeline.losses import WeightedSquaredLoss, make_loss
from biv_pipeline.models import build_model
from biv_pipeline.noise import NoiseConfig, corrupt_labels
from biv_pipeline.training import RegressionTensors, TrainingConfig, fit, mean_squared_error

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"
DECLARATIONS = Path(__file__).resolve().parents[1] / "conf/base/parameters_datasets.yml"
TRAIN_SIZE = 4000
TEST_SIZE = 2497
SEED = 0
THREADS = 2
CONFIG = TrainingConfig(
    loss="biv", epsilon=0.5, epochs=20, batch_size=256, lr=1e-2, seed=SEED, device="cpu"
)
NOISE = NoiseConfig(components=[[0.05, 0.0008], [10.0, 30.0]], p=0.5)


class RowDataset(Dataset[tuple[torch.Tensor, ...]]):
    """One item per row: a float32 tensor built from each column's numpy row, as the original."""

    def __init__(self, *columns: np.ndarray) -> None:
        self.columns = columns

    def __len__(self) -> int:
        return len(self.columns[0])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, ...]:
        return tuple(torch.tensor(column[index], dtype=torch.float32) for column in self.columns)


def load_arrays() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Standardised Wine splits as numpy arrays: train x, y_noisy, variance; test x, y."""
    declarations = yaml.safe_load(DECLARATIONS.read_text())["datasets"]
    frame = get_dataset("wine", declarations).load(SourceOptions(data_dir=DATA_DIR, download=False))
    train, test = split_train_test(frame, TRAIN_SIZE, TEST_SIZE, SEED)
    stats = fit_normalisation(train, normalize=True)
    train, test = apply_normalisation(train, stats), apply_normalisation(test, stats)
    labels = corrupt_labels(train[LABEL].to_numpy(), NOISE, 1.0, np.random.default_rng(SEED))

    def features(split: pd.DataFrame) -> np.ndarray:
        return split.drop(columns=[LABEL]).to_numpy()

    return (
        {"x": features(train), "y": labels.y_noisy, "variance": labels.variance_seen},
        {"x": features(test), "y": test[LABEL].to_numpy()},
    )


def as_tensors(arrays: dict[str, np.ndarray]) -> RegressionTensors:
    """The project's whole-split float32 tensors."""
    tensors = {name: torch.tensor(array, dtype=torch.float32) for name, array in arrays.items()}
    return RegressionTensors(**tensors)


def fresh_model() -> nn.Module:
    """The same VanillaANN, with the same initial weights, on every call."""
    torch.manual_seed(SEED)
    return build_model(CONFIG.model, (11,))


def evaluate_test_set(model: nn.Module, loader: DataLoader) -> float:
    """The original's test loss: mean over test batches of the batch MSE, eval mode, no grad."""
    model.eval()
    with torch.no_grad():
        losses = [float(((model(x) - y) ** 2).mean()) for x, y in loader]
    model.train()
    return float(np.mean(losses))


def train_original_style(
    model: nn.Module,
    loss_fn: WeightedSquaredLoss,
    train: dict[str, np.ndarray],
    test: dict[str, np.ndarray],
) -> int:
    """Train with per-item DataLoaders and a full test pass after every batch; count the passes."""
    train_loader = DataLoader(
        RowDataset(train["x"], train["y"], train["variance"]),
        batch_size=CONFIG.batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(SEED),
    )
    test_loader = DataLoader(RowDataset(test["x"], test["y"]), batch_size=CONFIG.batch_size)
    optimiser = torch.optim.Adam(model.parameters(), lr=CONFIG.lr)
    test_losses = []
    model.train()
    for _ in range(CONFIG.epochs):
        for x, y, variance in train_loader:
            optimiser.zero_grad()
            loss = loss_fn(model(x), y, variance)
            loss.backward()
            optimiser.step()
            test_losses.append(evaluate_test_set(model, test_loader))
    return len(test_losses)


def main() -> None:
    """Time both loops once and print wall times, the ratio and each final test MSE."""
    os.environ.setdefault("CI", "1")  # keeps fit()'s progress bar quiet
    torch.set_num_threads(THREADS)
    train, test = load_arrays()
    test_tensors = as_tensors(test)
    loss_fn = make_loss(CONFIG)

    warm_up = replace(CONFIG, epochs=1)
    start = time.perf_counter()
    fit(fresh_model(), loss_fn, as_tensors(train), test_tensors, warm_up, torch.Generator())
    warm_up_s = time.perf_counter() - start

    project_model = fresh_model()
    start = time.perf_counter()
    fit(
        project_model,
        loss_fn,
        as_tensors(train),
        test_tensors,
        CONFIG,
        torch.Generator().manual_seed(SEED),
    )
    project_s = time.perf_counter() - start

    original_model = fresh_model()
    start = time.perf_counter()
    passes = train_original_style(original_model, loss_fn, train, test)
    original_s = time.perf_counter() - start

    print(
        f"Wine {TRAIN_SIZE} train / {TEST_SIZE} test rows, {CONFIG.epochs} epochs, batch "
        f"{CONFIG.batch_size}, BIV eps {CONFIG.epsilon}, {torch.get_num_threads()} threads"
    )
    print(f"warm-up, not counted below (1-epoch fit + torch start-up): {warm_up_s:.2f} s")
    print(f"{'loop':<40} | {'wall s':>7} | {'test MSE':>8}")
    print(f"{'-' * 40}-+-{'-' * 7}-+-{'-' * 8}")
    rows = [
        ("project fit() (test MSE per epoch)", project_s, project_model),
        (f"original-style ({passes} full test passes)", original_s, original_model),
    ]
    for name, seconds, model in rows:
        print(f"{name:<40} | {seconds:>7.2f} | {mean_squared_error(model, test_tensors):>8.4f}")
    print(f"speed-up: {original_s / project_s:.0f}x (target >= 20x)")


if __name__ == "__main__":
    main()
