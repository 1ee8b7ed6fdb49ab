"""Does BIV beat MSE, IV and the cutoff on UTKFace ages at the paper's 200 px?

The paper's comparison on the 3,000-face sample: losses mse, iv, biv and cutoff, and the clean
baseline (mse on the clean labels), vanilla CNN, 20 epochs, 5 seeds. Each seed repeats the
Kedro pipelines' sequence with the core functions they call (the nodes themselves import
matplotlib, which the device machine lacks): a split seeded with the seed (``utkface_split``:
80% / 20%), the label standardised with training-split statistics, the default noise of
``conf/base/parameters_noise.yml`` drawn with the seed (as a sweep sets ``seed``,
``noise.seed`` and ``ingest.split_seed`` together), the network with per-channel normalisation
fitted on the training images, ``make_loss`` and ``fit`` with ``conf/base/parameters_train.yml``
(``auto`` model and lr resolved for ``utkf``), and the final clean test MSE from ``predict`` on
the CPU, as ``predict_test_set`` does. Every method of a seed trains on the same noisy labels and
is scored on that seed's own clean test split. The table is the README's results format
(``reporting.results_table``: Student-t 95% intervals over seeds, paired differences to mse).

Run: ``PYTHONPATH=src python benchmarks/gpu_utkface.py --faces FOLDER --out OUT``
(``--epochs``, ``--seeds``, ``--image-size``, ``--budget-s``; ``--cpu-smoke``: tiny and on the
CPU). ``gpu_check.py`` runs it as its last part.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml
from torch import nn

from biv_pipeline.data.images import IMAGE_KEY, build_image_cache, channel_statistics
from biv_pipeline.data.preprocessing import apply_normalisation, fit_normalisation, split_train_test
from biv_pipeline.data.registry import get_dataset
from biv_pipeline.data.schema import LABEL
from biv_pipeline.losses import make_loss
from biv_pipeline.models import ImageInput, build_model
from biv_pipeline.noise import NoiseConfig, corrupt_labels, variance_scale
from biv_pipeline.reporting import (
    CLEAN,
    EFFECTIVE_BATCH,
    FINAL_METRIC,
    FINISHED,
    ReportConfig,
    SweepRuns,
    results_markdown,
    results_table,
)
from biv_pipeline.training import RegressionTensors, TrainingConfig, fit, predict

DATASET = "utkf"
AUTO = "auto"
METHODS = ("mse", "iv", "biv", "cutoff")
SETTING = "default"  # the sweep's name for the one noise setting (no swept axis)
FAILED = "FAILED"
CONF = Path(__file__).resolve().parents[1] / "conf" / "base"
PAPER_IMAGE_SIZE = 200
PAPER_EPOCHS = 20
PAPER_SEEDS = 5
SMOKE_IMAGE_SIZE = 32
SMOKE_EPOCHS = 2
SMOKE_SEEDS = 2
MAX_BAD_FRACTION = 0.01  # the ingest default: fail if more files than this cannot be used
ASSUMED_CPU_IMAGES_PER_S = 200.0  # for the estimate before anything was measured (200 px)
TRIAL_OVERHEAD_S = 2.0  # per trial: gathering inputs, channel statistics, CPU prediction

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Faces:
    """The decoded sample: the image table (as ``load_utkface`` returns it) and its uint8 cache."""

    table: pd.DataFrame
    images: np.ndarray
    folder: Path


@dataclass(frozen=True)
class Defaults:
    """The project's default parameters, read from ``conf/base`` (the noise block as is)."""

    noise: NoiseConfig
    normalize: bool
    training: TrainingConfig


@dataclass(frozen=True)
class SeedData:
    """One seed's training tensors (noisy, and clean for the baseline) and its clean test set."""

    noisy: RegressionTensors
    clean: RegressionTensors
    test: RegressionTensors
    train_rows: int
    test_rows: int
    channel_mean: list[float]
    channel_std: list[float]
    test_labels: np.ndarray  # float64, as the test split holds them


@dataclass
class Comparison:
    """Per trial: method, seed, status, final clean test MSE, effective batch, seconds."""

    trials: list[dict] = field(default_factory=list)
    stopped_early: str | None = None
    markdown: str = ""


def load_defaults(conf: Path = CONF, device: str = AUTO) -> Defaults:
    """The noise block, ``ingest.normalize`` and the training parameters of ``conf``."""
    train = yaml.safe_load((conf / "parameters_train.yml").read_text())
    ingest = yaml.safe_load((conf / "parameters_ingest.yml").read_text())["ingest"]
    noise = yaml.safe_load((conf / "parameters_noise.yml").read_text())["noise"]
    spec = get_dataset(DATASET)
    training = TrainingConfig(
        loss=train["loss"],
        epsilon=train["epsilon"],
        ess_ratio=train["ess_ratio"],
        cutoff=train["cutoff"],
        model=spec.model if train["model"] == AUTO else train["model"],
        epochs=train["epochs"],
        batch_size=train["batch_size"],
        lr=spec.lr if train["lr"] == AUTO else train["lr"],
        seed=train["seed"],
        device=device,
        amp=train["amp"],
        compile=train["compile"],
    )
    return Defaults(NoiseConfig(**noise), bool(ingest["normalize"]), training)


def decode_faces(folder: Path, image_size: int, cache_dir: Path, workers: int) -> Faces:
    """Decode ``folder`` into the uint8 cache with the ingest pipeline's core function."""
    table, cache, _ = build_image_cache(folder, image_size, cache_dir, workers, MAX_BAD_FRACTION)
    return Faces(table, np.load(cache.images), folder)


def model_inputs(frame: pd.DataFrame, images: np.ndarray) -> torch.Tensor:
    """uint8 images (B, 3, H, W) of the rows of ``frame``, as the train node gathers them."""
    return torch.from_numpy(np.ascontiguousarray(images[frame[IMAGE_KEY].to_numpy()]))


def _column(frame: pd.DataFrame, name: str) -> torch.Tensor:
    return torch.tensor(frame[name].to_numpy(dtype=np.float32))


def prepare_seed(faces: Faces, seed: int, defaults: Defaults) -> SeedData:
    """Split, standardise and corrupt as the ingest and noise pipelines do for one seed."""
    train_rows, test_rows = get_dataset(DATASET).default_split(len(faces.table))
    train, test = split_train_test(faces.table, train_rows, test_rows, seed)
    stats = fit_normalisation(train, defaults.normalize)
    train, test = apply_normalisation(train, stats), apply_normalisation(test, stats)
    noise = replace(defaults.noise, seed=seed)
    if noise.threshold is not None:
        raise ValueError("noise.threshold is not null in conf/base: not reproduced here")
    scale = variance_scale(noise.units, stats.label_std, stats.normalized)
    labels = corrupt_labels(train[LABEL].to_numpy(), noise, scale, np.random.default_rng(seed))
    x_train = model_inputs(train, faces.images)
    noisy = RegressionTensors(
        x_train,
        torch.tensor(labels.y_noisy, dtype=torch.float32),
        torch.tensor(labels.variance_seen, dtype=torch.float32),
    )
    clean = RegressionTensors(x_train, _column(train, LABEL), torch.zeros(len(train)))
    test_data = RegressionTensors(model_inputs(test, faces.images), _column(test, LABEL))
    mean, std = channel_statistics(x_train.numpy())
    labels_64 = test[LABEL].to_numpy(dtype=float)
    return SeedData(noisy, clean, test_data, train_rows, test_rows, mean, std, labels_64)


def network(model: str, data: SeedData, input_layer: type[ImageInput] = ImageInput) -> nn.Module:
    """The train node's network: ``input_layer``, the per-channel normalisation fitted on the
    training images (computed once per seed: every method trains on the same images), then
    the registered ``model``."""
    layer = input_layer(data.channel_mean, data.channel_std)
    return nn.Sequential(layer, build_model(model, tuple(data.noisy.x.shape[1:])))


def run_trial(data: SeedData, method: str, config: TrainingConfig) -> dict:
    """Train one method on one seed's data; the final clean test MSE and effective batch."""
    train = data.clean if method == CLEAN else data.noisy
    config = replace(config, loss="mse" if method == CLEAN else method)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = network(config.model, data)
    loss_fn = make_loss(config)
    history = fit(
        model, loss_fn, train, data.test, config, torch.Generator().manual_seed(config.seed)
    )
    prediction = predict(model, data.test.x).numpy().astype(float)  # as predict_test_set
    return {
        FINAL_METRIC: float(((prediction - data.test_labels) ** 2).mean()),
        EFFECTIVE_BATCH: float(history["effective_batch_size"].mean()),
        "test_mse_per_epoch": [float(value) for value in history["test_mse"]],
    }


def estimate_seconds(
    n_trials: int, epochs: int, train_rows: int, test_rows: int, images_per_s: float
) -> float:
    """Rough wall time: every epoch trains on the training rows and evaluates the test rows
    (counted as one third of a training image), plus a fixed cost per trial."""
    per_epoch = (train_rows + test_rows / 3) / images_per_s
    return n_trials * (epochs * per_epoch + TRIAL_OVERHEAD_S)


def run_comparison(
    faces: Faces,
    seeds: list[int],
    epochs: int,
    deadline: float,
    progress: Progress,
    device: str = AUTO,
) -> Comparison:
    """Every method and the clean baseline on every seed, seed after seed, until ``deadline``
    (a ``time.perf_counter()`` value): a seed that would not finish in time is not started."""
    defaults = load_defaults(device=device)
    config = replace(defaults.training, epochs=epochs)
    methods = [*METHODS, CLEAN]
    result = Comparison()
    seed_seconds = 0.0
    for seed in seeds:
        if seed_seconds and time.perf_counter() + seed_seconds > deadline:
            result.stopped_early = f"out of time before seed {seed}"
            break
        start = time.perf_counter()
        data = prepare_seed(faces, seed, defaults)
        for method in methods:
            trial_start = time.perf_counter()
            row = {"method": method, "seed": seed}
            try:
                row |= {"status": FINISHED, **run_trial(data, method, replace(config, seed=seed))}
            except Exception as error:  # a failed trial is a result: counted, not fatal
                row |= {"status": FAILED, "error": f"{type(error).__name__}: {error}"}
                row["traceback"] = traceback.format_exc(limit=3)
            row["seconds"] = time.perf_counter() - trial_start
            result.trials.append(row)
            progress(
                f"  seed {seed} {method:<6} {row['status']:<8} "
                f"test MSE {row.get(FINAL_METRIC, math.nan):.4f} ({row['seconds']:.1f} s)"
            )
        seed_seconds = time.perf_counter() - start
    result.markdown = comparison_markdown(result.trials, name=f"utkf_{faces.images.shape[-1]}px")
    return result


def comparison_markdown(trials: list[dict], name: str) -> str:
    """The README's results table (setting | method | seeds | failed | test MSE (95% CI) |
    Δ vs mse (95% CI) | effective batch) of the trials."""
    if not trials:
        return ""
    runs = pd.DataFrame(trials)
    for column in (FINAL_METRIC, EFFECTIVE_BATCH):
        if column not in runs:
            runs[column] = math.nan
    runs = runs.assign(
        trial=[f"{row.method}-seed-{row.seed}" for row in runs.itertuples()],
        setting=[CLEAN if method == CLEAN else SETTING for method in runs["method"]],
        start_time=range(len(runs)),
    )
    runs["run_id"] = runs["trial"]
    trials_table = SweepRuns(runs, pd.DataFrame(columns=["run_id", "epoch", "test_mse"]))
    config = ReportConfig()
    return results_markdown(results_table(trials_table, config), trials_table, name, config)


def main() -> None:
    """Decode the faces, run the comparison, write ``gpu_utkface.json`` and ``.md`` to --out."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faces", type=Path, required=True, help="folder of UTKFace JPEGs")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--cpu-smoke", action="store_true", help="tiny, on the CPU")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--seeds", type=int, help="seeds 0 .. N-1")
    parser.add_argument("--image-size", type=int)
    parser.add_argument("--budget-s", type=float, default=math.inf)
    args = parser.parse_args()
    os.environ.setdefault("CI", "1")  # keeps fit()'s progress bar quiet
    smoke = args.cpu_smoke
    epochs = args.epochs or (SMOKE_EPOCHS if smoke else PAPER_EPOCHS)
    seeds = list(range(args.seeds or (SMOKE_SEEDS if smoke else PAPER_SEEDS)))
    image_size = args.image_size or (SMOKE_IMAGE_SIZE if smoke else PAPER_IMAGE_SIZE)
    deadline = time.perf_counter() + args.budget_s
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as cache_dir:
        faces = decode_faces(args.faces, image_size, Path(cache_dir), os.cpu_count() or 1)
    train_rows, test_rows = get_dataset(DATASET).default_split(len(faces.table))
    n_trials = len(seeds) * (len(METHODS) + 1)
    estimate = estimate_seconds(n_trials, epochs, train_rows, test_rows, ASSUMED_CPU_IMAGES_PER_S)
    print(f"{n_trials} trials x {epochs} epochs; on a CPU roughly {estimate / 60:.0f} min")
    result = run_comparison(faces, seeds, epochs, deadline, print, "cpu" if smoke else AUTO)
    (args.out / "gpu_utkface.md").write_text(result.markdown)
    (args.out / "gpu_utkface.json").write_text(json.dumps(result.__dict__, indent=1))
    print(result.markdown)


if __name__ == "__main__":
    main()
