"""JSON text the archive can store: UTF-8, no lone surrogates, no NUL characters.

Python's :func:`json.loads` accepts ``"\\ud800"`` (an unpaired UTF-16 surrogate) and raw
surrogates in bytes it decodes with ``surrogatepass``. Such a string cannot be encoded as
UTF-8: SQLite stores it, and every later read that encodes the row answers 500;
PostgreSQL's ``jsonb`` refuses it (and ``\\u0000``) mid-transaction. So request bodies are
checked here, as text, before anything parses them into objects or writes them.
"""

from __future__ import annotations

import json
import re

from neuropil.errors import BadRequest

# Every backslash in JSON text starts an escape, so scanning left to right, one escape at a
# time, finds exactly the escapes (``\\\\ud800`` is a backslash and "ud800", not an escape).
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)
_RAW_SURROGATE = re.compile("[\ud800-\udfff]")
_UTF8 = ("utf-8", "utf-8-sig")


class InvalidJsonText(BadRequest):
    """JSON text that parses but could not be stored (see the module docstring)."""


def _kind(hex4: str | None) -> str:
    if hex4 is None:
        return "other"
    unit = int(hex4, 16)
    if 0xD800 <= unit <= 0xDBFF:
        return "high"
    if 0xDC00 <= unit <= 0xDFFF:
        return "low"
    return "nul" if unit == 0 else "other"


def _shown(ch: str) -> str:
    return ch if ch.isprintable() and not 0xD800 <= ord(ch) <= 0xDFFF else f"\\u{ord(ch):04x}"


def _refuse(what: str, text: str, at: int) -> InvalidJsonText:
    near = "".join(_shown(ch) for ch in text[max(0, at - 20) : at + 26])
    return InvalidJsonText(f"{what} (near: {near}); send text that is valid Unicode.")


def check_text(text: str) -> None:
    """Refuse JSON text holding a lone surrogate escape, a raw surrogate or ``\\u0000``.

    Escaped pairs (``\\ud83d\\ude00``, an emoji) are fine.
    """
    raw = _RAW_SURROGATE.search(text)
    if raw is not None:
        raise _refuse("The JSON text holds an unpaired surrogate character", text, raw.start())
    if "\\" not in text:
        return
    high_end = -1  # where the last unpaired high-surrogate escape ended
    for m in _ESCAPE.finditer(text):
        kind = _kind(m.group(1))
        if high_end >= 0:
            if kind == "low" and m.start() == high_end:
                high_end = -1
                continue
            raise _refuse("A \\uD800-\\uDBFF escape is not followed by its pair", text, high_end)
        if kind == "high":
            high_end = m.end()
        elif kind == "low":
            raise _refuse("A \\uDC00-\\uDFFF escape has no leading pair", text, m.start())
        elif kind == "nul":
            raise _refuse("JSON strings must not contain U+0000 (NUL)", text, m.start())
    if high_end >= 0:
        raise _refuse("A \\uD800-\\uDBFF escape is not followed by its pair", text, high_end)


def check_body(body: bytes) -> None:
    """Refuse a JSON request body that is not UTF-8 or fails :func:`check_text`.

    RFC 8259 requires UTF-8 between systems; accepting UTF-16/32 (as :func:`json.loads`
    would) lets lone surrogates through in another disguise.
    """
    encoding = json.detect_encoding(body)
    if encoding not in _UTF8:
        raise InvalidJsonText(f"JSON request bodies must be UTF-8, not {encoding}.")
    try:
        text = body.decode(encoding)  # strict: encoded surrogates (ED A0 80) are refused
    except UnicodeDecodeError as exc:
        raise InvalidJsonText(
            f"The request body is not valid UTF-8 at byte {exc.start}; send UTF-8 JSON."
        ) from exc
    check_text(text)
