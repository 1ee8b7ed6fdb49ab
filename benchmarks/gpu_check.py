"""Does the CUDA path work, and how fast is it? One prepared check for a device machine.

Imports the framework-free core only (never Kedro, MLflow, matplotlib or the pipelines), so it
runs where torch, torchvision, numpy, pandas, scipy, pyyaml and pydantic are all there is
(``benchmarks/device_wheels.sh`` fetches pydantic for the device machine). Every part
records its status (ok, failed: a check did not hold, error: it raised, skipped), seconds and
figures in ``<out>/gpu_check.json``, rewritten after each part so that a run cut off keeps what
it measured, and a short table in ``<out>/gpu_check.txt``; a part that fails does not stop the
others. The data is the UTKFace sample in ``--faces``, else synthetic faces written as JPEGs
with UTKFace names, decoded as the ingest pipeline does.

Parts, in order (sizes for the device; ``--cpu-smoke`` runs the same code at tiny sizes):

- data: the faces decoded into the uint8 cache by ``build_image_cache`` (the CPU path).
- loss_parity: mse, iv, biv, cutoff and biv with epsilon ``auto`` on the same float32 batch,
  on the device and on the CPU: equal within a relative 1e-5 (sums in another order).
- host_sync: CUDA sync debug mode ``warn`` around ``fit`` (biv with epsilon 0.5 and ``auto``,
  cutoff), every synchronising call counted by its source line, with batches of 256 and of
  128, after a control (one known sync must be seen): a count that grows with the number of
  batches is a synchronisation per batch. (Mode ``error`` would stop at the once-per-epoch reads
  that are there by design: the batches to skip, the test MSE, the metrics. Syncs raised in the
  autograd engine's own threads are printed, not counted.)
- loop_ratio: images/s of a training epoch of ``fit`` (the difference between a 4- and a
  1-epoch run, so the one-off upload is not counted; it includes the per-epoch test MSE)
  against the model alone (forward, backward and Adam step on one batch already on the device),
  vanilla_cnn and resnet18, 200 px, batch 256; the goal is a ratio >= 0.7.
- amp_channels_last: the model alone with bf16 autocast on/off x channels-last on/off, and
  ``fit`` with amp off: images/s and finite losses.
- decode: ``torchvision.io.decode_jpeg`` batched on the device against the core's CPU path
  (threaded decode into the cache), images/s, and the pixel difference of the two decoders.
- fallback: a cache larger than the device memory left (``set_per_process_memory_fraction``):
  ``RegressionTensors.to`` keeps it in pinned host memory and ``fit`` trains from there with no
  per-batch synchronisation; images/s.
- compile: ``torch.compile``, the model alone and inside ``fit``: images/s, finite losses.
- comparison: the paper's UTKFace comparison (``gpu_utkface.py``), within the time left.

Run from the repository root: ``PYTHONPATH=src python benchmarks/gpu_check.py --faces
benchmarks/faces --out OUT`` (about 6 minutes for the check on an H100, then the comparison);
``--cpu-smoke``: seconds on a CPU (CI runs it).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import gpu_utkface
import numpy as np
import torch
import torchvision
from gpu_utkface import Faces, SeedData
from torchvision.io import ImageReadMode, decode_jpeg, encode_jpeg, read_file

from biv_pipeline.data.images import build_image_cache
from biv_pipeline.losses import make_loss
from biv_pipeline.models import ImageInput
from biv_pipeline.noise import corrupt_labels
from biv_pipeline.training import RegressionTensors, TrainingConfig, fit, resolve_device, use_amp

MODELS = ("vanilla_cnn", "resnet18")
FORBIDDEN_MODULES = ("kedro", "kedro_mlflow", "mlflow", "matplotlib")
LOOP_RATIO_GOAL = 0.7
LOSS_RTOL = 1e-5
LOSS_ATOL = 1e-7
DECODE_MEAN_ABS_TOLERANCE = 2.0  # grey levels: two JPEG decoders may round the IDCT differently
DECODE_COMPARED = 64  # images whose pixels are compared between the two decoders
SYNC_MESSAGE = "synchronizing CUDA operation"
# (name, loss, epsilon) run under the sync counter: every code path of batch_weights
SYNC_LOSSES = (("biv", "biv", 0.5), ("biv_auto", "biv", "auto"), ("cutoff", "cutoff", 0.5))
UTKFACE_SIZE = 200  # side of the aligned and cropped UTKFace JPEGs
SYNTHETIC_AGES = (1, 90)
SYNTHETIC_GRID = 8  # synthetic faces: smooth colour fields upsampled from 8 x 8
SYNTHETIC_CHUNK = 256
MEGABYTE = 2**20
FALLBACK_HEADROOM = 1.5  # memory limit = in use + 1.5 x one training step's peak (+ margin)
FALLBACK_MARGIN_BYTES = 256 * MEGABYTE
FALLBACK_CACHE_FACTOR = 1.25  # the oversized cache: 1.25 x the memory the limit leaves
FALLBACK_MAX_CACHE_BYTES = 32 * 2**30  # host memory: the cache and its pinned copy must fit
FALLBACK_PROBE_ROWS = 1024  # rows of the fit that measures a training step's peak memory
FULL_MEMORY = 1.0
AUTO_AMP = "auto"
SMOKE_THREADS = 1
SAMPLE_FACES = 3000  # synthetic faces on the device: as many as the UTKFace sample


@dataclass(frozen=True)
class Sizes:
    """How big each part is: the device sizes, or tiny ones for ``--cpu-smoke``."""

    image_size: int
    batch_size: int
    faces: int | None  # None: every face of the folder
    warm_up_steps: int
    timed_steps: int
    short_epochs: int
    long_epochs: int
    sync_epochs: int
    decode_batch: int
    comparison_epochs: int
    comparison_seeds: int
    variant_models: tuple[str, ...]  # models of the amp x channels-last grid
    budget_s: float  # the whole command
    check_budget_s: float  # every part but the comparison
    part_estimate_s: dict[str, float] = field(default_factory=dict)


DEVICE_SIZES = Sizes(
    image_size=200,
    batch_size=256,
    faces=None,
    warm_up_steps=5,
    timed_steps=20,
    short_epochs=1,
    long_epochs=4,
    sync_epochs=2,
    decode_batch=256,
    comparison_epochs=20,
    comparison_seeds=5,
    variant_models=MODELS,
    budget_s=540.0,
    check_budget_s=360.0,
    # planning estimates on an H100 (generous); a part is skipped when it would overrun
    part_estimate_s={
        "data": 20,
        "loss_parity": 5,
        "host_sync": 30,
        "loop_ratio": 60,
        "amp_channels_last": 60,
        "decode": 20,
        "fallback": 60,
        "compile": 120,
    },
)
SMOKE_SIZES = Sizes(
    image_size=16,
    batch_size=16,
    faces=64,
    warm_up_steps=1,
    timed_steps=2,
    short_epochs=1,
    long_epochs=2,
    sync_epochs=1,
    decode_batch=64,
    comparison_epochs=2,
    comparison_seeds=2,
    variant_models=MODELS[:1],  # resnet18 in bf16 on a CPU without bf16 units: ~10 s a step
    budget_s=300.0,
    check_budget_s=240.0,
)


class Outcome(NamedTuple):
    """What a part found: whether its checks held, its figures, and a one-line summary."""

    passed: bool
    result: dict[str, Any]
    summary: str


class SkipPartError(Exception):
    """Raised by a part that cannot run here (the reason is recorded)."""


@dataclass
class Context:
    """What the parts share: settings, the decoded faces, one seed's data, measurements."""

    sizes: Sizes
    device: torch.device
    work: Path
    faces_arg: Path | None
    faces: Faces | None = None
    seed_data: SeedData | None = None
    fit_images_per_s: dict[str, float] = field(default_factory=dict)
    start: float = field(default_factory=time.perf_counter)

    @property
    def cuda(self) -> bool:
        """Whether the parts run on a CUDA device."""
        return self.device.type == "cuda"

    def elapsed(self) -> float:
        """Seconds since the check started."""
        return time.perf_counter() - self.start

    def decoded(self) -> Faces:
        """The decoded faces; needs the data part."""
        if self.faces is None:
            raise RuntimeError("no data: the data part did not succeed")
        return self.faces

    def data(self) -> SeedData:
        """Seed 0's split (noisy training labels, clean test labels); needs the data part."""
        if self.seed_data is None:
            raise RuntimeError("no data: the data part did not succeed")
        return self.seed_data

    def training(self, **changes: Any) -> TrainingConfig:
        """The project's default training parameters on this device, with ``changes``."""
        defaults = gpu_utkface.load_defaults(device=str(self.device))
        return replace(defaults.training, **changes)


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (nothing to wait for on a CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ---------------------------------------------------------------------------- data


def write_synthetic_faces(folder: Path, count: int, seed: int = 0) -> None:
    """``count`` JPEGs of 200 x 200 smooth colour fields whose brightness grows with the age in
    the UTKFace-style name (``AGE_GENDER_RACE_DATETIME.jpg.chip.jpg``), so a CNN can learn it."""
    generator = torch.Generator().manual_seed(seed)
    low, high = SYNTHETIC_AGES
    ages = torch.randint(low, high + 1, (count,), generator=generator)
    folder.mkdir(parents=True, exist_ok=True)
    for first in range(0, count, SYNTHETIC_CHUNK):
        chunk = ages[first : first + SYNTHETIC_CHUNK]
        grid = torch.rand(len(chunk), 3, SYNTHETIC_GRID, SYNTHETIC_GRID, generator=generator)
        fields = torch.nn.functional.interpolate(grid, size=UTKFACE_SIZE, mode="bilinear")
        brightness = (chunk.float() / high).view(-1, 1, 1, 1)
        images = (255 * (0.5 * fields + 0.5 * brightness)).clamp(0, 255).to(torch.uint8)
        for offset, (age, image) in enumerate(zip(chunk.tolist(), images, strict=True)):
            name = f"{age}_{offset % 2}_{offset % 5}_2017010100{first + offset:07d}.jpg.chip.jpg"
            (folder / name).write_bytes(encode_jpeg(image).numpy().tobytes())


def faces_folder(context: Context) -> tuple[Path, str]:
    """The folder to decode and where it came from: ``--faces`` (its first ``sizes.faces``
    files, linked into a work folder), else synthetic faces."""
    given = context.faces_arg
    if given is None or not given.is_dir() or not any(given.glob("*.jpg")):
        folder = context.work / "synthetic_faces"
        count = context.sizes.faces or SAMPLE_FACES
        write_synthetic_faces(folder, count)
        reason = "not given" if given is None else f"{given} has no JPEGs"
        return folder, f"synthetic ({count} faces; --faces {reason})"
    if context.sizes.faces is None:
        return given, f"{given}"
    folder = context.work / "faces_subset"
    folder.mkdir()
    for path in sorted(given.glob("*.jpg"))[: context.sizes.faces]:
        (folder / path.name).symlink_to(path.resolve())
    return folder, f"{given} (first {context.sizes.faces} files)"


def part_data(context: Context) -> Outcome:
    """Decode the faces into the uint8 cache; prepare seed 0's split and noisy labels."""
    folder, source = faces_folder(context)
    start = time.perf_counter()
    context.faces = gpu_utkface.decode_faces(
        folder, context.sizes.image_size, context.work / "cache", os.cpu_count() or 1
    )
    seconds = time.perf_counter() - start
    defaults = gpu_utkface.load_defaults(device=str(context.device))
    context.seed_data = gpu_utkface.prepare_seed(context.faces, 0, defaults)
    images = context.faces.images
    result = {
        "source": source,
        "faces": len(images),
        "image_size": images.shape[-1],
        "cache_mb": images.nbytes / MEGABYTE,
        "train_rows": context.seed_data.train_rows,
        "test_rows": context.seed_data.test_rows,
        "cpu_decode_images_per_s": len(images) / seconds,
    }
    return Outcome(
        True, result, f"{len(images)} faces from {source}, {images.nbytes / MEGABYTE:.0f} MB"
    )


# ---------------------------------------------------------------------------- loss parity


def part_loss_parity(context: Context) -> Outcome:
    """Every loss on one float32 batch on the device and on the CPU, and in float64."""
    defaults = gpu_utkface.load_defaults()
    config = defaults.training
    batch = context.sizes.batch_size
    generator = torch.Generator().manual_seed(0)
    pred, target = torch.randn(batch, generator=generator), torch.randn(batch, generator=generator)
    labels = corrupt_labels(target.numpy(), defaults.noise, 1.0, np.random.default_rng(0))
    variance = torch.tensor(labels.variance_seen, dtype=torch.float32)
    losses = {
        **{name: make_loss(replace(config, loss=name)) for name in ("mse", "iv", "biv", "cutoff")},
        "biv_auto": make_loss(replace(config, loss="biv", epsilon="auto")),
    }
    result: dict[str, Any] = {"rtol": LOSS_RTOL, "atol": LOSS_ATOL, "batch": batch}
    passed = True
    for name, loss_fn in losses.items():
        on_cpu = float(loss_fn(pred, target, variance))
        on_device = float(
            loss_fn(pred.to(context.device), target.to(context.device), variance.to(context.device))
        )
        in_float64 = float(loss_fn(pred.double(), target.double(), variance.double()))
        equal = abs(on_device - on_cpu) <= LOSS_ATOL + LOSS_RTOL * abs(on_cpu)
        finite = all(math.isfinite(value) for value in (on_cpu, on_device))
        passed &= equal and finite
        result[name] = {
            "cpu": on_cpu,
            "device": on_device,
            "float64": in_float64,
            "relative_difference": abs(on_device - on_cpu) / max(abs(on_cpu), LOSS_ATOL),
            "equal": equal,
        }
    auto = losses["biv_auto"]
    result["biv_auto"]["epsilon_cpu"] = float(auto.batch_weights(variance).epsilon)
    result["biv_auto"]["epsilon_device"] = float(
        auto.batch_weights(variance.to(context.device)).epsilon
    )
    worst = max(result[name]["relative_difference"] for name in losses)
    return Outcome(passed, result, f"5 losses, largest relative difference {worst:.1e}")


# ---------------------------------------------------------------------------- host sync


@contextmanager
def counted_syncs(device: torch.device) -> Iterator[Counter]:
    """Count, by source line, the calls that synchronise with the CUDA device (none on a CPU)."""
    counts: Counter = Counter()
    if device.type != "cuda":
        yield counts
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            yield counts
        finally:
            torch.cuda.set_sync_debug_mode("default")
    for warning in caught:
        if SYNC_MESSAGE in str(warning.message):
            counts[f"{Path(warning.filename).name}:{warning.lineno}"] += 1


def train_once(
    context: Context, data: RegressionTensors, config: TrainingConfig
) -> tuple[list[float], float]:
    """``fit`` a fresh network (seeded) on ``data``; its per-epoch training losses and seconds."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        network = gpu_utkface.network(config.model, context.data())
    loss_fn = make_loss(config)
    start = time.perf_counter()
    history = fit(
        network, loss_fn, data, context.data().test, config, torch.Generator().manual_seed(0)
    )
    return [float(value) for value in history["train_loss"]], time.perf_counter() - start


def part_host_sync(context: Context) -> Outcome:
    """Synchronising calls in ``fit`` per source line, with full and half batches."""
    data = context.data()
    batch = context.sizes.batch_size
    with counted_syncs(context.device) as control:
        float(torch.ones((), device=context.device))  # one known synchronisation
    result: dict[str, Any] = {"measured": context.cuda, "control_syncs": sum(control.values())}
    if context.cuda and not control:
        return Outcome(False, result, "the sync counter saw no sync in a known one: not counting")
    per_batch: set[str] = set()
    finite = True
    for name, loss, epsilon in SYNC_LOSSES:
        counts = {}
        for batch_size in (batch, batch // 2):
            config = context.training(
                loss=loss, epsilon=epsilon, batch_size=batch_size, epochs=context.sizes.sync_epochs
            )
            with counted_syncs(context.device) as sites:
                losses, _ = train_once(context, data.noisy, config)
            finite &= all(math.isfinite(value) for value in losses)
            counts[batch_size] = sites
            batches = math.ceil(data.train_rows / batch_size) * config.epochs
            result[f"{name}_batch_{batch_size}"] = {
                "batches": batches,
                "syncs": sum(sites.values()),
                "sites": dict(sites),
            }
        per_batch |= {
            site for site, count in counts[batch // 2].items() if count > counts[batch].get(site, 0)
        }
    result["per_batch_sites"] = sorted(per_batch)
    if not context.cuda:
        return Outcome(finite, result, "sync debug mode needs CUDA: fit ran, syncs not counted")
    syncs = result[f"biv_batch_{batch}"]["syncs"]
    summary = (
        f"per-batch sync at {', '.join(sorted(per_batch))}"
        if per_batch
        else f"none per batch ({syncs} in {context.sizes.sync_epochs} epochs, all per epoch)"
    )
    return Outcome(finite and not per_batch, result, summary)


# ---------------------------------------------------------------------------- throughput


class ContiguousImageInput(ImageInput):
    """``ImageInput`` whose output stays in the default (NCHW) layout: channels-last off."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised float images, contiguous."""
        return super().forward(x).contiguous()


def time_model_alone(
    context: Context,
    model: str,
    amp: bool,
    channels_last: bool,
    compile_model: bool = False,
) -> dict[str, Any]:
    """Images/s of forward, backward and Adam step on one batch already on the device, with the
    training loss; the warm-up (compilation included) is timed apart."""
    data, device = context.data(), context.device
    config = context.training(model=model)
    layer = ImageInput if channels_last else ContiguousImageInput
    torch.manual_seed(0)
    network = gpu_utkface.network(model, data, layer)
    if channels_last and device.type == "cuda":
        network.to(memory_format=torch.channels_last)
    network.to(device)
    forward = torch.compile(network) if compile_model else network
    optimiser = torch.optim.Adam(network.parameters(), lr=config.lr)
    loss_fn = make_loss(config)
    batch = context.sizes.batch_size
    x = data.noisy.x[:batch].to(device)
    y, variance = data.noisy.y[:batch].to(device), data.noisy.variance[:batch].to(device)

    def step() -> torch.Tensor:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            prediction = forward(x)
        loss = loss_fn.batch_loss(prediction.float(), y, variance).loss
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        return loss.detach()

    start = time.perf_counter()
    for _ in range(context.sizes.warm_up_steps):
        step()
    synchronize(device)
    warm_up_s = time.perf_counter() - start
    start = time.perf_counter()
    losses = torch.stack([step() for _ in range(context.sizes.timed_steps)])
    synchronize(device)
    seconds = time.perf_counter() - start
    return {
        "images_per_s": context.sizes.timed_steps * batch / seconds,
        "warm_up_s": warm_up_s,
        "finite": bool(torch.isfinite(losses).all()),
    }


def fit_epoch_images_per_s(context: Context, config: TrainingConfig) -> dict[str, Any]:
    """Images/s of one epoch of ``fit``: a long run minus a short one, after a warm-up run."""
    data = context.data().noisy
    sizes = context.sizes
    warm_up_losses, _ = train_once(context, data, replace(config, epochs=1))
    short_losses, short_s = train_once(context, data, replace(config, epochs=sizes.short_epochs))
    long_losses, long_s = train_once(context, data, replace(config, epochs=sizes.long_epochs))
    extra_images = (sizes.long_epochs - sizes.short_epochs) * len(data.y)
    losses = warm_up_losses + short_losses + long_losses
    call_images_per_s = sizes.long_epochs * len(data.y) / long_s
    # timing noise can swamp the difference of two short runs: then the whole call counts
    marginal = long_s > short_s
    return {
        "epoch_images_per_s": extra_images / (long_s - short_s) if marginal else call_images_per_s,
        "epoch_from": "difference of runs" if marginal else "whole call (difference <= 0)",
        "call_images_per_s": call_images_per_s,
        "short_run_s": short_s,
        "long_run_s": long_s,
        "finite": all(math.isfinite(value) for value in losses),
    }


def part_loop_ratio(context: Context) -> Outcome:
    """The full ``fit`` loop against the model alone, per model."""
    amp = use_amp(AUTO_AMP, context.device)
    result: dict[str, Any] = {"goal": LOOP_RATIO_GOAL, "amp": amp}
    passed, summary = True, []
    for model in MODELS:
        loop = fit_epoch_images_per_s(context, context.training(model=model))
        alone = time_model_alone(context, model, amp=amp, channels_last=context.cuda)
        ratio = loop["epoch_images_per_s"] / alone["images_per_s"]
        context.fit_images_per_s[model] = loop["epoch_images_per_s"]
        result[model] = {"fit": loop, "model_alone": alone, "ratio": ratio}
        finite = loop["finite"] and alone["finite"]
        passed &= finite and (ratio >= LOOP_RATIO_GOAL or not context.cuda)
        summary.append(
            f"{model} {loop['epoch_images_per_s']:.0f}/{alone['images_per_s']:.0f} img/s "
            f"= {ratio:.2f}"
        )
    return Outcome(passed, result, "; ".join(summary))


def part_amp_channels_last(context: Context) -> Outcome:
    """The model alone with amp and channels-last on and off; ``fit`` with amp off."""
    result: dict[str, Any] = {}
    finite = True
    best = []
    for model in context.sizes.variant_models:
        runs = {}
        for amp in (True, False):
            for channels_last in (True, False):
                key = (
                    f"amp_{'on' if amp else 'off'}_channels_last_{'on' if channels_last else 'off'}"
                )
                runs[key] = time_model_alone(context, model, amp, channels_last)
                finite &= runs[key]["finite"]
        losses, seconds = train_once(
            context, context.data().noisy, context.training(model=model, amp=False, epochs=1)
        )
        runs["fit_amp_off"] = {"train_loss": losses, "seconds": seconds}
        finite &= all(math.isfinite(value) for value in losses)
        result[model] = runs
        fastest = max(
            (key for key in runs if key.startswith("amp_")),
            key=lambda key: runs[key]["images_per_s"],
        )
        best.append(f"{model} fastest {fastest} {runs[fastest]['images_per_s']:.0f} img/s")
    return Outcome(finite, result, "; ".join(best))


# ---------------------------------------------------------------------------- decode


def part_decode(context: Context) -> Outcome:
    """``decode_jpeg`` batched on the device against the core's threaded CPU decode."""
    folder = context.decoded().folder
    paths = sorted(folder.glob("*.jpg"))
    start = time.perf_counter()
    encoded = [read_file(str(path)) for path in paths]
    read_s = time.perf_counter() - start
    batch = context.sizes.decode_batch
    device = str(context.device)
    decode_jpeg(encoded[:batch], mode=ImageReadMode.RGB, device=device)  # warm-up
    synchronize(context.device)
    start = time.perf_counter()
    decoded = []
    for first in range(0, len(encoded), batch):
        chunk = encoded[first : first + batch]
        decoded += decode_jpeg(chunk, mode=ImageReadMode.RGB, device=device)
    synchronize(context.device)
    device_s = time.perf_counter() - start
    cache_dir = context.work / "decode_cache"
    start = time.perf_counter()
    build_image_cache(folder, context.sizes.image_size, cache_dir, os.cpu_count() or 1, 1.0)
    cpu_s = time.perf_counter() - start
    compared = [decode_jpeg(data, mode=ImageReadMode.RGB) for data in encoded[:DECODE_COMPARED]]
    differences = torch.cat(
        [
            (cpu.int() - gpu.cpu().int()).abs().flatten()
            for cpu, gpu in zip(compared, decoded, strict=False)
        ]
    )
    mean_abs = float(differences.float().mean())
    result = {
        "images": len(paths),
        "read_images_per_s": len(paths) / read_s,
        "device_decode_images_per_s": len(paths) / device_s,
        "cpu_path_images_per_s": len(paths) / cpu_s,
        "cpu_path": f"build_image_cache, {os.cpu_count()} threads, resize to "
        f"{context.sizes.image_size} px where needed, written to the cache",
        "pixel_mean_abs_difference": mean_abs,
        "pixel_max_abs_difference": int(differences.max()),
        "tolerance_mean_abs": DECODE_MEAN_ABS_TOLERANCE,
    }
    summary = (
        f"device {len(paths) / device_s:.0f} img/s vs CPU path {len(paths) / cpu_s:.0f} img/s; "
        f"pixels differ by {mean_abs:.2f} on average"
    )
    return Outcome(mean_abs <= DECODE_MEAN_ABS_TOLERANCE, result, summary)


# ---------------------------------------------------------------------------- fallback


def part_fallback(context: Context) -> Outcome:
    """Force the cache out of device memory; check where it goes and that ``fit`` trains."""
    if not context.cuda:
        raise SkipPartError("needs CUDA (device memory and pinned host memory)")
    data = context.data()
    config = context.training(epochs=1)
    probe = RegressionTensors(
        data.noisy.x[:FALLBACK_PROBE_ROWS],
        data.noisy.y[:FALLBACK_PROBE_ROWS],
        data.noisy.variance[:FALLBACK_PROBE_ROWS],
    )
    torch.cuda.empty_cache()
    in_use = torch.cuda.memory_reserved(context.device)
    torch.cuda.reset_peak_memory_stats(context.device)
    train_once(context, probe, config)
    step_peak = torch.cuda.max_memory_reserved(context.device) - in_use
    torch.cuda.empty_cache()
    in_use = torch.cuda.memory_reserved(context.device)
    limit = in_use + FALLBACK_HEADROOM * step_peak + FALLBACK_MARGIN_BYTES
    total = torch.cuda.get_device_properties(context.device).total_memory
    image_bytes = data.noisy.x[0].numel()
    rows = math.ceil(FALLBACK_CACHE_FACTOR * (limit - in_use) / image_bytes)
    if rows * image_bytes > FALLBACK_MAX_CACHE_BYTES:
        raise RuntimeError(
            f"a training step needs {step_peak / MEGABYTE:.0f} MB: the cache that would not fit "
            f"({rows * image_bytes / MEGABYTE:.0f} MB) is too large for the host"
        )
    index = torch.arange(rows) % len(data.noisy.y)
    big = RegressionTensors(data.noisy.x[index], data.noisy.y[index], data.noisy.variance[index])
    result: dict[str, Any] = {
        "memory_limit_mb": limit / MEGABYTE,
        "in_use_mb": in_use / MEGABYTE,
        "training_peak_mb": step_peak / MEGABYTE,
        "cache_rows": rows,
        "cache_mb": rows * image_bytes / MEGABYTE,
    }
    torch.cuda.set_per_process_memory_fraction(limit / total, context.device)
    try:
        start = time.perf_counter()
        placed = big.to(context.device)
        placement_s = time.perf_counter() - start
        result["cache_on"] = str(placed.x.device)
        result["cache_pinned"] = bool(placed.x.is_pinned())
        del placed
        with counted_syncs(context.device) as sites:
            losses, seconds = train_once(context, big, config)
    finally:
        torch.cuda.set_per_process_memory_fraction(FULL_MEMORY, context.device)
        torch.cuda.empty_cache()
    batches = math.ceil(rows / config.batch_size)
    per_batch = sorted(site for site, count in sites.items() if count >= batches)
    epoch_s = max(seconds - placement_s, sys.float_info.epsilon)
    result |= {
        "train_loss": losses,
        "fit_s": seconds,
        "placement_s": placement_s,
        "epoch_images_per_s": rows / epoch_s,  # fit minus the placement it repeats
        "syncs": dict(sites),
        "batches": batches,
        "per_batch_sites": per_batch,
    }
    passed = (
        result["cache_pinned"] and all(math.isfinite(value) for value in losses) and not per_batch
    )
    summary = (
        f"{rows} images ({rows * image_bytes / MEGABYTE:.0f} MB) on {result['cache_on']}, "
        f"pinned {result['cache_pinned']}; an epoch from there {rows / epoch_s:.0f} img/s; "
        f"per-batch syncs: {per_batch or 'none'}"
    )
    return Outcome(passed, result, summary)


# ---------------------------------------------------------------------------- compile


def part_compile(context: Context) -> Outcome:
    """``torch.compile``: the model alone (both models) and inside ``fit`` (vanilla_cnn)."""
    if not context.cuda:
        raise SkipPartError(
            "torch.compile on a CPU spends minutes compiling C++; run it on the device"
        )
    amp = use_amp(AUTO_AMP, context.device)
    result: dict[str, Any] = {}
    finite = True
    for model in MODELS:
        result[model] = time_model_alone(context, model, amp, True, compile_model=True)
        finite &= result[model]["finite"]
    config = context.training(model=MODELS[0], compile=True, epochs=context.sizes.sync_epochs)
    losses, seconds = train_once(context, context.data().noisy, config)
    result["fit_vanilla_cnn"] = {"train_loss": losses, "seconds_incl_compile": seconds}
    finite &= all(math.isfinite(value) for value in losses)
    summary = "; ".join(
        f"{model} {result[model]['images_per_s']:.0f} img/s "
        f"(warm-up with compilation {result[model]['warm_up_s']:.0f} s)"
        for model in MODELS
    )
    return Outcome(finite, result, summary)


# ---------------------------------------------------------------------------- comparison


def part_comparison(context: Context, deadline: float, progress: Callable[[str], None]) -> Outcome:
    """The paper's UTKFace comparison, seed by seed until ``deadline``."""
    sizes, faces = context.sizes, context.decoded()
    seeds = list(range(sizes.comparison_seeds))
    n_trials = len(seeds) * (len(gpu_utkface.METHODS) + 1)
    images_per_s = context.fit_images_per_s.get(MODELS[0], gpu_utkface.ASSUMED_CPU_IMAGES_PER_S)
    data = context.data()
    estimate = gpu_utkface.estimate_seconds(
        n_trials, sizes.comparison_epochs, data.train_rows, data.test_rows, images_per_s
    )
    progress(
        f"  {n_trials} trials x {sizes.comparison_epochs} epochs at {images_per_s:.0f} img/s: "
        f"about {estimate:.0f} s; {deadline - time.perf_counter():.0f} s left"
    )
    result = gpu_utkface.run_comparison(
        faces, seeds, sizes.comparison_epochs, deadline, progress, str(context.device)
    )
    failed = sum(trial["status"] != gpu_utkface.FINISHED for trial in result.trials)
    outcome = {
        "estimate_s": estimate,
        "epochs": sizes.comparison_epochs,
        "seeds": seeds,
        "trials": result.trials,
        "stopped_early": result.stopped_early,
        "markdown": result.markdown,
    }
    summary = f"{len(result.trials)} trials, {failed} failed" + (
        f", {result.stopped_early}" if result.stopped_early else ""
    )
    return Outcome(failed == 0 and result.stopped_early is None, outcome, summary)


# ---------------------------------------------------------------------------- runner


def json_ready(value: Any) -> Any:
    """``value`` with NaN and infinities as None and numpy scalars as Python numbers."""
    if isinstance(value, dict):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class Report:
    """The JSON and text outputs, rewritten after every part."""

    def __init__(self, out: Path, meta: dict[str, Any]) -> None:
        self.out = out
        self.meta = meta
        self.parts: dict[str, dict[str, Any]] = {}
        out.mkdir(parents=True, exist_ok=True)

    def record(self, name: str, entry: dict[str, Any]) -> None:
        """Add one part's entry and rewrite both files."""
        self.parts[name] = entry
        self._write()

    def _write(self) -> None:
        self.meta["modules_not_allowed_loaded"] = sorted(
            {module.split(".")[0] for module in sys.modules} & set(FORBIDDEN_MODULES)
        )
        document = {"meta": self.meta, "parts": self.parts}
        (self.out / "gpu_check.json").write_text(json.dumps(json_ready(document), indent=1))
        (self.out / "gpu_check.txt").write_text(self.text())

    def finish(self, total_s: float) -> None:
        """Record the total time; write the comparison's Markdown table to ``gpu_utkface.md``."""
        self.meta["total_s"] = total_s
        markdown = self.parts.get(COMPARISON, {}).get("result", {}).get("markdown")
        if markdown:
            (self.out / "gpu_utkface.md").write_text(markdown)
        self._write()

    def text(self) -> str:
        """A short table: part | status | seconds | summary; then the comparison table."""
        width = max(len(name) for name in self.parts)
        lines = [
            f"gpu_check on {self.meta['device_name']} (torch {self.meta['torch']}, "
            f"smoke {self.meta['cpu_smoke']})",
            f"{'part':<{width}} | status  | seconds | summary",
            f"{'-' * width}-+---------+---------+--------",
        ]
        for name, entry in self.parts.items():
            lines.append(
                f"{name:<{width}} | {entry['status']:<7} | {entry['seconds']:7.1f} | "
                f"{entry['summary']}"
            )
        markdown = self.parts.get(COMPARISON, {}).get("result", {}).get("markdown")
        if markdown:
            lines += ["", markdown]
        return "\n".join(lines) + "\n"


def run_part(
    report: Report,
    context: Context,
    name: str,
    part: Callable[[], Outcome],
    deadline: float,
) -> None:
    """Run one part unless it would overrun ``deadline``; record its outcome or its error."""
    estimate = context.sizes.part_estimate_s.get(name, 0.0)
    start = time.perf_counter()
    print(f"[{context.elapsed():6.1f} s] {name} ...", flush=True)
    if start + estimate > deadline:
        entry = {"status": "skipped", "summary": f"out of time (needs ~{estimate:.0f} s)"}
    else:
        try:
            outcome = part()
            status = "ok" if outcome.passed else "failed"
            entry = {"status": status, "summary": outcome.summary, "result": outcome.result}
        except SkipPartError as reason:
            entry = {"status": "skipped", "summary": str(reason)}
        except Exception as error:  # one part failing must not stop the others
            entry = {
                "status": "error",
                "summary": f"{type(error).__name__}: {error}".splitlines()[0],
                "traceback": traceback.format_exc(),
            }
    entry["seconds"] = time.perf_counter() - start
    report.record(name, entry)
    print(
        f"[{context.elapsed():6.1f} s] {name}: {entry['status']} ({entry['seconds']:.1f} s) "
        f"{entry['summary']}",
        flush=True,
    )


CHECK_PARTS: dict[str, Callable[[Context], Outcome]] = {
    "data": part_data,
    "loss_parity": part_loss_parity,
    "host_sync": part_host_sync,
    "loop_ratio": part_loop_ratio,
    "amp_channels_last": part_amp_channels_last,
    "decode": part_decode,
    "fallback": part_fallback,
    "compile": part_compile,
}
COMPARISON = "comparison"
PARTS = (*CHECK_PARTS, COMPARISON)


def main() -> None:
    """Parse the arguments, run every part, write ``gpu_check.json`` and ``gpu_check.txt``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the results")
    parser.add_argument("--faces", type=Path, help="folder of UTKFace JPEGs (else synthetic)")
    parser.add_argument("--cpu-smoke", action="store_true", help="tiny sizes, on the CPU")
    parser.add_argument(
        "--comparison",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="run the UTKFace comparison (default: on CUDA or with --cpu-smoke)",
    )
    parser.add_argument("--epochs", type=int, help="comparison epochs (default 20)")
    parser.add_argument("--seeds", type=int, help="comparison seeds 0 .. N-1 (default 5)")
    parser.add_argument("--budget-s", type=float, help="whole command (default 540 s)")
    parser.add_argument(
        "--only", help=f"comma-separated parts to run (data always runs): {', '.join(PARTS)}"
    )
    args = parser.parse_args()
    os.environ.setdefault("CI", "1")  # keeps fit()'s progress bar quiet
    sizes = SMOKE_SIZES if args.cpu_smoke else DEVICE_SIZES
    sizes = replace(
        sizes,
        comparison_epochs=args.epochs or sizes.comparison_epochs,
        comparison_seeds=args.seeds or sizes.comparison_seeds,
        budget_s=args.budget_s or sizes.budget_s,
    )
    device = resolve_device("cpu" if args.cpu_smoke else "auto")
    if args.cpu_smoke:
        torch.set_num_threads(SMOKE_THREADS)  # code paths, not speed: leave the other cores be
    comparison = (
        args.comparison
        if args.comparison is not None
        else (device.type == "cuda" or args.cpu_smoke)
    )
    chosen = {*CHECK_PARTS, *([COMPARISON] if comparison else [])}
    if args.only:
        chosen = {"data", *args.only.split(",")}
        if unknown := chosen - set(PARTS):
            parser.error(f"--only: unknown parts {sorted(unknown)}; known: {', '.join(PARTS)}")
    meta = {
        "command": " ".join(sys.argv),
        "cpu_smoke": args.cpu_smoke,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or "cpu",
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "cuda": torch.version.cuda,
        "cpu_count": os.cpu_count(),
        "sizes": asdict(sizes),
        "tolerances": {"loss_rtol": LOSS_RTOL, "loss_atol": LOSS_ATOL},
    }
    report = Report(args.out, meta)
    with tempfile.TemporaryDirectory() as work:
        context = Context(sizes, device, Path(work), args.faces)
        end = context.start + sizes.budget_s
        checks_end = context.start + sizes.check_budget_s
        for name, part in CHECK_PARTS.items():
            if name in chosen:
                run_part(report, context, name, lambda part=part: part(context), checks_end)
        if COMPARISON in chosen:
            run_part(
                report,
                context,
                COMPARISON,
                lambda: part_comparison(context, end, lambda line: print(line, flush=True)),
                end,
            )
    report.finish(context.elapsed())
    print(report.text())


if __name__ == "__main__":
    main()
