"""UTKFace's folder: its ``*.jpg`` files, and what each file's name says.

UTKFace names its files ``AGE_GENDER_RACE_DATETIME.jpg.chip.jpg``; the age is the label.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from biv_pipeline.errors import MissingDataError

UTKFACE_NAME = re.compile(r"^(\d+)_([01])_([0-4])_(\d{17})\.jpg\.chip\.jpg$")


def image_files(folder: Path) -> list[str]:
    """The names of the ``*.jpg`` files of ``folder``, sorted; none is an error saying what to
    put there."""
    names = sorted(entry.name for entry in os.scandir(folder) if entry.name.endswith(".jpg"))
    if not names:
        raise MissingDataError(
            f"no *.jpg images in {folder}: put the UTKFace 'Aligned & Cropped Faces' images "
            "there (flat folder), or pass --params data_dir=PATH"
        )
    return names


def parse_utkface_names(names: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """Age, gender and race from each file name; names that do not parse are returned apart."""
    rows, bad = [], []
    for name in names:
        match = UTKFACE_NAME.match(name)
        if match is None:
            bad.append(name)
            continue
        age, gender, race, _ = match.groups()
        rows.append({"file": name, "y": float(age), "gender": int(gender), "race": int(race)})
    return pd.DataFrame(rows, columns=["file", "y", "gender", "race"]), bad
