"""The object tree of an index: members of each group, soft links, path resolution.

Keys in an index are Zarr keys: the root group's prefix is ``""``, ``/a/b`` is ``a/b``. A
*canonical* key is where an object's documents are; a soft link (LINDI's ``_SOFT_LINK``
group) is followed to its target's canonical key wherever it appears in a path, as HDF5
does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from neuropil.index._format import SOFT_LINK, join

_MAX_LINK_HOPS = 32

Kind = Literal["group", "dataset", "soft"]


class Tree:
    """Lookups over the refs of one index (built once: a pass over the keys)."""

    def __init__(self, refs: Mapping[str, Any]) -> None:
        self.refs = refs
        self.children = _children(refs)

    def doc(self, key: str) -> Any:
        return self.refs.get(key)

    def attrs_doc(self, key: str) -> Mapping[str, Any]:
        doc = self.refs.get(join(key, ".zattrs"))
        return doc if isinstance(doc, Mapping) else {}

    def kind(self, key: str) -> Kind | None:
        """What ``key`` holds, without following it."""
        if join(key, ".zarray") in self.refs:
            return "dataset"
        if join(key, ".zgroup") in self.refs or key == "":
            return "soft" if self.link_target(key) is not None else "group"
        return None

    def link_target(self, key: str) -> str | None:
        """The path a soft link at ``key`` points to (``None``: not a soft link)."""
        link = self.attrs_doc(key).get(SOFT_LINK) if key else None
        return str(link["path"]) if isinstance(link, Mapping) and "path" in link else None

    def parent_of(self, start: str, path: str) -> tuple[str, str]:
        """(canonical key of the group holding ``path``'s last part, that last part)."""
        parts = [p for p in path.split("/") if p and p != "."]
        if not parts:
            return start, ""
        parent = self.resolve("" if path.startswith("/") else start, "/".join(parts[:-1]))
        if self.kind(parent) != "group":
            raise KeyError(f"{'/' + parent} is not a group")
        return parent, parts[-1]

    def resolve(self, start: str, path: str, hops: int = 0) -> str:
        """The canonical key of ``path`` (absolute, or relative to the key ``start``)."""
        key = "" if path.startswith("/") else start
        for part in path.split("/"):
            if not part or part == ".":
                continue
            if self.kind(key) != "group":
                raise KeyError(f"/{key} is not a group, so it has no member {part!r}")
            key = join(key, part)
            kind = self.kind(key)
            if kind is None:
                raise KeyError(f"no object named /{key}")
            if kind == "soft":
                if hops >= _MAX_LINK_HOPS:
                    raise KeyError(f"/{key}: too many levels of soft links")
                target = self.link_target(key)
                assert target is not None
                parent = key.rpartition("/")[0]
                key = self.resolve(parent, target, hops + 1)
        return key


def _children(refs: Mapping[str, Any]) -> dict[str, list[str]]:
    """Member names per group key, from the keys of group and array documents."""
    children: dict[str, set[str]] = {}
    for key in refs:
        if key.endswith(("/.zgroup", "/.zarray")):
            parent, _, name = key[: -len("/.zgroup")].rpartition("/")
            children.setdefault(parent, set()).add(name)
    return {parent: sorted(names) for parent, names in children.items()}
