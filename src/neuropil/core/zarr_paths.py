"""Keys inside a Zarr archive: one validator, shared by the server and the client.

A key is the path of one file relative to the Zarr's root (``0/0/0``, ``.zattrs``). Keys are
kept byte for byte as the client sent them (never normalized): the Zarr checksum hashes the
names, so a renamed key would change the checksum the client computes on its own copy.
"""

from __future__ import annotations

import unicodedata

from neuropil.errors import InvalidPath

#: S3 keys are at most 1024 bytes; ``zarr/<uuid>/`` takes 42 of them.
MAX_KEY_BYTES = 960
#: The largest file of a Zarr: S3's limit for one PUT (DANDI sends Zarr files whole, and
#: dandi-cli refuses larger ones). The archive refuses a larger PUT, validation flags the file.
MAX_FILE_BYTES = 5 << 30
#: The names of Zarr metadata documents (v2, then v3): JSON, served as such.
METADATA_NAMES = (".zgroup", ".zarray", ".zattrs", ".zmetadata", "zarr.json")


def validate_zarr_key(key: object) -> str:
    """Return ``key`` if it names a file inside a Zarr, else raise :class:`InvalidPath`.

    Relative POSIX paths with no empty, ``.`` or ``..`` segments, no leading ``/`` and no
    control characters: every backend can map them under ``zarr/<id>/`` without escaping it.
    """
    if not isinstance(key, str):
        raise InvalidPath("A Zarr path must be a string.")
    if key == "":
        raise InvalidPath("A Zarr path must not be empty.")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise InvalidPath(f"Zarr path {key[:80]!r}... is longer than {MAX_KEY_BYTES} bytes.")
    for ch in key:
        if ch == "\x00" or unicodedata.category(ch) in ("Cc", "Cs"):
            raise InvalidPath(f"Zarr path {key!r} contains the control character U+{ord(ch):04X}.")
    if key.startswith("/"):
        raise InvalidPath(f"Zarr path {key!r} must be relative: remove the leading '/'.")
    for seg in key.split("/"):
        if seg == "":
            raise InvalidPath(f"Zarr path {key!r} contains an empty segment.")
        if seg in (".", ".."):
            raise InvalidPath(f"Zarr path {key!r} contains a '{seg}' segment.")
    return key


def validate_zarr_prefix(prefix: str) -> str:
    """A listing prefix: a plain string prefix of keys (S3's ``prefix``), which may end in
    ``/`` or in the middle of a name, but may not climb out of the Zarr."""
    if prefix == "":
        return prefix
    validate_zarr_key(prefix.rstrip("/") or "/")
    return prefix


def key_parents(key: str) -> list[str]:
    """The folders holding ``key``, outermost first: ``a/b/c`` -> ``['a', 'a/b']``."""
    parts = key.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def is_zarr_path(path: str) -> bool:
    """Whether an asset path names a Zarr folder by DANDI's suffixes (``.zarr``, ``.ngff``)."""
    return path.lower().endswith((".zarr", ".ngff"))
