"""The image cache as a catalog dataset: decoded once by ingest, memory-mapped by train.

A cache lives in the dataset's ``folder`` as ``<key>.npy``, ``<key>.json`` and
``<key>_channel_sums.npy`` (:mod:`biv_pipeline.data.images.cache`). Its key, the image size
and the fingerprint of the image folder, plays the part a version plays for the other
datasets:

- ingest saves an :class:`~biv_pipeline.data.images.cache.ImageSource` (decoded only when no
  complete cache has its key) and the run's later nodes load that cache;
- a run that does not ingest loads the key that :mod:`biv_pipeline.catalog.lineage` pins: the
  cache the rows of its labels index, named in their provenance (``attrs["image_cache"]``);
  ``--load-versions=image_cache:KEY`` may name that same key.

A table has no images: ingest saves None, nothing is written, and the dataset loads None.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset

from biv_pipeline.data.images.cache import (
    CachedImages,
    ImageCache,
    ImageSource,
    read_image_cache,
    write_image_cache,
)

logger = logging.getLogger(__name__)


class ImageCacheDataset(AbstractDataset[ImageSource | None, CachedImages | None]):
    """The decoded images of an image dataset, keyed by folder fingerprint and image size.

    Loads :class:`~biv_pipeline.data.images.cache.CachedImages` (the uint8 N x 3 x S x S array
    memory-mapped read-only, its table and channel sums), or None when no key is set.
    """

    def __init__(
        self, folder: str, key: str | None = None, metadata: dict[str, Any] | None = None
    ) -> None:
        self._folder = Path(folder)
        self._key = key
        self.metadata = metadata

    @property
    def key(self) -> str | None:
        """The cache this dataset loads (None: no images)."""
        return self._key

    def pinned(self, key: str | None) -> ImageCacheDataset:
        """A copy of this dataset that loads the cache ``key``."""
        return ImageCacheDataset(str(self._folder), key, self.metadata)

    def check(self) -> None:
        """Raise MissingDataError (run the ingest again) if the cache to load is incomplete."""
        if self._key is not None:
            ImageCache.at(self._folder, self._key).check()

    def load(self) -> CachedImages | None:
        return None if self._key is None else read_image_cache(self._folder, self._key)

    def save(self, data: ImageSource) -> None:
        _, _, report = write_image_cache(data, self._folder)
        self._key = data.key
        if report is not None and report.bad_fraction > 0:
            logger.warning("UTKFace %s: %s", data.folder, report.describe())

    @classmethod
    def _save_wrapper(
        cls, save_func: Callable[[ImageCacheDataset, ImageSource], None]
    ) -> Callable[[ImageCacheDataset, ImageSource | None], None]:
        # Kedro refuses to save None; here None means "no images": nothing to write or load.
        checked = super()._save_wrapper(save_func)

        @wraps(checked)
        def save(self: ImageCacheDataset, data: ImageSource | None) -> None:
            if data is None:
                self._key = None
                return
            checked(self, data)

        return save

    def _exists(self) -> bool:
        return self._key is not None and ImageCache.at(self._folder, self._key).complete

    def _describe(self) -> dict[str, Any]:
        return {"folder": str(self._folder), "key": self._key}
