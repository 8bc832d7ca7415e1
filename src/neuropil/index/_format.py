"""The ``.lindi.json`` reference format: keys, ref values and Zarr v2 metadata, in one place.

An index is ``{"version": 1, "templates": {"u1": url}, "refs": {key: value}}`` where keys are
Zarr v2 keys (``a/b/.zgroup``, ``a/b/data/.zarray``, ``a/b/data/3.0``) and a value is

* a ``dict``: a JSON metadata document (``.zgroup``, ``.zattrs``, ``.zarray``);
* a ``list`` ``["{{u1}}", offset, size]``: bytes of the HDF5 file itself;
* a ``str``: inline bytes, ``"base64:..."`` for binary payloads, else the text itself.

Both the builder and the reader go through the helpers here, so the rules (when a payload
needs base64, how templates expand, how fill values are spelled) have one implementation.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from neuropil.errors import InvalidIndex

FORMAT_VERSION = 1
#: The one URL template every chunk ref uses; a single name keeps each ref short.
URL_TEMPLATE = "u1"
_BASE64_PREFIX = "base64:"
_PRINTABLE = re.compile(rb"[\x20-\x7e\t\n\r]*")

# LINDI's attribute annotations; none of them is a user attribute.
SCALAR = "_SCALAR"
SOFT_LINK = "_SOFT_LINK"
REFERENCE = "_REFERENCE"
COMPOUND_DTYPE = "_COMPOUND_DTYPE"
EXTERNAL_ARRAY_LINK = "_EXTERNAL_ARRAY_LINK"
SPECIAL_ATTRIBUTES = frozenset({SCALAR, SOFT_LINK, REFERENCE, COMPOUND_DTYPE, EXTERNAL_ARRAY_LINK})
REFERENCE_DTYPE = "<REFERENCE>"

#: An extra ``.zarray`` member keeping what the Zarr view of an HDF5 dataset loses, so the
#: reader can answer as h5py does. Zarr v2 readers (LINDI's included) ignore members they do
#: not know. Members, each present only when it says something:
#:
#: * ``"type"``: ``"vlen-utf-8"``, ``"vlen-ascii"`` or ``"reference"`` for JSON-encoded
#:   datasets (h5py types the two string kinds differently, and an empty dataset has no
#:   element to tell a string from a reference);
#: * ``"chunks"``: HDF5's chunk shape (``null``: contiguous or compact) where it is not the
#:   Zarr one;
#: * ``"maxshape"``: the HDF5 maximum shape (``null`` = unlimited), when it is not the shape;
#: * ``"compression"``, ``"compression_opts"``, ``"shuffle"``, ``"fletcher32"``: h5py's
#:   filter properties of JSON-encoded datasets (their Zarr filters are the index's own).
HDF5_INFO = "hdf5"
VLEN_UTF8 = "vlen-utf-8"
VLEN_ASCII = "vlen-ascii"
REFERENCE_TYPE = "reference"

ZGROUP: dict[str, Any] = {"zarr_format": 2}


def join(parent: str, name: str) -> str:
    """The key prefix of ``name`` inside ``parent`` (the root group's prefix is ``""``)."""
    return f"{parent}/{name}" if parent else name


def chunk_name(index: tuple[int, ...]) -> str:
    """Zarr v2 chunk name: grid indices joined by dots; a 0-d grid (scalars) is ``"0"``."""
    return ".".join(str(i) for i in index) if index else "0"


def file_ref(offset: int, size: int) -> list[Any]:
    """A ref to ``size`` bytes at ``offset`` of the indexed file."""
    return ["{{" + URL_TEMPLATE + "}}", offset, size]


def inline_value(payload: bytes) -> str:
    """Encode bytes for inlining: printable ASCII text as is, anything else base64.

    Same reading rule as LINDI's, stricter writing rule: LINDI keeps any 7-bit payload as
    text, so binary chunks become JSON ``\\u0002`` escapes, six characters per byte. A
    payload that starts with ``base64:`` is base64-encoded too, or it would be decoded twice.
    """
    if _PRINTABLE.fullmatch(payload) and not payload.startswith(_BASE64_PREFIX.encode()):
        return payload.decode("ascii")
    return _BASE64_PREFIX + base64.b64encode(payload).decode("ascii")


def inline_bytes(value: str) -> bytes:
    """Inverse of :func:`inline_value`."""
    if value.startswith(_BASE64_PREFIX):
        return base64.b64decode(value[len(_BASE64_PREFIX) :])
    return value.encode("utf-8")


def expand_url(url: str, templates: Mapping[str, str]) -> str:
    """Substitute ``{{name}}`` templates (plain substitution only, as LINDI does)."""
    if "{{" not in url:
        return url
    for name, value in templates.items():
        url = url.replace("{{" + name + "}}", value)
    if "{{" in url:
        raise InvalidIndex(f"ref URL {url!r} uses a template that the index does not define")
    return url


# -- JSON spellings of floats and fill values -------------------------------------------------
def encode_float(value: float) -> float | str:
    """JSON has no NaN/Inf: LINDI (and Zarr) spell them as strings."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def decode_float(value: Any) -> Any:
    """Inverse of :func:`encode_float`; other values pass through."""
    if isinstance(value, str) and value in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[value]
    return value


def is_special_float_string(value: str) -> bool:
    """Whether a string attribute would be mistaken for a NaN/Inf spelling."""
    return value in _SPECIAL_FLOATS


def encode_fill_value(value: Any, dtype: np.dtype[Any]) -> Any:
    """A ``.zarray`` ``fill_value`` as Zarr v2 spells it for ``dtype``."""
    if value is None or dtype.kind == "O":
        return None
    if dtype.kind == "f":
        return encode_float(float(value))
    if dtype.kind == "b":
        return bool(value)
    if dtype.kind in "iu":
        return int(value)
    if dtype.kind == "S":
        return base64.b64encode(bytes(value)).decode("ascii")
    raise InvalidIndex(f"no fill value spelling for dtype {dtype}")


def decode_fill_value(value: Any, dtype: np.dtype[Any]) -> Any:
    """Inverse of :func:`encode_fill_value` (``None`` means zeros, as in Zarr v2)."""
    if value is None:
        return None
    if dtype.kind == "S":
        return base64.b64decode(value)
    return decode_float(value)


def zarray(
    *,
    shape: tuple[int, ...],
    chunks: tuple[int, ...],
    dtype: str,
    fill_value: Any,
    filters: list[dict[str, Any]] | None,
    compressor: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Zarr v2 ``.zarray`` document.

    HDF5's pipeline goes in ``filters`` in order (it has no separate compressor stage);
    ``compressor`` is only used for data the builder encodes itself.
    """
    return {
        "chunks": list(chunks),
        "compressor": compressor,
        "dtype": dtype,
        "fill_value": fill_value,
        "filters": filters or None,
        "order": "C",
        "shape": list(shape),
        "zarr_format": 2,
    }
