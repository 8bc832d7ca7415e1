"""The Zarr values of ``neuropil.core``: key validation and the checksum."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from zarr_checksum import compute_zarr_checksum
from zarr_checksum.generators import yield_files_local

from neuropil.core.zarr_checksum import (
    EMPTY_ZARR_CHECKSUM,
    ZarrChecksum,
    ZarrFile,
    md5_from_base64,
    md5_to_base64,
    zarr_checksum,
)
from neuropil.core.zarr_paths import key_parents, validate_zarr_key, validate_zarr_prefix
from neuropil.errors import BadRequest, InvalidPath


@pytest.mark.parametrize("key", ["0/0/0", ".zattrs", "a b/ü.bin", "x" * 900, "a\\b"])
def test_valid_keys(key: str) -> None:
    assert validate_zarr_key(key) == key


@pytest.mark.parametrize(
    "key", ["", "/abs", "a//b", "a/./b", "../x", "a/..", "trailing/", "nul\x00", "tab\tx", 7]
)
def test_invalid_keys(key: object) -> None:
    with pytest.raises(InvalidPath):
        validate_zarr_key(key)


def test_prefixes_and_parents() -> None:
    assert validate_zarr_prefix("") == ""
    assert validate_zarr_prefix("data/0.") == "data/0."
    assert validate_zarr_prefix("sub/") == "sub/"
    with pytest.raises(InvalidPath):
        validate_zarr_prefix("../")
    assert key_parents("a/b/c") == ["a", "a/b"]
    assert key_parents("a") == []


def test_checksum_matches_the_reference_on_a_folder(tmp_path: Path) -> None:
    files = {"a/b/c": b"1", "a/d": b"22", "e": b"", ".zattrs": b"{}"}
    for key, data in files.items():
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / key).write_bytes(data)
    ours = zarr_checksum(
        ZarrFile(k, hashlib.md5(v).hexdigest(), len(v)) for k, v in reversed(files.items())
    )
    assert str(ours) == str(compute_zarr_checksum(yield_files_local(tmp_path)))
    assert (ours.count, ours.size) == (4, 5)
    assert ZarrChecksum.parse(str(ours)) == ours
    assert str(EMPTY_ZARR_CHECKSUM) == "481a2f77ab786a0f45aafd5db0971caa-0--0"


def test_checksum_parse_refuses_other_text() -> None:
    with pytest.raises(BadRequest):
        ZarrChecksum.parse("d41d8cd98f00b204e9800998ecf8427e-1")


def test_content_md5_round_trip() -> None:
    md5 = hashlib.md5(b"x").hexdigest()
    b64 = base64.b64encode(hashlib.md5(b"x").digest()).decode()
    assert md5_to_base64(md5) == b64 and md5_from_base64(b64) == md5
    for bad in ("not base64!", base64.b64encode(b"short").decode(), 5):
        with pytest.raises(BadRequest):
            md5_from_base64(bad)
