"""Image datasets declared by an index CSV (``kind: images``): one row per image, naming its
file and its label, and optionally the label's declared noise (``std``, ``variance`` or
``repeats``, ``clean_label``; see ``declared_noise``).

The files are named relative to the index's folder (``faces/0001.jpg`` for images in a folder
beside it) and decoded once into the same image cache as UTKFace's; the CNN and ResNet train
on them alike. The index is read and checked as a declared table is (``table_reader``): one
line naming the file, the column and the lines of a bad value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from biv_pipeline.data.declared_noise import declared_columns
from biv_pipeline.data.encoding import check_label_varies
from biv_pipeline.data.table_declaration import TableDeclaration, check_known_settings
from biv_pipeline.data.table_layout import apply_layout, check_columns
from biv_pipeline.errors import ParameterError

IMAGES_KIND = "images"
FILE = "file"  # the column of the loaded table naming each image's file
DEFAULT_MODEL = "vanilla_cnn"  # UTKFace's defaults
DEFAULT_LR = 1e-3
INDEX_KEYS = ("index", "file", "label", "separator", "std", "variance", "repeats")
TABLE_KEYS = ("clean_label", "split", "lr", "model")


@dataclass(frozen=True)
class ImageIndexDeclaration:
    """One ``datasets.<name>`` block of ``kind: images``: ``index`` (a CSV under
    ``data_dir``), its ``file`` and ``label`` columns, and the settings a table has
    (``separator``, the declared noise, ``split``, ``lr``, ``model``)."""

    name: str
    index: str
    file: str
    table: TableDeclaration  # the index read as a table whose one "feature" is the file column

    @classmethod
    def from_mapping(cls, name: str, block: Mapping[str, Any]) -> ImageIndexDeclaration:
        """Validate a YAML block; errors name the field (``datasets.<name>.<field>``)."""
        prefix = f"datasets.{name}"
        check_known_settings(prefix, block, {"kind", *INDEX_KEYS, *TABLE_KEYS})
        for required in ("index", "file"):
            if not isinstance(block.get(required), str) or not block[required]:
                raise ParameterError(
                    f"{prefix}.{required} is required (a file name); got {block.get(required)!r}"
                )
        settings = {key: value for key, value in block.items() if key not in ("index", "file")}
        table = TableDeclaration.from_mapping(
            name,
            {
                "model": DEFAULT_MODEL,
                "lr": DEFAULT_LR,
                **settings,
                "kind": "csv",
                "files": [block["index"]],
                # the file column is the only one read besides the label and its noise;
                # categorical, so that it is checked for missing values but not as a number
                "features": [block["file"]],
                "categorical": [block["file"]],
            },
        )
        return cls(name, block["index"], block["file"], table)

    @property
    def declares_noise(self) -> bool:
        """Whether the index declares its labels' variances."""
        return self.table.declares_noise

    @property
    def model(self) -> str:
        return self.table.model

    @property
    def lr(self) -> float:
        return self.table.lr

    def default_split(self, n_rows: int) -> tuple[int, int]:
        """Train and test images of ``n_rows``: the declared counts or shares."""
        return self.table.default_split(n_rows)

    def describe(self) -> dict[str, Any]:
        """The declaration as plain JSON-ready values (provenance)."""
        described = self.table.describe()
        for key in ("files", "features", "categorical", "drop", "cyclic", "ordinal", "rename"):
            described.pop(key)
        described.pop("day_of_year")
        return {"kind": IMAGES_KIND, "index": self.index, "file": self.file, **described}

    def rows(self, table: TableDeclaration, frame: pd.DataFrame, source: str) -> pd.DataFrame:
        """The labelled rows of the index (``read_table``'s ``encode``): ``file``, the label
        (column ``table.label``) and its declared noise; ``attrs`` count the rows read and
        those dropped for a missing label."""
        frame = apply_layout(table, frame, source)
        check_columns(table, frame, source)
        label = pd.to_numeric(frame[table.label], errors="coerce")
        keep = label.notna().to_numpy()
        check_label_varies(table, label[keep], source)
        rows = pd.DataFrame(
            {FILE: frame.loc[keep, self.file].astype(str).to_numpy(), table.label: label[keep]}
        ).reset_index(drop=True)
        rows = rows.assign(**declared_columns(table, frame.loc[keep]))
        rows.attrs = {"rows_read": len(frame), "rows_missing_label": int((~keep).sum())}
        return rows
