"""The exception tree: one root, remote errors named by what their status means, and usage
errors apart from both."""

from __future__ import annotations

import pytest

from neuropil import errors
from neuropil.errors import (
    BadRequest,
    Conflict,
    InvalidConfig,
    InvalidUrl,
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
    UnknownInstance,
    UsageError,
    remote_error,
)


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


@pytest.mark.parametrize("cls", [UsageError, InvalidUrl, InvalidConfig, UnknownInstance])
def test_usage_errors_are_no_http_errors(cls: type[UsageError]) -> None:
    exc = cls("give a URL")
    assert isinstance(exc, NeuropilError) and isinstance(exc, ValueError)
    assert not isinstance(exc, RemoteError | BadRequest | NotFound)
    assert str(exc) == "give a URL"


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
