"""Raw regression datasets, one registry entry each.

Every loader returns a DataFrame of feature columns plus the label column ``y``.
Adding a dataset means adding one ``DatasetSpec`` to ``DATASETS``.
"""

from __future__ import annotations

import hashlib
import io
import logging
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from biv_pipeline.errors import MissingDataError, ParameterError
from biv_pipeline.images import IMAGE_KEY, build_image_cache

logger = logging.getLogger(__name__)

LABEL = "y"
NOISE_COLUMNS = ("y_noisy", "variance", "variance_seen", "component")

WINE_URL = "https://archive.ics.uci.edu/static/public/186/wine+quality.zip"
WINE_SHA256 = {
    "winequality-red.csv": "4a402cf041b025d4566d954c3b9ba8635a3a8a01e039005d97d6a710278cf05e",
    "winequality-white.csv": "76c3f809815c17c07212622f776311faeb31e87610d52c26d87d6e361b169836",
}
DOWNLOAD_TIMEOUT_S = 60
UTKFACE_TRAIN, UTKFACE_TEST = 16_000, 4_000
METADATA_COLUMNS = (IMAGE_KEY, "file", "gender", "race")


@dataclass(frozen=True)
class SourceOptions:
    """Where raw files live, how images are cached, how the synthetic problem is generated."""

    data_dir: Path
    download: bool = True
    wine_url: str = WINE_URL
    synthetic_samples: int = 5000
    synthetic_features: int = 8
    synthetic_seed: int = 0
    image_size: int = 200
    cache_dir: Path = Path("data/02_intermediate")
    decode_workers: int = 2
    max_bad_fraction: float = 0.01


@dataclass(frozen=True)
class DatasetSpec:
    """How to load one dataset and its defaults (split sizes for n rows, model, learning rate).

    A loaded table holds the label ``y``, feature columns, and for image datasets the
    ``image_index`` into the cache named by ``table.attrs["image_cache"]`` plus metadata.
    """

    load: Callable[[SourceOptions], pd.DataFrame]
    default_split: Callable[[int], tuple[int, int]]
    model: str
    lr: float


def fixed_split(train_size: int, test_size: int) -> Callable[[int], tuple[int, int]]:
    """The same split sizes whatever the number of rows."""
    return lambda _: (train_size, test_size)


def utkface_split(n_rows: int) -> tuple[int, int]:
    """The original's 16,000 / 4,000 on the full set; 80% / 20% of a smaller folder."""
    if n_rows >= UTKFACE_TRAIN + UTKFACE_TEST:
        return UTKFACE_TRAIN, UTKFACE_TEST
    train = round(0.8 * n_rows)
    return train, n_rows - train


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


def load_utkface(options: SourceOptions) -> pd.DataFrame:
    """UTKFace faces in ``data_dir/utkface`` (label = age), decoded once into the image cache."""
    folder = options.data_dir / "utkface"
    if not folder.is_dir():
        raise MissingDataError(
            f"data_dir {options.data_dir} has no utkface/ folder. Download UTKFace 'Aligned & "
            "Cropped Faces' (https://susanqq.github.io/UTKFace/, non-commercial research use), "
            f"unpack the images flat into {folder}, or pass --params data_dir=PATH."
        )
    table, cache, report = build_image_cache(
        folder,
        options.image_size,
        options.cache_dir / "utkf",
        options.decode_workers,
        options.max_bad_fraction,
    )
    if report is not None and report.bad_fraction > 0:
        logger.warning("UTKFace %s: %s", folder, report.describe())
    table.attrs["image_cache"] = str(cache.images)
    return table


DATASETS: dict[str, DatasetSpec] = {
    "synthetic": DatasetSpec(load_synthetic, fixed_split(4000, 1000), "vanilla_ann", 1e-2),
    "wine": DatasetSpec(load_wine, fixed_split(4000, 2497), "vanilla_ann", 1e-2),
    "utkf": DatasetSpec(load_utkface, utkface_split, "vanilla_cnn", 1e-3),
}


def feature_columns(frame: pd.DataFrame) -> list[str]:
    """The tabular feature columns: everything but the label, metadata and noise columns."""
    skip = {LABEL, *METADATA_COLUMNS, *NOISE_COLUMNS}
    return [column for column in frame.columns if column not in skip]


def get_dataset(name: str) -> DatasetSpec:
    """The registry entry for ``name``, or a clear error listing the known datasets."""
    if name not in DATASETS:
        raise ParameterError(f"dataset must be one of {', '.join(DATASETS)}; got {name!r}")
    return DATASETS[name]
