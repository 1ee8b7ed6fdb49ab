"""A run's inputs addressed by lineage, never by recency.

Before a pipeline runs, every versioned dataset it touches is pinned to one version:

- what the run saves is loaded back at this run's own save version, so another process that
  saves in between changes nothing;
- ``noisy_train`` (when the run reads it) is the pinned version, else the newest complete
  version made with this run's own dataset, data_dir, ingest and noise parameters (the
  ``labels_key`` of :mod:`biv_pipeline.parameters.labels` in its provenance), read once;
- the ingest outputs (train and test split, normalisation) it reads come from the ingest that
  made those noisy labels (``noisy_train``'s provenance names it), else from the newest ingest
  whose three outputs are all complete;
- the image cache (when the run reads it) is the one the rows of those tables index, named in
  their provenance: not whichever cache is in the folder.

A pinned version that does not exist, noisy labels made from another dataset or data
folder than the run asks for, a missing image cache, or no labels made with the run's
parameters stop the run with one line saying what exists (and how it differs).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kedro.io import DataCatalog
from kedro.io.core import AbstractDataset, Version, VersionNotFoundError
from kedro.pipeline import Pipeline

from biv_pipeline.catalog.names import IMAGE_CACHE, NOISY_TRAIN
from biv_pipeline.errors import LineageError, MissingVersionError
from biv_pipeline.parameters.labels import (
    differences,
    key_of_provenance,
    labels_key,
    recipe_of_parameters,
    recipe_of_provenance,
)

INGEST_OUTPUTS = ("train_split", "test_split", "normalisation")
TEST_SPLIT = "test_split"  # the ingest output whose provenance names the image cache
INGEST_VERSION = "ingest_version"  # key of noisy_train's provenance naming its ingest version
SHOWN_VERSIONS = 5  # versions listed in an error message, newest first

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunLineage:
    """The versions a run reads; ``provenance`` is how its noisy labels were made (if read);
    ``image_cache`` the key of the image cache it reads (None: none, or one it makes)."""

    pins: dict[str, str]
    provenance: dict[str, Any]
    image_cache: str | None = None


def versions(dataset: AbstractDataset) -> list[str]:
    """Complete versions of a versioned dataset, newest first (none: empty)."""
    try:
        return dataset.list_versions(full_path=False)  # type: ignore[attr-defined]
    except VersionNotFoundError:
        return []


def _describe_versions(found: list[str]) -> str:
    shown = ", ".join(found[:SHOWN_VERSIONS])
    more = f" and {len(found) - SHOWN_VERSIONS} older" if len(found) > SHOWN_VERSIONS else ""
    return f"{shown}{more}" if found else "none"


def _checked(name: str, dataset: AbstractDataset, version: str | None, dataset_name: str) -> str:
    """``version`` if it exists (None: the newest complete one); else a one-line error."""
    found = versions(dataset)
    if version is None and found:
        return found[0]
    if version in found:
        return version
    elsewhere = _other_datasets_with(dataset, version) if version else []
    hint = f"; {version} is a version of dataset {', '.join(elsewhere)}" if elsewhere else ""
    wanted = f"version {version}" if version else "complete version"
    raise MissingVersionError(
        f"{name} has no {wanted} for dataset '{dataset_name}'{hint}; versions there: "
        f"{_describe_versions(found)}. Run `kedro run --pipelines=ingest,noise --params "
        f"dataset={dataset_name},...` to make one, or pin an existing one with "
        f"--load-versions={name}:VERSION"
    )


def _other_datasets_with(dataset: AbstractDataset, version: str) -> list[str]:
    """Names of the other dataset folders (``<layer>/<dataset>/<file>``) holding ``version``."""
    filepath = Path(str(dataset._filepath))  # type: ignore[attr-defined]
    layer = filepath.parent.parent
    folders = {
        path.parents[2].name  # <layer>/<dataset>/<file>/<version>/<file>
        for path in layer.glob(f"*/{filepath.name}/{version}/{filepath.name}")
    }
    return sorted(folders - {filepath.parent.name})


def _is_versioned(dataset: AbstractDataset) -> bool:
    return getattr(dataset, "_version", None) is not None


def _complete_ingest_version(catalog: DataCatalog, dataset_name: str) -> str:
    """The newest ingest version whose train split, test split and normalisation all exist."""
    found = [set(versions(catalog.get(name))) for name in INGEST_OUTPUTS]
    complete = sorted(set.intersection(*found), reverse=True)
    if not complete:
        raise MissingVersionError(
            f"no complete ingest output for dataset '{dataset_name}' (train_split, test_split "
            f"and normalisation of one version); run `kedro run --pipelines=ingest --params "
            f"dataset={dataset_name},...` first"
        )
    return complete[0]


def _ingest_version_of_labels(
    provenance: Mapping[str, Any], noisy_version: str, catalog: DataCatalog, dataset_name: str
) -> str:
    """The ingest version that ``noisy_train`` was made from, checked to exist in full."""
    version = provenance.get(INGEST_VERSION)
    if not version:
        raise LineageError(
            f"noisy_train version {noisy_version} does not name the ingest it was made from "
            "(it predates lineage tracking); make new labels with `kedro run "
            f"--pipelines=ingest,noise --params dataset={dataset_name},...`"
        )
    for name in INGEST_OUTPUTS:
        if version not in versions(catalog.get(name)):
            raise MissingVersionError(
                f"noisy_train version {noisy_version} was made from ingest version {version}, "
                f"but {name} has no such version any more; make new labels with `kedro run "
                f"--pipelines=ingest,noise --params dataset={dataset_name},...`"
            )
    return version


def _check_source(
    provenance: Mapping[str, Any], parameters: Mapping[str, Any], version: str
) -> None:
    """Refuse labels made from another dataset or raw-data folder than this run names."""
    made_from = provenance.get("dataset")
    if made_from is not None and made_from != parameters["dataset"]:
        raise LineageError(
            f"noisy_train version {version} was made from dataset '{made_from}', but this run "
            f"has dataset={parameters['dataset']}"
        )
    data_dir = provenance.get("data_dir")
    if data_dir is not None and Path(data_dir).resolve() != Path(parameters["data_dir"]).resolve():
        raise LineageError(
            f"noisy_train version {version} was made from data_dir {data_dir}, but this run "
            f"has data_dir={parameters['data_dir']}; pass --params data_dir={data_dir} or make "
            "new labels from this folder"
        )


def plan_versions(
    catalog: DataCatalog,
    pipeline: Pipeline,
    save_version: str,
    requested: Mapping[str, str],
    parameters: Mapping[str, Any],
) -> RunLineage:
    """The version of every versioned dataset the run reads (see the module docstring)."""
    dataset_name = str(parameters["dataset"])
    free = pipeline.inputs()
    pins: dict[str, str] = {}
    for name in pipeline.all_outputs():
        if _is_versioned(catalog.get(name)):
            pins[name] = save_version
    provenance: dict[str, Any] = {}
    ingest_version = None
    if NOISY_TRAIN in free:
        asked = requested.get(NOISY_TRAIN)
        if asked is None:
            version, provenance = _labels_made_with(catalog, parameters)
        else:
            version = _checked(NOISY_TRAIN, catalog.get(NOISY_TRAIN), asked, dataset_name)
            provenance = _provenance(catalog, version)
        pins[NOISY_TRAIN] = version
        _check_source(provenance, parameters, version)
        ingest_version = _ingest_version_of_labels(provenance, version, catalog, dataset_name)
    reads_ingest = [name for name in INGEST_OUTPUTS if name in free]
    if reads_ingest:
        ingest_version = (
            ingest_version
            or _requested_ingest_version(reads_ingest, requested)
            or _complete_ingest_version(catalog, dataset_name)
        )
        for name in reads_ingest:
            asked = requested.get(name)
            if asked is not None and asked != ingest_version:
                raise LineageError(
                    f"--load-versions {name}:{asked} is not the ingest version these labels "
                    f"were made from ({ingest_version}); leave it out or pin noisy_train too"
                )
            pins[name] = _checked(name, catalog.get(name), ingest_version, dataset_name)
    for name in free - set(pins):
        dataset = catalog.get(name)
        if dataset is not None and _is_versioned(dataset):
            pins[name] = _checked(name, dataset, requested.get(name), dataset_name)
    image_cache = None
    if IMAGE_CACHE in free:
        image_cache = _image_cache_key(catalog, pins, provenance, requested.get(IMAGE_CACHE))
    return RunLineage(pins, provenance, image_cache)


def _image_cache_key(
    catalog: DataCatalog, pins: Mapping[str, str], provenance: Mapping[str, Any], asked: str | None
) -> str | None:
    """The key of the image cache the run's tables index: named in the noisy labels'
    provenance, else in that of the pinned test split (None: a table, no images)."""
    # here, not at the top: the image code loads pandas, which settings (every command) need not
    from biv_pipeline.data.images.cache import CACHE_ATTR  # noqa: PLC0415

    if not provenance and TEST_SPLIT in pins:
        test_split = catalog.get(TEST_SPLIT, version=Version(pins[TEST_SPLIT], None))
        provenance = test_split.load().attrs
    named = provenance.get(CACHE_ATTR)
    # labels made before the key was stored name the cache's .npy file
    key = Path(str(named)).stem if named else None
    if asked is not None and asked != key:
        raise LineageError(
            f"--load-versions {IMAGE_CACHE}:{asked} is not the image cache these labels were "
            f"made with ({key or 'none: the dataset has no images'}); leave it out"
        )
    return key


def _provenance(catalog: DataCatalog, version: str) -> dict[str, Any]:
    """How the ``noisy_train`` version was made (the ``attrs`` saved with it)."""
    return dict(catalog.get(NOISY_TRAIN, version=Version(version, None)).load().attrs)


def _labels_made_with(
    catalog: DataCatalog, parameters: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The newest complete ``noisy_train`` made with these parameters, and its provenance;
    else one line listing the versions there and how each differs."""
    dataset_name = str(parameters["dataset"])
    found = versions(catalog.get(NOISY_TRAIN))
    if not found:
        _checked(NOISY_TRAIN, catalog.get(NOISY_TRAIN), None, dataset_name)  # raises
    ours = recipe_of_parameters(parameters)
    key = labels_key(ours)
    others = []
    for version in found:
        provenance = _provenance(catalog, version)
        if key_of_provenance(provenance) == key:
            return version, provenance
        if len(others) < SHOWN_VERSIONS:
            others.append(f"{version} ({differences(recipe_of_provenance(provenance), ours)})")
    more = f" and {len(found) - len(others)} older" if len(found) > len(others) else ""
    raise LineageError(
        f"no noisy_train version of dataset '{dataset_name}' was made with this run's "
        f"parameters; versions there: {'; '.join(others)}{more}. Make one with `kedro run "
        "--pipelines=ingest,noise` and this run's --params, or pin one with "
        f"--load-versions={NOISY_TRAIN}:VERSION"
    )


def _requested_ingest_version(names: list[str], requested: Mapping[str, str]) -> str | None:
    """The one ingest version the user pinned (several different ones are refused)."""
    asked = {requested[name] for name in names if name in requested}
    if len(asked) > 1:
        raise LineageError(
            f"--load-versions pins the ingest outputs to different versions {sorted(asked)}; "
            "train_split, test_split and normalisation of one run belong together"
        )
    return next(iter(asked), None)


@contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """Silence a logger (Kedro's "Replacing dataset" warning for an intended replacement)."""
    target = logging.getLogger(logger_name)
    level = target.level
    target.setLevel(logging.ERROR)
    try:
        yield
    finally:
        target.setLevel(level)


def pin(catalog: DataCatalog, lineage: RunLineage, save_version: str) -> None:
    """Replace each pinned dataset by a copy that loads that version (and saves this run's),
    and the image cache by one that loads its key, checked to be complete."""
    with _quiet("kedro.io.data_catalog"):
        for name, version in lineage.pins.items():
            catalog[name] = catalog.get(name, version=Version(version, save_version))
        if lineage.image_cache is not None:
            images = catalog.get(IMAGE_CACHE).pinned(lineage.image_cache)
            images.check()
            catalog[IMAGE_CACHE] = images
