"""Shared fixtures: the real data beside the checkout, and throw-away project copies."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO_ROOT / ".." / "shared" / "data").resolve()
DATA_LAYERS = (
    "01_raw",
    "02_intermediate",
    "03_primary",
    "04_feature",
    "05_model_input",
    "06_models",
    "07_model_output",
    "08_reporting",
)

# A test that needs one of these runs a real Kedro project (sessions, the CLI, a notebook) or
# a script in a subprocess: it belongs to the slow tier (`pytest -m "not slow"` skips it).
SLOW_FIXTURES = frozenset({"project", "smoke", "bad_input_project"})

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def first_faces(data: Path, count: int) -> list[Path]:
    """The first ``count`` images of the UTKFace sample under ``data``, by name."""
    return sorted((data / "utkface").glob("*.jpg"))[:count]


def copy_faces(data: Path, folder: Path, count: int) -> Path:
    """``folder``, made, with a copy of each of the first ``count`` UTKFace images."""
    folder.mkdir(parents=True)
    for path in first_faces(data, count):
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (UCI Wine Quality CSVs, a UTKFace sample); required, never skipped."""
    if not (SHARED_DATA / "wine" / "winequality-red.csv").is_file():
        pytest.fail(f"the shared test data is missing: expected it at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the Kedro project's config in a temp folder, as the working directory.

    Runs inside it write their data and ``mlflow.db`` there, never into the checkout.
    """
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(REPO_ROOT / "conf", tmp_path / "conf")
    (tmp_path / "src").mkdir()  # the package itself is imported from the installed checkout
    for layer in DATA_LAYERS:
        (tmp_path / "data" / layer).mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``slow`` every test that uses a fixture of ``SLOW_FIXTURES``, directly or not."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
