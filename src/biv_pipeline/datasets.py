"""Raw regression datasets, one registry entry each.

Every loader returns a DataFrame of feature columns plus the label column ``y``.
Adding a dataset means adding one ``DatasetSpec`` to ``DATASETS``.
"""

from __future__ import annotations

import hashlib
import io
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from biv_pipeline.errors import MissingDataError, ParameterError

LABEL = "y"

WINE_URL = "https://archive.ics.uci.edu/static/public/186/wine+quality.zip"
WINE_SHA256 = {
    "winequality-red.csv": "4a402cf041b025d4566d954c3b9ba8635a3a8a01e039005d97d6a710278cf05e",
    "winequality-white.csv": "76c3f809815c17c07212622f776311faeb31e87610d52c26d87d6e361b169836",
}
DOWNLOAD_TIMEOUT_S = 60


@dataclass(frozen=True)
class SourceOptions:
    """Where raw files live and how the synthetic problem is generated."""

    data_dir: Path
    download: bool = True
    wine_url: str = WINE_URL
    synthetic_samples: int = 5000
    synthetic_features: int = 8
    synthetic_seed: int = 0


@dataclass(frozen=True)
class DatasetSpec:
    """How to load one dataset and its defaults (split sizes, model, learning rate)."""

    load: Callable[[SourceOptions], pd.DataFrame]
    train_size: int
    test_size: int
    model: str
    lr: float


def make_synthetic(n_samples: int, n_features: int, seed: int) -> pd.DataFrame:
    """A smooth non-linear regression problem with a known clean function.

    x ~ N(0, I_d);  y = sin(2 x_0) + 0.5 x_1^2 + sum_{j>=2} x_j / sqrt(d)
    (features beyond the first two enter linearly; d >= 2).
    """
    if n_features < 2 or n_samples < 2:
        raise ParameterError(
            "ingest.synthetic_features must be >= 2 and ingest.synthetic_samples >= 2; "
            f"got n_features={n_features}, n_samples={n_samples}"
        )
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_samples, n_features))
    y = np.sin(2 * x[:, 0]) + 0.5 * x[:, 1] ** 2 + x[:, 2:].sum(axis=1) / np.sqrt(n_features)
    frame = pd.DataFrame(x, columns=[f"x{j}" for j in range(n_features)])
    frame[LABEL] = y
    return frame


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download_wine(target: Path, url: str) -> None:
    """Fetch the UCI Wine Quality zip, check both CSVs' SHA-256, and place them in ``target``."""
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            archive = zipfile.ZipFile(io.BytesIO(response.read()))
    except (urllib.error.URLError, OSError, zipfile.BadZipFile) as error:
        raise MissingDataError(
            f"Wine Quality files are missing from {target} and the download from {url} "
            f"failed ({error}). Download the zip by hand and put winequality-red.csv and "
            f"winequality-white.csv into {target}, or pass --params data_dir=PATH pointing "
            "at a folder that holds wine/."
        ) from error
    members = {Path(name).name: name for name in archive.namelist()}
    target.mkdir(parents=True, exist_ok=True)
    for file_name, expected in WINE_SHA256.items():
        if file_name not in members:
            raise ValueError(f"the archive from {url} has no {file_name}")
        data = archive.read(members[file_name])
        if _sha256(data) != expected:
            raise ValueError(
                f"{file_name} from {url} has SHA-256 {_sha256(data)}, expected {expected}; "
                "not using it"
            )
        (target / file_name).write_bytes(data)


def load_wine(options: SourceOptions) -> pd.DataFrame:
    """UCI Wine Quality, red then white (6,497 rows, 11 features, label = quality)."""
    folder = options.data_dir / "wine"
    paths = [folder / name for name in WINE_SHA256]
    if not all(path.is_file() for path in paths):
        if not options.download:
            raise MissingDataError(
                f"data_dir {options.data_dir} has no wine/winequality-red.csv and "
                "wine/winequality-white.csv (and ingest.download is false). Put the UCI files "
                "there or pass --params data_dir=PATH."
            )
        download_wine(folder, options.wine_url)
    frame = pd.concat([pd.read_csv(path, sep=";") for path in paths], ignore_index=True)
    return frame.rename(columns={"quality": LABEL}).astype(float)


def load_synthetic(options: SourceOptions) -> pd.DataFrame:
    """The generated problem of ``make_synthetic`` with the configured size and seed."""
    return make_synthetic(
        options.synthetic_samples, options.synthetic_features, options.synthetic_seed
    )


DATASETS: dict[str, DatasetSpec] = {
    "synthetic": DatasetSpec(load_synthetic, 4000, 1000, "vanilla_ann", 1e-2),
    "wine": DatasetSpec(load_wine, 4000, 2497, "vanilla_ann", 1e-2),
}


def get_dataset(name: str) -> DatasetSpec:
    """The registry entry for ``name``, or a clear error listing the known datasets."""
    if name not in DATASETS:
        raise ParameterError(f"dataset must be one of {', '.join(DATASETS)}; got {name!r}")
    return DATASETS[name]
