"""Asset paths: one validator with messages that say what to fix."""

from __future__ import annotations

import unicodedata

from neuropil.errors import InvalidPath

MAX_PATH_LENGTH = 512
# Characters DANDI refuses that also break common filesystems or URL forms.
_FORBIDDEN = set('\\:*?"<>|')


def normalize_path(text: str) -> str:
    """A path (or a prefix or pattern of one) in Unicode NFC, the form paths are stored in.

    macOS file systems hand out NFD names (``e`` + combining accent) and most others NFC
    (``é``): without one form, ``café/x.bin`` from two machines would be two assets that
    look the same. Every path the archive stores or looks up passes here first.
    """
    return unicodedata.normalize("NFC", text)


def validate_asset_path(path: object) -> str:
    """Return ``path`` in NFC (:func:`normalize_path`) if it is a valid asset path, else
    raise :class:`InvalidPath`.

    The rules follow the DANDI Archive: relative POSIX paths with no empty, ``.`` or ``..``
    segments, no leading or trailing ``/``, no control characters, at most 512 characters.
    Unlike DANDI, non-ASCII letters are accepted (a recurring request of its users).
    """
    if not isinstance(path, str):
        raise InvalidPath("Asset path must be a string.")
    path = normalize_path(path)
    if path == "":
        raise InvalidPath("Asset path must not be empty.")
    if len(path) > MAX_PATH_LENGTH:
        raise InvalidPath(
            f"Asset path is {len(path)} characters long; the maximum is {MAX_PATH_LENGTH}."
        )
    for ch in path:
        if ch == "\x00" or unicodedata.category(ch) in ("Cc", "Cf"):
            raise InvalidPath(
                f"Asset path {path!r} contains the control character U+{ord(ch):04X}."
            )
        if ch in _FORBIDDEN:
            raise InvalidPath(f"Asset path {path!r} contains the forbidden character {ch!r}.")
    if path.startswith("/"):
        raise InvalidPath(f"Asset path {path!r} must be relative: remove the leading '/'.")
    if path.endswith("/"):
        raise InvalidPath(f"Asset path {path!r} must name a file: remove the trailing '/'.")
    for seg in path.split("/"):
        if seg == "":
            raise InvalidPath(f"Asset path {path!r} contains an empty segment ('//').")
        if seg in (".", ".."):
            raise InvalidPath(f"Asset path {path!r} contains a '{seg}' segment.")
        if seg != seg.strip():
            raise InvalidPath(
                f"Asset path {path!r} has a segment with leading or trailing white space."
            )
    return path


def parent_folders(path: str) -> list[str]:
    """The folders containing ``path``, outermost first: ``a/b/c`` -> ``['a', 'a/b']``."""
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]
