"""An object's attributes, read-only, from its ``.zattrs`` document."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from neuropil.index._format import SPECIAL_ATTRIBUTES
from neuropil.index.h5._h5py_values import attribute


class IndexAttributes(Mapping[str, Any]):
    """``obj.attrs``: h5py's ``AttributeManager`` for reading (see :mod:`._h5py_values`).

    LINDI's annotations (``_SCALAR``, ``_SOFT_LINK``, ...) are not attributes and are hidden.
    """

    def __init__(self, doc: Mapping[str, Any], owner: str) -> None:
        self._doc = {k: v for k, v in doc.items() if k not in SPECIAL_ATTRIBUTES}
        self._owner = owner

    def __getitem__(self, name: str) -> Any:
        try:
            value = self._doc[name]
        except KeyError:
            raise KeyError(f"{self._owner} has no attribute {name!r}") from None
        return attribute(value)

    def __iter__(self) -> Iterator[str]:
        return iter(self._doc)

    def __len__(self) -> int:
        return len(self._doc)

    def __contains__(self, name: object) -> bool:
        return name in self._doc

    def __setitem__(self, name: str, value: Any) -> None:
        raise OSError(f"cannot set attribute {name!r} of {self._owner}: the file is read-only")

    def __delitem__(self, name: str) -> None:
        raise OSError(f"cannot delete attribute {name!r} of {self._owner}: the file is read-only")

    def __repr__(self) -> str:
        return f"<Attributes of {self._owner}>"
