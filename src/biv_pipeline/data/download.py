"""The verified download: a zip archive fetched from a URL, each named member's SHA-256
checked before it is placed in the data folder."""

from __future__ import annotations

import hashlib
import io
import urllib.error
import urllib.request
import zipfile
from collections.abc import Mapping
from pathlib import Path

from biv_pipeline.errors import MissingDataError

DOWNLOAD_TIMEOUT_S = 60


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download_archive(target: Path, url: str, sha256: Mapping[str, str]) -> None:
    """Fetch a zip archive, check each named member's SHA-256, and place them in ``target``."""
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            archive = zipfile.ZipFile(io.BytesIO(response.read()))
    except (urllib.error.URLError, OSError, zipfile.BadZipFile) as error:
        names = " and ".join(sha256)
        raise MissingDataError(
            f"files are missing from {target} and the download from {url} failed ({error}). "
            f"Download the zip by hand and put {names} into {target}, or pass --params "
            "data_dir=PATH pointing at a folder that holds them."
        ) from error
    members = {Path(name).name: name for name in archive.namelist()}
    target.mkdir(parents=True, exist_ok=True)
    for file_name, expected in sha256.items():
        if file_name not in members:
            raise ValueError(f"the archive from {url} has no {file_name}")
        data = archive.read(members[file_name])
        if _sha256(data) != expected:
            raise ValueError(
                f"{file_name} from {url} has SHA-256 {_sha256(data)}, expected {expected}; "
                "not using it"
            )
        (target / file_name).write_bytes(data)
