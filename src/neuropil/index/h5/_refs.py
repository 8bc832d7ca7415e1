"""Object references read from an index: what ``h5py.Reference`` is to ``h5py.File``.

The index spells a reference as LINDI does, ``{"_REFERENCE": {"path": ..., "object_id":
...}}``. :class:`IndexReference` subclasses ``h5py.Reference`` because hdmf tells
references from other values with ``isinstance(value, h5py.Reference)``; ``file[ref]``
opens the target, and the target's ``object_id`` is checked when both sides name one.
"""

from __future__ import annotations

from typing import Any

import h5py

from neuropil.index._format import REFERENCE


class IndexReference(h5py.Reference):  # type: ignore[misc]  # h5py is untyped
    """A reference to the object at ``path`` (``None``: a null reference, which is falsy)."""

    # h5py's Reference is a C type whose own constructor takes no arguments; nothing of its
    # C state is used, every method h5py code calls is overridden here.
    def __init__(self, path: str | None, object_id: str | None = None) -> None:
        self.path = path
        self.object_id = object_id

    def __bool__(self) -> bool:
        return self.path is not None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IndexReference):
            return NotImplemented
        return (self.path, self.object_id) == (other.path, other.object_id)

    def __hash__(self) -> int:
        return hash((self.path, self.object_id))

    def __repr__(self) -> str:
        if self.path is None:
            return "<null object reference>"
        return f"<object reference to {self.path!r}>"

    @property
    def typecode(self) -> int:
        return 0  # H5R_OBJECT, as h5py reports for object references

    def __reduce__(self) -> Any:
        return (IndexReference, (self.path, self.object_id))


NULL_REFERENCE = IndexReference(None)


def is_reference(value: Any) -> bool:
    """Whether a JSON value is a LINDI ``_REFERENCE`` dict."""
    return isinstance(value, dict) and REFERENCE in value


def reference(value: Any) -> IndexReference:
    """The reference a ``_REFERENCE`` dict (or ``None``: a null reference) stands for."""
    if value is None:
        return NULL_REFERENCE
    target = value[REFERENCE]
    path = target.get("path")
    return IndexReference(str(path) if path is not None else None, target.get("object_id"))
