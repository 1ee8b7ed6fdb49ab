"""benchmarks/gpu_check.py --cpu-smoke: every part of the device check runs (tiny, on the CPU)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, SHARED_DATA

SCRIPT = REPO_ROOT / "benchmarks" / "gpu_check.py"
FACES = SHARED_DATA / "utkface"
PARTS = (
    "data",
    "loss_parity",
    "host_sync",
    "loop_ratio",
    "amp_channels_last",
    "decode",
    "fallback",
    "compile",
    "comparison",
)
NEEDS_CUDA = ("fallback", "compile")
LOSSES = ("mse", "iv", "biv", "cutoff", "biv_auto")
TIMEOUT_S = 300


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """One smoke run (the real face sample when it is there) and its JSON."""
    out = tmp_path_factory.mktemp("gpu_check")
    command = [sys.executable, str(SCRIPT), "--cpu-smoke", "--out", str(out)]
    if FACES.is_dir():
        command += ["--faces", str(FACES)]
    source = str(REPO_ROOT / "src")
    path = os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))
    completed = subprocess.run(
        command,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return out, json.loads((out / "gpu_check.json").read_text())


def test_every_part_is_recorded_and_only_the_cuda_ones_are_skipped(smoke) -> None:
    _, report = smoke
    assert tuple(report["parts"]) == PARTS
    statuses = {name: part["status"] for name, part in report["parts"].items()}
    assert statuses == {name: "skipped" if name in NEEDS_CUDA else "ok" for name in PARTS}


def test_the_real_face_sample_is_used_when_it_is_there(smoke) -> None:
    _, report = smoke
    source = report["parts"]["data"]["result"]["source"]
    assert source.startswith(str(FACES)) if FACES.is_dir() else source.startswith("synthetic")


def test_every_loss_is_finite_and_equal_on_both_sides(smoke) -> None:
    _, report = smoke
    parity = report["parts"]["loss_parity"]["result"]
    for name in LOSSES:
        assert math.isfinite(parity[name]["cpu"]), name
        assert parity[name]["device"] == parity[name]["cpu"], name
        assert parity[name]["device"] == pytest.approx(parity[name]["float64"], rel=1e-5)


def test_training_losses_are_finite_for_both_models(smoke) -> None:
    _, report = smoke
    loop = report["parts"]["loop_ratio"]["result"]
    for model in ("vanilla_cnn", "resnet18"):
        assert loop[model]["fit"]["finite"] and loop[model]["model_alone"]["finite"]
        assert loop[model]["ratio"] > 0


def test_the_check_imports_neither_kedro_nor_mlflow(smoke) -> None:
    _, report = smoke
    assert report["meta"]["modules_not_allowed_loaded"] == []


def test_the_tables_are_written(smoke) -> None:
    out, _ = smoke
    text = (out / "gpu_check.txt").read_text()
    for name in PARTS:
        assert f"\n{name} " in text
    table = (out / "gpu_utkface.md").read_text()
    for method in ("mse", "iv", "biv", "cutoff"):
        assert f"| default | {method} | 2 | 0 |" in table
    assert "| clean | clean | 2 | 0 |" in table
    assert "| test MSE (95% CI) | Δ vs mse (95% CI) | effective batch |" in table
