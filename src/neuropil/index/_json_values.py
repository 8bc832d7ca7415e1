"""h5py values (attributes, elements of string/reference/compound datasets) as JSON.

The spellings are LINDI's so that its reader understands our indexes: NaN/Inf as strings,
byte strings decoded as UTF-8, object references as ``{"_REFERENCE": {...}}``. Anything
else (complex numbers, region references, opaque data) raises :class:`UnsupportedHdf5`
naming the object, rather than being silently dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import h5py
import numpy as np

from neuropil.errors import UnsupportedHdf5
from neuropil.index._format import REFERENCE, encode_float, is_special_float_string


class References:
    """Turns h5py object references into LINDI ``_REFERENCE`` dicts for one open file."""

    def __init__(self, file: h5py.File) -> None:
        self._file = file
        self._source_object_id = _text_or_none(file.attrs.get("object_id"))
        #: Encoded targets by object address: tables hold many references to a few objects
        #: (every electrode row names its group), and h5py's ``name`` is a costly lookup.
        self._seen: dict[int, dict[str, Any]] = {}

    def encode(self, ref: h5py.Reference, *, where: str) -> dict[str, Any] | None:
        """``{"_REFERENCE": {object_id, path, source, source_object_id}}``; null refs -> None."""
        if isinstance(ref, h5py.RegionReference):
            raise UnsupportedHdf5(f"{where} holds an HDF5 region reference, which is not supported")
        if not ref:
            return None
        try:
            addr = h5py.h5o.get_info(h5py.h5r.dereference(ref, self._file.id)).addr
        except (KeyError, ValueError, OSError) as exc:
            raise UnsupportedHdf5(
                f"{where} holds an object reference that cannot be resolved"
            ) from exc
        seen = self._seen.get(addr)
        if seen is None:
            seen = self._seen[addr] = self._encode(ref, where=where)
        return {REFERENCE: dict(seen[REFERENCE])}

    def _encode(self, ref: h5py.Reference, *, where: str) -> dict[str, Any]:
        try:
            target = self._file[ref]
        except (KeyError, ValueError, OSError) as exc:
            raise UnsupportedHdf5(
                f"{where} holds an object reference that cannot be resolved"
            ) from exc
        return {
            REFERENCE: {
                "object_id": _text_or_none(target.attrs.get("object_id")),
                "path": target.name,
                "source": ".",
                "source_object_id": self._source_object_id,
            }
        }


def attribute_value(value: Any, *, where: str, refs: References) -> Any:
    """An h5py attribute value as JSON (the value ``h5py``'s ``attrs[name]`` returns)."""
    if isinstance(value, h5py.Empty):
        return None  # a null dataspace: there is no value to keep
    if isinstance(value, np.ndarray):
        return _array_value(value, where=where, refs=refs)
    return element_value(value, where=where, refs=refs, attribute=True)


def element_value(value: Any, *, where: str, refs: References, attribute: bool = False) -> Any:
    """One scalar: number, bool, string or reference.

    In an ``attribute``, NaN/Inf are spelled as strings, so strings may not read
    "NaN"/"Infinity"/"-Infinity": LINDI's reader turns those back into floats (it leaves
    dataset elements alone).
    """
    if isinstance(value, h5py.Reference):
        return refs.encode(value, where=where)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        # Dataset elements go through numcodecs' JSON codec, which writes NaN itself.
        return encode_float(float(value)) if attribute else float(value)
    if isinstance(value, bytes | np.bytes_):
        value = _decode(bytes(value), where=where)
    if isinstance(value, str):
        return _checked_text(value, where=where) if attribute else value
    raise UnsupportedHdf5(
        f"{where} has a value of type {type(value).__name__}, which is not supported"
    )


def _array_value(value: np.ndarray[Any, Any], *, where: str, refs: References) -> Any:
    kind = value.dtype.kind
    if kind in "iub":
        return value.tolist()
    if kind == "f":
        return _nested(value.tolist(), lambda x: encode_float(float(x)))
    if kind in "OSU":
        return _nested(
            value.tolist(), lambda x: element_value(x, where=where, refs=refs, attribute=True)
        )
    raise UnsupportedHdf5(f"{where} is an array of dtype {value.dtype}, which is not supported")


def _nested(items: Any, convert: Callable[[Any], Any]) -> Any:
    if isinstance(items, list):
        return [_nested(item, convert) for item in items]
    return convert(items)


def _decode(raw: bytes, *, where: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnsupportedHdf5(f"{where} holds bytes that are not UTF-8 text") from exc


def _checked_text(text: str, *, where: str) -> str:
    # LINDI decodes these strings back into floats, so storing them would change the value.
    if is_special_float_string(text):
        raise UnsupportedHdf5(
            f"{where} is the string {text!r}, which the index format reserves for a float"
        )
    return text


def _text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
