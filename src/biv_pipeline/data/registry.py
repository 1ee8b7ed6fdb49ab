"""Raw regression datasets: two built in (synthetic, utkf), any table declared in YAML.

Every loader returns a DataFrame of feature columns plus the label column ``y`` (and, for a
table that declares its label noise, the ``DECLARED`` columns). A table needs no code: a
``kind: csv`` block under the ``datasets`` parameter (see ``conf/base/parameters_datasets.yml``
and ``biv_pipeline.data.table_declaration``) names its files, label and feature encoding; a
``kind: images`` block names an index of image files and their labels
(``biv_pipeline.data.image_index``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from biv_pipeline.data.image_index import FILE, IMAGES_KIND, ImageIndexDeclaration
from biv_pipeline.data.images.cache import CACHE_ATTR, IMAGE_KEY, CachedImages, ImageSource
from biv_pipeline.data.schema import DECLARED, LABEL, NOISY
from biv_pipeline.data.table_declaration import TableDeclaration
from biv_pipeline.data.table_reader import read_table
from biv_pipeline.errors import MissingDataError, ParameterError

NOISE_COLUMNS = (*NOISY.names(), *DECLARED.names())  # never features

UTKFACE_TRAIN, UTKFACE_TEST = 16_000, 4_000
TRAIN_FRACTION = 0.8  # the original's 4000 of 5000 synthetic rows, 16000 of 20000 faces
METADATA_COLUMNS = (IMAGE_KEY, FILE, "gender", "race")
DATASET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # a declared table's name
SHOWN_FILES = 5  # missing image files named in an error


@dataclass(frozen=True)
class SourceOptions:
    """Where raw files live, how images are decoded, how the synthetic problem is generated;
    for an image dataset's table, its decoded images (``images``, read from the image cache)."""

    data_dir: Path
    download: bool = True
    synthetic_samples: int = 5000
    synthetic_features: int = 8
    synthetic_seed: int = 0
    image_size: int = 200
    decode_workers: int = 2
    max_bad_fraction: float = 0.01
    images: CachedImages | None = None


@dataclass(frozen=True)
class DatasetSpec:
    """How to load one dataset and its defaults (split sizes for n rows, model, learning rate).

    A loaded table holds the label ``y``, feature columns, and for image datasets the
    ``image_index`` into the image cache whose key is ``table.attrs["image_cache"]`` plus
    metadata. An image dataset says which images to cache (``images``); its table is then
    loaded from the cache (``SourceOptions.images``).
    """

    load: Callable[[SourceOptions], pd.DataFrame]
    default_split: Callable[[int], tuple[int, int]]
    model: str
    lr: float
    images: Callable[[SourceOptions], ImageSource] | None = None
    declares_noise: bool = False  # its labels are noisy, with declared variances


def fraction_split(n_rows: int) -> tuple[int, int]:
    """80% / 20% of the rows (the synthetic problem's 4000 / 1000 at its default 5000)."""
    train = round(TRAIN_FRACTION * n_rows)
    return train, n_rows - train


def utkface_split(n_rows: int) -> tuple[int, int]:
    """The original's 16,000 / 4,000 on the full set; 80% / 20% of a smaller folder."""
    if n_rows >= UTKFACE_TRAIN + UTKFACE_TEST:
        return UTKFACE_TRAIN, UTKFACE_TEST
    return fraction_split(n_rows)


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


def load_synthetic(options: SourceOptions) -> pd.DataFrame:
    """The generated problem of ``make_synthetic`` with the configured size and seed."""
    return make_synthetic(
        options.synthetic_samples, options.synthetic_features, options.synthetic_seed
    )


def utkface_images(options: SourceOptions) -> ImageSource:
    """The UTKFace faces in ``data_dir/utkface``, to decode into the image cache."""
    folder = options.data_dir / "utkface"
    if not folder.is_dir():
        raise MissingDataError(
            f"data_dir {options.data_dir} has no utkface/ folder. Download UTKFace 'Aligned & "
            "Cropped Faces' (https://susanqq.github.io/UTKFace/, non-commercial research use), "
            f"unpack the images flat into {folder}, or pass --params data_dir=PATH."
        )
    return ImageSource.scan(
        folder, options.image_size, options.decode_workers, options.max_bad_fraction
    )


def load_utkface(options: SourceOptions) -> pd.DataFrame:
    """The UTKFace faces of the image cache ``options.images``, one row each (label = age)."""
    if options.images is None:
        raise ValueError("the UTKFace table is read from its image cache: pass options.images")
    table = options.images.table.copy()
    table.attrs[CACHE_ATTR] = options.images.key
    return table


def _index_rows(index: ImageIndexDeclaration, options: SourceOptions) -> pd.DataFrame:
    """The rows of an image index (``kind: images``), checked as a table is, after checking
    that the index and every image it names exist."""
    path = options.data_dir / index.index
    if not path.is_file():
        raise MissingDataError(
            f"data_dir {options.data_dir} has no {index.index}, which datasets.{index.name}."
            "index names. Put the file there or pass --params data_dir=PATH."
        )
    rows = read_table(index.table, options.data_dir, options.download, encode=index.rows)
    folder = path.parent
    missing = [name for name in sorted(set(rows[FILE])) if not (folder / name).is_file()]
    if missing:
        more = f" and {len(missing) - SHOWN_FILES} more" if len(missing) > SHOWN_FILES else ""
        raise MissingDataError(
            f"datasets.{index.name}: {folder} has no {', '.join(missing[:SHOWN_FILES])}{more}, "
            f"which {path} names in column {index.file!r} (file names are relative to the "
            "index's folder)"
        )
    return rows


def index_images(index: ImageIndexDeclaration, options: SourceOptions) -> ImageSource:
    """The images an index names, to decode into the image cache as UTKFace's are."""
    rows = _index_rows(index, options)
    folder = (options.data_dir / index.index).parent
    return ImageSource.of_files(
        folder,
        sorted(set(rows[FILE])),
        options.image_size,
        options.decode_workers,
        options.max_bad_fraction,
    )


def load_image_index(index: ImageIndexDeclaration, options: SourceOptions) -> pd.DataFrame:
    """The images an index names, with their labels and declared noise, from the image cache
    ``options.images``; the label renamed to ``y``."""
    if options.images is None:
        raise ValueError("an image index's table is read with its image cache: pass images")
    rows = _index_rows(index, options)
    images = options.images.table
    frame = rows.merge(images[[FILE, IMAGE_KEY]], on=FILE, validate="many_to_one")
    frame = frame.rename(columns={index.table.label: LABEL})
    frame.attrs = {"source": index.describe(), **rows.attrs, CACHE_ATTR: options.images.key}
    return frame


BUILTIN_DATASETS: dict[str, DatasetSpec] = {
    "synthetic": DatasetSpec(load_synthetic, fraction_split, "vanilla_ann", 1e-2),
    "utkf": DatasetSpec(load_utkface, utkface_split, "vanilla_cnn", 1e-3, utkface_images),
}
_declared: dict[str, Mapping] = {}


def feature_columns(frame: pd.DataFrame) -> list[str]:
    """The tabular feature columns: everything but the label, metadata and noise columns."""
    skip = {LABEL, *METADATA_COLUMNS, *NOISE_COLUMNS}
    return [column for column in frame.columns if column not in skip]


def check_declared_names(declarations: Mapping[str, Mapping]) -> None:
    """Raise unless every declared name is a plain identifier that is not a built-in dataset.

    A declaration under a built-in name would never be read (the built-in loader wins), and
    the name becomes the table's folder under ``data/``: ``../evil`` would write elsewhere.
    """
    for name in declarations:
        if name in BUILTIN_DATASETS:
            raise ParameterError(
                f"datasets.{name}: {name!r} is a built-in dataset and cannot be declared; "
                "declare the table under another name"
            )
        if not (isinstance(name, str) and DATASET_NAME.fullmatch(name)):
            raise ParameterError(
                f"datasets: the name {name!r} is not a plain identifier (letters, digits and _, "
                "not starting with a digit); it names the table's folders under data/, so "
                "rename it"
            )


def register_datasets(declarations: Mapping[str, Mapping] | None) -> None:
    """Make the project's declared datasets (the ``datasets`` parameter) the default ones."""
    check_declared_names(declarations or {})
    _declared.clear()
    _declared.update(declarations or {})


def dataset_names(declarations: Mapping[str, Mapping] | None = None) -> list[str]:
    """Built-in and declared dataset names (``declarations`` default: the registered ones)."""
    declared = _declared if declarations is None else declarations
    return [*BUILTIN_DATASETS, *(name for name in declared if name not in BUILTIN_DATASETS)]


def get_dataset(name: str, declarations: Mapping[str, Mapping] | None = None) -> DatasetSpec:
    """The dataset ``name``: built in, or declared (``declarations`` default: the registered).

    Raises a clear error listing the known datasets, or naming the bad declaration field.
    """
    declared = _declared if declarations is None else declarations
    check_declared_names(declared)
    if name in BUILTIN_DATASETS:
        return BUILTIN_DATASETS[name]
    if name not in declared:
        raise ParameterError(
            f"dataset must be one of {', '.join(dataset_names(declared))} (or a table declared "
            f"under the datasets parameter); got {name!r}"
        )
    block = declared[name]
    if isinstance(block, Mapping) and block.get("kind") == IMAGES_KIND:
        index = ImageIndexDeclaration.from_mapping(name, block)
        return DatasetSpec(
            partial(load_image_index, index),
            index.default_split,
            index.model,
            index.lr,
            partial(index_images, index),
            index.declares_noise,
        )
    table = TableDeclaration.from_mapping(name, block)
    load = partial(_load_table, table)
    return DatasetSpec(
        load, table.default_split, table.model, table.lr, declares_noise=table.declares_noise
    )


def _load_table(table: TableDeclaration, options: SourceOptions) -> pd.DataFrame:
    """A declared table, read and encoded, label renamed to ``y``.

    ``attrs`` (the start of the provenance saved with the splits) hold the declaration and
    the rows read and dropped for a missing label.
    """
    encoded = read_table(table, options.data_dir, options.download)
    names = {LABEL, *METADATA_COLUMNS, *NOISE_COLUMNS}
    reserved = [c for c in encoded if c in names]
    # the label may be called y; the declared noise columns are made by encode_table
    if reserved and reserved != [c for c in (table.label, *DECLARED.names()) if c in reserved]:
        raise ParameterError(
            f"datasets.{table.name}: columns {reserved} have names this project reserves; "
            f"rename them (datasets.{table.name}.rename) or drop them"
        )
    frame = encoded.rename(columns={table.label: LABEL})
    frame.attrs = {"source": table.describe(), **encoded.attrs}
    return frame
