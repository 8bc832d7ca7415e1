"""Signed, expiring URLs for neuropil's stand-in object-store endpoints."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl

import pytest

from neuropil.core.signing import EXPIRES_PARAM, SIGNATURE_PARAM, UrlSigner

SECRET = b"0123456789abcdef-test-secret"
PATH = "/store/blobs/abc/def/abcdef00-0000-4000-8000-000000000000"
PARAMS = {"uploadId": "7f1c", "partNumber": "3"}


@pytest.fixture
def signer() -> UrlSigner:
    return UrlSigner(SECRET)


def signed(signer: UrlSigner, method: str = "PUT", expires_in: int = 600) -> dict[str, str]:
    return dict(parse_qsl(signer.sign(method, PATH, PARAMS, expires_in), strict_parsing=True))


def test_valid(signer: UrlSigner) -> None:
    params = signed(signer)
    assert set(params) == {*PARAMS, EXPIRES_PARAM, SIGNATURE_PARAM}
    assert signer.verify("PUT", PATH, params) is None
    assert signer.verify("put", PATH, params) is None  # methods compare case-insensitively
    assert UrlSigner(SECRET).verify("PUT", PATH, params) is None  # another process, same secret


def test_awkward_values_round_trip(signer: UrlSigner) -> None:
    path = "/store/zarr/données/a b&c=d"
    values = {"response-content-disposition": 'attachment; filename="x y.nwb"', "é": "&=?"}
    params = dict(parse_qsl(signer.sign("GET", path, values, 60)))
    assert signer.verify("GET", path, params) is None


def flip_last(text: str) -> str:
    return text[:-1] + ("1" if text[-1] == "0" else "0")


Params = dict[str, str]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda p: {**p, "partNumber": "4"}, id="changed-param"),
        pytest.param(lambda p: {**p, "extra": "1"}, id="added-param"),
        pytest.param(lambda p: {k: v for k, v in p.items() if k != "uploadId"}, id="removed-param"),
        pytest.param(
            lambda p: {**p, EXPIRES_PARAM: str(int(p[EXPIRES_PARAM]) + 3600)}, id="extended"
        ),
        pytest.param(lambda p: {**p, SIGNATURE_PARAM: flip_last(p[SIGNATURE_PARAM])}, id="sig"),
        pytest.param(lambda p: {**p, SIGNATURE_PARAM: "x"}, id="short-signature"),
    ],
)
def test_tampered(signer: UrlSigner, tamper: Callable[[Params], Params]) -> None:
    params = tamper(signed(signer))
    assert signer.verify("PUT", PATH, params) == "The URL signature does not match."


def test_other_method_path_or_secret(signer: UrlSigner) -> None:
    params = signed(signer)
    mismatch = "The URL signature does not match."
    assert signer.verify("POST", PATH, params) == mismatch
    assert signer.verify("PUT", PATH + "x", params) == mismatch
    assert UrlSigner(b"another secret of 16+ bytes").verify("PUT", PATH, params) == mismatch


def test_expired(signer: UrlSigner) -> None:
    params = signed(signer, expires_in=-5)
    assert signer.verify("PUT", PATH, params) == "The signed URL has expired; request a new one."


@pytest.mark.parametrize("missing", [SIGNATURE_PARAM, EXPIRES_PARAM])
def test_missing_params(signer: UrlSigner, missing: str) -> None:
    params = {k: v for k, v in signed(signer).items() if k != missing}
    assert signer.verify("PUT", PATH, params) == "The URL is not signed."
    assert signer.verify("PUT", PATH, dict(PARAMS)) == "The URL is not signed."
    assert signer.verify("PUT", PATH, {**params, missing: ""}) == "The URL is not signed."


def test_short_secret_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        UrlSigner(b"too short")
