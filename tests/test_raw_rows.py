"""A served table model takes raw rows: they are encoded exactly as the ingest encodes the
file, and what the model never saw is refused in one line naming the column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from biv_pipeline.data.encoding import encode_table
from biv_pipeline.data.preprocessing import fit_normalisation
from biv_pipeline.data.raw_rows import RawRows
from biv_pipeline.data.table_declaration import TableDeclaration
from biv_pipeline.errors import RawRowError
from biv_pipeline.serving import RawRowModel, TorchPredictor, serve_rows

ROWS = 60
DECLARATION = {
    "kind": "csv",
    "files": ["bikes.csv"],
    "label": "count",
    "drop": ["id"],
    "categorical": ["weekday", "colour"],
    "cyclic": {"hour": 24},
    "ordinal": {"weather": {"clear": 1, "cloudy": 2, "rain": 3}},
}


def raw_table() -> pd.DataFrame:
    """A file as a user has it: integer and text categories, an hour, ordinal text."""
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "id": range(ROWS),
            "hour": rng.integers(0, 24, ROWS),
            "weekday": rng.integers(0, 7, ROWS),
            "colour": rng.choice(["red", "green", "blue"], ROWS),
            "weather": rng.choice(["clear", "cloudy", "rain"], ROWS),
            "temp": rng.normal(15, 5, ROWS),
            "count": rng.integers(0, 100, ROWS).astype(float),
        }
    )


@pytest.fixture
def table() -> tuple[TableDeclaration, pd.DataFrame, pd.DataFrame]:
    """The declaration, the raw file and the table the ingest encodes from it."""
    declaration = TableDeclaration.from_mapping("bikes", DECLARATION)
    raw = raw_table()
    return declaration, raw, encode_table(declaration, raw)


def rows_of(declaration: TableDeclaration, encoded: pd.DataFrame) -> RawRows:
    features = [column for column in encoded.columns if column != declaration.label]
    return RawRows.of_table(declaration.describe(), features)


RAW_COLUMNS = ["hour", "weekday", "colour", "weather", "temp"]


def test_raw_rows_are_encoded_as_the_ingest_encodes_the_file(table) -> None:
    declaration, raw, encoded = table
    rows = rows_of(declaration, encoded)
    assert rows.names == RAW_COLUMNS
    features = encoded.drop(columns=declaration.label)
    np.testing.assert_allclose(rows.encode(raw[RAW_COLUMNS]), features.to_numpy(), atol=1e-12)
    # in any column order, with float weekdays and ordinal codes instead of text
    shuffled = raw[RAW_COLUMNS[::-1]].assign(
        weekday=raw["weekday"].astype(float),
        weather=raw["weather"].map({"clear": 1, "cloudy": 2, "rain": 3}),
    )
    np.testing.assert_allclose(rows.encode(shuffled), features.to_numpy(), atol=1e-12)


def test_decoded_features_are_raw_rows_again(table) -> None:
    declaration, raw, encoded = table
    rows = rows_of(declaration, encoded)
    decoded = rows.decode(encoded.drop(columns=declaration.label))
    np.testing.assert_allclose(rows.encode(decoded), rows.encode(raw[RAW_COLUMNS]), atol=1e-9)
    assert list(decoded["colour"]) == list(raw["colour"])
    assert list(decoded["weekday"]) == list(raw["weekday"])


MISMATCH = "the rows' columns do not match the model's: "
REFUSED = {
    "colour": (
        lambda r: r.assign(colour="purple"),
        "column 'colour' holds 'purple', not seen in training (known: 'blue', 'green', 'red')",
    ),
    "weekday": (lambda r: r.assign(weekday=9), "column 'weekday' holds 9, not seen in training"),
    "weather": (
        lambda r: r.assign(weather="fog"),
        "column 'weather' holds 'fog', not seen in training",
    ),
    "missing": (
        lambda r: r.drop(columns="hour"),
        MISMATCH + "missing 'hour' (it takes hour, weekday, colour, weather, temp)",
    ),
    "extra": (lambda r: r.assign(id=1), MISMATCH + "unknown 'id'"),
    "nan": (
        lambda r: r.assign(temp=np.nan),
        "column 'temp' holds missing values (NaN), at rows 0, 1, 2, 3, 4 and 55 more",
    ),
    "inf": (lambda r: r.assign(hour=np.inf), "column 'hour' holds infinite values, at rows 0"),
    "text": (lambda r: r.assign(temp="warm"), "column 'temp' holds 'warm', not a number"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_rows_the_model_never_saw_are_refused_naming_the_column(table, case: str) -> None:
    declaration, raw, encoded = table
    change, message = REFUSED[case]
    with pytest.raises(RawRowError) as refused:
        rows_of(declaration, encoded).encode(change(raw[RAW_COLUMNS]))
    assert str(refused.value).startswith(message)
    assert "\n" not in str(refused.value)


def test_a_built_in_table_takes_its_number_columns() -> None:
    rows = RawRows.of_table(None, ["x0", "x1"])
    frame = pd.DataFrame({"x1": [1, 2], "x0": [3, 4]})  # integers, another order
    np.testing.assert_array_equal(rows.encode(frame), [[3.0, 1.0], [4.0, 2.0]])


def test_any_predictor_on_standardised_features_serves_raw_rows(table) -> None:
    """The wrapper standardises, asks the predictor and returns raw label units: a linear
    predictor here, as a classical model would be; a network the same way."""
    declaration, raw, encoded = table
    stats = fit_normalisation(encoded.rename(columns={declaration.label: "y"}), normalize=True)
    weights = np.linspace(-1.0, 1.0, len(stats.feature_mean))
    model = serve_rows(lambda x: x @ weights, stats, declaration.describe())
    assert isinstance(model, RawRowModel)
    features = encoded[list(stats.feature_mean)]
    standardised = (features - pd.Series(stats.feature_mean)) / pd.Series(stats.feature_std)
    expected = standardised.to_numpy() @ weights * stats.label_std + stats.label_mean
    np.testing.assert_allclose(model.predict(raw[RAW_COLUMNS]), expected, rtol=1e-5)
    network = torch.nn.Linear(len(weights), 1, bias=False)
    network.weight.data = torch.tensor(weights[None, :], dtype=torch.float32)
    served = serve_rows(TorchPredictor(torch.nn.Sequential(network, torch.nn.Flatten(0))),
                        stats, declaration.describe())  # fmt: skip
    np.testing.assert_allclose(served.predict(raw[RAW_COLUMNS]), expected, rtol=1e-5)


def test_a_declared_feature_named_like_a_category_column_stays_a_number() -> None:
    source = {"features": ["colour", "colour_depth"], "categorical": ["colour"]}
    rows = RawRows.of_table(source, ["colour_blue", "colour_red", "colour_depth"])
    assert [(c.name, c.kind) for c in rows.columns] == [
        ("colour", "categorical"),
        ("colour_depth", "number"),
    ]
