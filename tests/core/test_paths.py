"""Asset paths: what is accepted, and what each refusal says."""

from __future__ import annotations

import pytest

from neuropil.core.paths import MAX_PATH_LENGTH, parent_folders, validate_asset_path
from neuropil.errors import BadRequest, InvalidPath


@pytest.mark.parametrize(
    "path",
    [
        "a",
        "sub-01/sub-01_ses-1_ecephys.nwb",
        "deep/er/and/deeper/file.nwb",
        "data.zarr",
        "with space/in the middle.txt",
        ".hidden/.file",  # dot-files are names, not '.' segments
        "a..b/...",
        "données/фото/数据.nwb",  # non-ASCII letters are allowed
        "x" * MAX_PATH_LENGTH,
        "é" * MAX_PATH_LENGTH,  # the limit counts characters, not bytes
    ],
)
def test_valid(path: str) -> None:
    assert validate_asset_path(path) == path


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/abs/file.nwb", "must be relative: remove the leading '/'"),
        ("folder/", "must name a file: remove the trailing '/'"),
        ("a//b", "contains an empty segment ('//')"),
        (".", "contains a '.' segment"),
        ("a/./b", "contains a '.' segment"),
        ("..", "contains a '..' segment"),
        ("a/../b", "contains a '..' segment"),
        ("../etc/passwd", "contains a '..' segment"),
        ("a\x00b", "contains the control character U+0000"),
        ("a\tb", "contains the control character U+0009"),
        ("a\nb", "contains the control character U+000A"),
        ("a\x1fb", "contains the control character U+001F"),
        ("a\x7fb", "contains the control character U+007F"),
        ("a\u200bb", "contains the control character U+200B"),  # format (Cf) characters too
        (" a/b", "a segment with leading or trailing white space"),
        ("a/b ", "a segment with leading or trailing white space"),
        ("", "must not be empty"),
        ("x" * (MAX_PATH_LENGTH + 1), "is 513 characters long; the maximum is 512"),
    ],
)
def test_invalid(path: str, message: str) -> None:
    with pytest.raises(InvalidPath) as info:
        validate_asset_path(path)
    assert message in str(info.value)
    assert info.value.status_code == 400
    assert isinstance(info.value, BadRequest)


@pytest.mark.parametrize("ch", list('\\:*?"<>|'))
def test_forbidden_characters(ch: str) -> None:
    with pytest.raises(InvalidPath) as info:
        validate_asset_path(f"sub-01/a{ch}b.nwb")
    assert f"contains the forbidden character {ch!r}" in str(info.value)


def test_message_quotes_the_path() -> None:
    with pytest.raises(InvalidPath, match=r"Asset path '/x' must be relative"):
        validate_asset_path("/x")


@pytest.mark.parametrize("value", [None, 5, b"bytes/path", ["a"]])
def test_not_a_string(value: object) -> None:
    with pytest.raises(InvalidPath, match="Asset path must be a string"):
        validate_asset_path(value)


def test_parent_folders() -> None:
    assert parent_folders("a") == []
    assert parent_folders("a/b") == ["a"]
    assert parent_folders("a/b/c.nwb") == ["a", "a/b"]
