"""The ranges of the image parameters (``image_size``, ``ingest.max_bad_fraction``), checked
without the image code: the parameter contract names a bad value before pandas is imported."""

from __future__ import annotations

from biv_pipeline.errors import ParameterError

MIN_IMAGE_SIZE = 16
# The cache holds N x 3 x S^2 bytes: at S = 4000 twenty faces made a 960 MB cache, the whole of
# UTKFace (24k faces) would need over a terabyte. The paper uses 200 (the faces' own size).
MAX_IMAGE_SIZE = 512


def check_image_size(image_size: int) -> None:
    """image_size is an integer from MIN_IMAGE_SIZE to MAX_IMAGE_SIZE pixels."""
    if not (
        isinstance(image_size, int)
        and not isinstance(image_size, bool)
        and MIN_IMAGE_SIZE <= image_size <= MAX_IMAGE_SIZE
    ):
        raise ParameterError(
            f"image_size must be an integer from {MIN_IMAGE_SIZE} to {MAX_IMAGE_SIZE} pixels "
            f"(the side of the square each face is resized to); got {image_size!r}"
        )


def check_max_bad_fraction(max_bad_fraction: float) -> None:
    """ingest.max_bad_fraction is a share of the files, from 0 to 1."""
    if not (
        isinstance(max_bad_fraction, int | float)
        and not isinstance(max_bad_fraction, bool)
        and 0 <= max_bad_fraction <= 1
    ):
        raise ParameterError(
            "ingest.max_bad_fraction must be a share of the image files from 0 (none may be "
            f"skipped) to 1; got {max_bad_fraction!r}"
        )
