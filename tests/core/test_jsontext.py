"""JSON text the archive can store (issue 16, item 2): the check behind every JSON write."""

from __future__ import annotations

import json

import pytest

from neuropil.core.jsontext import InvalidJsonText, check_body, check_text


@pytest.mark.parametrize(
    "text",
    [
        r'{"a": "x\ud800y"}',  # a lone high surrogate
        r'{"a": "\udc00"}',  # a lone low surrogate
        r'{"a": "\ud800\ud800"}',  # two highs are not a pair
        r'{"a": "\ud83d"}',  # a high surrogate at the end of a string
        r'{"a": "\ud83d x \ude00"}',  # a pair must be adjacent
        r'{"\ud800": 1}',  # keys too
        r'{"a": "nul \u0000"}',
        '{"a": "raw \ud800"}',  # a raw surrogate in a str
    ],
)
def test_refused(text: str) -> None:
    with pytest.raises(InvalidJsonText) as info:
        check_text(text)
    assert info.value.status_code == 400
    assert str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        r'{"a": "\ud83d\ude00"}',  # an escaped pair: an emoji
        r'{"a": "\\ud800"}',  # an escaped backslash, then the letters ud800
        r'{"a": "\\\\\ud83d\udc1f"}',
        r'{"a": "\u00e9 \n \" \/"}',
        '{"a": "caf\u00e9 \U0001f41f"}',
        "[1, 2.5, true, null]",
    ],
)
def test_accepted(text: str) -> None:
    check_text(text)
    json.loads(text)


def test_bodies_must_be_utf8() -> None:
    check_body('{"a": "é"}'.encode())
    check_body('\ufeff{"a": 1}'.encode())  # a BOM is tolerated, as json.loads does
    with pytest.raises(InvalidJsonText, match="UTF-8"):
        check_body('{"a": "\ud800"}'.encode("utf-8", "surrogatepass"))
    with pytest.raises(InvalidJsonText, match="must be UTF-8, not utf-16"):
        check_body('{"a": 1}'.encode("utf-16-le"))
    with pytest.raises(InvalidJsonText, match="not valid UTF-8"):
        check_body(b'{"a": "\xff"}')
