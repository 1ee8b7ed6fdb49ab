"""Face images decoded once into a uint8 cache (N x 3 x S x S ``.npy``), one job per module:

- :mod:`.utkface`: UTKFace's folder, its ``*.jpg`` files and what their names say (the age);
- :mod:`.decoding`: decoding the JPEGs in parallel threads and judging what was skipped;
- :mod:`.cache`: the cache, keyed by the folder's fingerprint and the image size, built once
  with atomic writes and read memory-mapped;
- :mod:`.statistics`: per-channel statistics of the images, exact for any subset.

The catalog dataset that saves and loads the cache is
:class:`biv_pipeline.catalog.image_cache.ImageCacheDataset`.
"""

from biv_pipeline.data.image_limits import (
    MAX_IMAGE_SIZE,
    MIN_IMAGE_SIZE,
    check_image_size,
    check_max_bad_fraction,
)
from biv_pipeline.data.images.cache import (
    CACHE_ATTR,
    IMAGE_KEY,
    CachedImages,
    ImageCache,
    ImageSource,
    build_image_cache,
    cache_key,
    channel_sums_path,
    folder_fingerprint,
    open_image_cache,
    read_image_cache,
    write_image_cache,
)
from biv_pipeline.data.images.decoding import DecodeReport, common_size, decode_folder
from biv_pipeline.data.images.statistics import (
    channel_statistics,
    channel_sums,
    subset_channel_statistics,
)
from biv_pipeline.data.images.utkface import image_files, parse_utkface_names

__all__ = [
    "CACHE_ATTR",
    "IMAGE_KEY",
    "MAX_IMAGE_SIZE",
    "MIN_IMAGE_SIZE",
    "CachedImages",
    "DecodeReport",
    "ImageCache",
    "ImageSource",
    "build_image_cache",
    "cache_key",
    "channel_statistics",
    "channel_sums",
    "channel_sums_path",
    "check_image_size",
    "check_max_bad_fraction",
    "common_size",
    "decode_folder",
    "folder_fingerprint",
    "image_files",
    "open_image_cache",
    "parse_utkface_names",
    "read_image_cache",
    "subset_channel_statistics",
    "write_image_cache",
]
