"""The exception tree: one root, remote errors named by what their status means, and usage
errors apart from both."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import neuropil.reading
from neuropil import errors
from neuropil.client.instances import Registry
from neuropil.client.tables import read_table
from neuropil.client.upload_plan import check_dandiset_root
from neuropil.client.zarr_open import HttpZarrStore, zarr_base_url
from neuropil.errors import (
    BadRequest,
    Conflict,
    InvalidUrl,
    LocalFileError,
    Locked,
    NeuropilError,
    NotFound,
    PermissionDenied,
    RemoteBadRequest,
    RemoteConflict,
    RemoteError,
    RemoteForbidden,
    RemoteLocked,
    RemoteNotFound,
    RemoteServerError,
    Unsupported,
    UnsupportedOperation,
    UsageError,
    WrongAssetKind,
    remote_error,
)
from neuropil.http.transport import Transport
from neuropil.localfiles import find_dandiset_root, select_files
from neuropil.nwb.placement import plan_organize

#: Every class of the UsageError branch, found in the module (a new one is checked too).
USAGE_ERRORS = [
    value
    for value in vars(errors).values()
    if isinstance(value, type) and issubclass(value, UsageError)
]
#: What code catches for an HTTP meaning; none of it may catch the caller's mistake.
HTTP_MEANINGS = (BadRequest, NotFound, Conflict, PermissionDenied, Locked, Unsupported, RemoteError)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (0, RemoteError),
        (400, RemoteBadRequest),
        (401, RemoteForbidden),
        (403, RemoteForbidden),
        (404, RemoteNotFound),
        (409, RemoteConflict),
        (410, RemoteNotFound),
        (412, RemoteError),
        (422, RemoteBadRequest),
        (423, RemoteLocked),
        (429, RemoteError),
        (500, RemoteServerError),
        (502, RemoteServerError),
        (599, RemoteServerError),
    ],
)
def test_remote_error_picks_the_class_of_the_status(status: int, cls: type[RemoteError]) -> None:
    exc = remote_error("GET x -> failed", status_code=status, url="https://a.example/x")
    assert type(exc) is cls
    assert exc.status_code == status and exc.url == "https://a.example/x"
    assert str(exc) == "GET x -> failed"


@pytest.mark.parametrize(
    ("remote", "meaning"),
    [
        (RemoteBadRequest, BadRequest),
        (RemoteForbidden, PermissionDenied),
        (RemoteNotFound, NotFound),
        (RemoteConflict, Conflict),
        (RemoteLocked, Locked),
    ],
)
def test_a_remote_error_is_also_the_error_of_its_meaning(
    remote: type[RemoteError], meaning: type[NeuropilError]
) -> None:
    assert issubclass(remote, RemoteError) and issubclass(remote, meaning)
    # the answer's own status wins over the meaning's class default
    assert remote("m", status_code=410).status_code == 410


@pytest.mark.parametrize("cls", USAGE_ERRORS)
def test_usage_errors_are_no_http_errors(cls: type[UsageError]) -> None:
    exc = cls("give a URL")
    assert isinstance(exc, NeuropilError) and isinstance(exc, ValueError)
    assert not isinstance(exc, HTTP_MEANINGS)
    assert str(exc) == "give a URL"
    with pytest.raises(UsageError):  # an except for an HTTP meaning lets it through
        try:
            raise exc
        except HTTP_MEANINGS:
            pytest.fail(f"{cls.__name__} was caught as an HTTP error")


@pytest.mark.parametrize("cls", USAGE_ERRORS)
def test_no_usage_error_carries_an_http_status(cls: type[UsageError]) -> None:
    # No class of the branch sets a status: only the root's default (a server's 500 for a
    # bug) is there, and no status-named class is among its bases.
    assert [k.__name__ for k in cls.__mro__[:-1] if "status_code" in vars(k)] == ["NeuropilError"]
    assert cls.status_code == NeuropilError.status_code


def test_every_error_needs_a_message() -> None:
    for cls in (UsageError, NotFound, errors.StorageError):
        with pytest.raises(ValueError, match="needs a message"):
            cls("")
    with pytest.raises(ValueError, match="needs a message"):
        remote_error("", status_code=404)


def test_every_class_in_the_module_is_in_the_drawn_tree() -> None:
    doc = errors.__doc__ or ""
    classes = [
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, NeuropilError)
    ]
    assert doc.split("::")[1].split()[0] == "NeuropilError"  # the root, drawn first
    assert [n for n in classes if f"── {n} " not in doc and n != "NeuropilError"] == []


# -- the client's own findings: its caller's mistakes and local conditions, no HTTP errors ---


@dataclass
class _ZarrAsset:
    """Enough of an archive asset for :func:`neuropil.reading.open` to see a Zarr."""

    path: str = "data.zarr"
    zarr: str | None = "zarr-id"
    download_url: str = "https://archive.example/api/assets/x/download/"
    metadata: dict[str, Any] = field(default_factory=dict)
    transport: Any = None


def _dandiset(root: Path, identifier: str = "000123") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "dandiset.yaml").write_text(f"identifier: DANDI:{identifier}\n")
    return root


def _misuses(tmp: Path) -> dict[str, tuple[type[UsageError], Callable[[], object]]]:
    registry = Registry(tmp / "config", env={})
    asset_url = "https://api.dandiarchive.org/api/assets/4f3b2c1a-0000-4000-8000-1234567890ab/"
    store = HttpZarrStore(Transport("https://archive.example/api"), "https://archive.example/z/")
    return {
        "no such table": (UsageError, lambda: read_table(asset_url, "nope", registry=registry)),
        "an asset URL for tables": (
            InvalidUrl,
            lambda: read_table(asset_url, "files", registry=registry),
        ),
        "no dandiset.yaml": (LocalFileError, lambda: find_dandiset_root([tmp])),
        "a path outside": (
            LocalFileError,
            lambda: select_files(_dandiset(tmp / "ds"), [tmp / "elsewhere.nwb"]),
        ),
        "another dandiset's folder": (
            LocalFileError,
            lambda: check_dandiset_root(_dandiset(tmp / "other", "000999"), "000123"),
        ),
        "organize without a dandiset": (
            LocalFileError,
            lambda: plan_organize([], str(tmp / "none"), files_mode="move"),
        ),
        "organize in place by copying": (
            UsageError,
            lambda: plan_organize([], str(_dandiset(tmp / "org")), files_mode="copy"),
        ),
        "a file asset as a Zarr": (
            WrongAssetKind,
            lambda: zarr_base_url({"metadata": {"contentUrl": ["https://a.example/blob"]}}),
        ),
        "a Zarr asset as a file": (WrongAssetKind, lambda: neuropil.reading.open(_ZarrAsset())),
        "listing a remote Zarr": (UnsupportedOperation, lambda: len(store)),
    }


@pytest.mark.parametrize(
    "case",
    [
        "no such table",
        "an asset URL for tables",
        "no dandiset.yaml",
        "a path outside",
        "another dandiset's folder",
        "organize without a dandiset",
        "organize in place by copying",
        "a file asset as a Zarr",
        "a Zarr asset as a file",
        "listing a remote Zarr",
    ],
)
def test_client_misuse_raises_a_usage_error(case: str, tmp_path: Path) -> None:
    cls, call = _misuses(tmp_path)[case]
    with pytest.raises(cls) as caught:
        call()
    assert type(caught.value) is cls and not isinstance(caught.value, HTTP_MEANINGS)
