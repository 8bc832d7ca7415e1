"""A table as JSON, CSV and Parquet bytes, and choosing the format."""

from __future__ import annotations

import io
import json

import pandas as pd
import pyarrow.parquet as pq
import pytest

from neuropil.errors import BadRequest
from neuropil.tables.columns import Column
from neuropil.tables.formats import encode, parse_format

COLUMNS = (Column("name", "string", ""), Column("n", "int", ""))
ROWS = [{"name": 'a, "quoted"\nline', "n": 2**40}, {"name": None, "n": None}]


def test_parse_format() -> None:
    assert parse_format(None) == "json"
    assert parse_format("Parquet") == "parquet"
    assert parse_format(None, "text/html, text/csv;q=0.5") == "csv"
    assert parse_format(None, "application/x-parquet") == "parquet"
    assert parse_format("json", "text/csv") == "json"  # ?format= wins
    with pytest.raises(BadRequest, match="parquet"):
        parse_format("xlsx")


def test_json_is_records_with_nulls() -> None:
    assert json.loads(encode(COLUMNS, ROWS, "json")) == ROWS


def test_csv_quotes_and_leaves_nulls_empty() -> None:
    body = encode(COLUMNS, ROWS, "csv")
    assert body.endswith(b"\r\n,\r\n")
    df = pd.read_csv(io.BytesIO(body), dtype={"name": "string", "n": "Int64"})
    assert df["name"][0] == ROWS[0]["name"] and df["n"][0] == 2**40
    assert df.isna().iloc[1].all()


def test_parquet_keeps_types_and_nulls() -> None:
    table = pq.read_table(io.BytesIO(encode(COLUMNS, ROWS, "parquet")))
    assert [str(t) for t in table.schema.types] == ["string", "int64"]
    assert table.to_pylist() == ROWS


def test_an_empty_table_still_has_its_columns() -> None:
    assert pq.read_table(io.BytesIO(encode(COLUMNS, [], "parquet"))).column_names == ["name", "n"]
    assert encode(COLUMNS, [], "csv") == b"name,n\r\n"
    assert encode(COLUMNS, [], "json") == b"[]"
