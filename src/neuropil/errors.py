"""The one exception tree of neuropil.

::

    NeuropilError                    (500) every error neuropil raises on purpose
    ├── BadRequest                   (400) the request is malformed or breaks a rule
    │   ├── SchemaErrors             (400) metadata that does not fit the schema, by field
    │   ├── InvalidPath              (400) an asset path that DANDI would refuse
    │   ├── Unsupported              (400) a feature this version does not have yet
    │   ├── InvalidHdf5              (400) index: bytes that cannot be indexed as HDF5
    │   │   ├── NotHdf5              (400) no HDF5 signature: not an HDF5 file at all
    │   │   ├── CorruptHdf5          (400) an HDF5 file that is truncated or damaged
    │   │   └── UnsupportedHdf5      (400) valid HDF5 using a feature the index cannot express
    │   └── InvalidIndex             (400) index: a refs dict that breaks the index format
    ├── NotAuthenticated             (401) a token is needed (or the one given is invalid)
    ├── PermissionDenied             (403) authenticated, but not allowed
    ├── NotFound                     (404) no such object (or not visible to the caller)
    ├── MethodNotAllowed             (405) e.g. writing to a published version
    ├── Conflict                     (409) a unique rule would be broken
    │   └── BlobExists               (409) dedup: the archive already holds these bytes
    ├── PayloadTooLarge              (413) a request body or field over its limit
    ├── RangeNotSatisfiable          (416) a byte range past the end of an object
    ├── Locked                       (423) the resource is busy (publishing)
    ├── TooManyRequests              (429) slow down: too many failed attempts (Retry-After)
    ├── StorageError                 (500) the blob store failed
    ├── Overloaded                   (503) the server is busy right now (Retry-After)
    ├── RemoteError                  (any) client: a server answered with an error (0: no answer)
    │   ├── RemoteBadRequest         (400, 422) refused as malformed     (also a BadRequest)
    │   ├── RemoteForbidden          (401, 403) refused: who you are     (also a PermissionDenied)
    │   ├── RemoteNotFound           (404, 410) no such object, or hidden (also a NotFound)
    │   ├── RemoteConflict           (409) a unique rule would be broken (also a Conflict)
    │   ├── RemoteLocked             (423) busy, e.g. publishing         (also a Locked)
    │   └── RemoteServerError        (5xx) the server failed (after retries, where safe)
    ├── StreamError                  (502) client: an answer that cannot be used as file bytes
    │   ├── RangeNotSupported        (502) client: a ranged GET answered with the whole object
    │   └── BlobChanged              (412) client: the object changed while it was being read
    └── UsageError                   (—)   client: the caller's mistake or a local condition
        ├── InvalidUrl               (—)   not a URL/identifier form we understand, or elsewhere
        ├── InvalidConfig            (—)   a config file neuropil cannot use
        ├── UnknownInstance          (—)   no archive instance of that name
        ├── LocalFileError           (—)   a local file or folder that cannot be used as given
        ├── WrongAssetKind           (—)   a Zarr where a file is needed, or a file for a Zarr
        └── UnsupportedOperation     (—)   what the client cannot do (yet) with this input

Every error has a message that says what to fix; ``str(exc)`` is never empty. The server's
errors carry the HTTP status they are answered with, and the API turns them into DANDI-shaped
responses in one place (:mod:`neuropil.api.errors`). On the client, a :class:`RemoteError`
carries the status the server answered; its subclass names what the status means, chosen in
one place (:func:`remote_error`, called by :mod:`neuropil.http.transport`), and each is also
the server-side error of the same meaning, so ``except NotFound`` catches a remote 404 too.
A :class:`UsageError` (also a ``ValueError``) is no HTTP error at all: the client found it
itself, so it sets no status of its own (``—``: a server meeting one, which would be a bug
there, answers with the root's 500), and no ``except`` for an HTTP meaning (``BadRequest``,
``NotFound``, ``RemoteError``) catches it.
"""

from __future__ import annotations


class NeuropilError(Exception):
    """Root of all errors neuropil raises deliberately."""

    status_code: int = 500
    #: DANDI answers its own domain errors with a bare JSON string and framework errors with
    #: ``{"detail": ...}``; we keep both shapes so clients that inspect bodies keep working.
    detail_shape: bool = False

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        if not message:
            raise ValueError("a NeuropilError needs a message")
        super().__init__(message)
        self.message = message
        self.headers = headers or {}

    def __str__(self) -> str:
        return self.message


class BadRequest(NeuropilError):
    status_code = 400


class SchemaErrors(BadRequest):
    """Metadata that does not fit the schema: ``errors`` lists ``{"field", "message"}``, one
    per problem, so clients can show them by field (the body is ``{"detail", "errors"}``)."""

    detail_shape = True

    def __init__(self, message: str, errors: list[dict[str, str]]) -> None:
        super().__init__(message)
        self.errors = errors


class InvalidPath(BadRequest):
    pass


class Unsupported(BadRequest):
    """A feature this version does not have yet (Zarr assets, embargoed dandisets)."""


class InvalidHdf5(BadRequest):
    """Index builder: the input cannot be turned into an index."""


class NotHdf5(InvalidHdf5):
    """Index builder: the input has no HDF5 signature."""


class CorruptHdf5(InvalidHdf5):
    """Index builder: an HDF5 file that is truncated or whose structures cannot be read."""


class UnsupportedHdf5(InvalidHdf5):
    """Index builder: an HDF5 feature (filter, link, type) that the index cannot express."""


class InvalidIndex(BadRequest):
    """Index reader: a refs dict that does not follow the ``.lindi.json`` format."""


class NotAuthenticated(NeuropilError):
    status_code = 401
    detail_shape = True


class PermissionDenied(NeuropilError):
    status_code = 403
    detail_shape = True


class NotFound(NeuropilError):
    status_code = 404
    detail_shape = True


class MethodNotAllowed(NeuropilError):
    status_code = 405
    detail_shape = True


class Conflict(NeuropilError):
    status_code = 409


class BlobExists(Conflict):
    """Raised by upload initialization when a blob with the same dandi-etag exists."""

    def __init__(self, blob_id: str) -> None:
        super().__init__("Blob already exists.", headers={"Location": blob_id})
        self.blob_id = blob_id


class PayloadTooLarge(NeuropilError):
    """A request body (or one field of it) larger than the server accepts."""

    status_code = 413
    detail_shape = True


class RangeNotSatisfiable(NeuropilError):
    status_code = 416

    def __init__(self, size: int) -> None:
        super().__init__(
            f"Requested range is outside the object ({size} bytes).",
            headers={"Content-Range": f"bytes */{size}"},
        )
        self.size = size


class Locked(NeuropilError):
    status_code = 423


class TooManyRequests(NeuropilError):
    """Too many failed attempts (sign-in); ``retry_after`` seconds until the next try."""

    status_code = 429
    detail_shape = True

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, retry_after))})
        self.retry_after = max(1, retry_after)


class StorageError(NeuropilError):
    status_code = 500


class Overloaded(NeuropilError):
    """The server is at capacity for this kind of work (password hashing); try again soon."""

    status_code = 503
    detail_shape = True

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, retry_after))})
        self.retry_after = max(1, retry_after)


class RemoteError(NeuropilError):
    """A DANDI-API server (neuropil or another) answered with an error (client side).

    ``status_code`` is the status of the answer, 0 when there was no usable answer (the
    connection failed, too many redirects). Build one with :func:`remote_error`, which picks
    the subclass that says what the status means."""

    def __init__(
        self, message: str, *, status_code: int, url: str = "", method: str = "", detail: str = ""
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.url = url
        #: The request's method, and the server's own words (its ``detail``), when known:
        #: what a command line shows a person instead of the raw ``message``.
        self.method = method
        self.detail = detail


class RemoteBadRequest(RemoteError, BadRequest):
    """The server refused the request as malformed or breaking one of its rules (400, 422)."""


class RemoteForbidden(RemoteError, PermissionDenied):
    """The server refused the request for who is asking: no token, a bad one, or one
    without the right (401, 403)."""


class RemoteNotFound(RemoteError, NotFound):
    """The server has no such object, or does not show it to this caller (404, 410)."""


class RemoteConflict(RemoteError, Conflict):
    """The request would break a unique rule on the server (409)."""


class RemoteLocked(RemoteError, Locked):
    """The object is busy on the server, e.g. a Dandiset being published (423)."""


class RemoteServerError(RemoteError):
    """The server failed (5xx); the transport retried first where that is safe."""


#: What an error status means, for the statuses that have a meaning of their own.
_REMOTE_BY_STATUS: dict[int, type[RemoteError]] = {
    400: RemoteBadRequest,
    401: RemoteForbidden,
    403: RemoteForbidden,
    404: RemoteNotFound,
    409: RemoteConflict,
    410: RemoteNotFound,
    422: RemoteBadRequest,
    423: RemoteLocked,
}


def remote_error(
    message: str, *, status_code: int, url: str = "", method: str = "", detail: str = ""
) -> RemoteError:
    """The :class:`RemoteError` for a server's answer with ``status_code``: the subclass
    naming its meaning, or RemoteError itself for statuses without one (429, 0, ...)."""
    cls = _REMOTE_BY_STATUS.get(status_code)
    if cls is None:
        cls = RemoteServerError if 500 <= status_code < 600 else RemoteError
    return cls(message, status_code=status_code, url=url, method=method, detail=detail)


class StreamError(NeuropilError):
    """Client side (:mod:`neuropil.stream`): a server's answer to a ranged read is not the
    bytes asked for (wrong ``Content-Range``, wrong length). Never retried: a server that
    answers wrongly once is not trusted to be right the next time."""

    status_code = 502

    def __init__(self, message: str, *, url: str = "") -> None:
        super().__init__(message)
        self.url = url


class RangeNotSupported(StreamError):
    """A ranged GET was answered with ``200`` and the whole object: the server (or a proxy
    in between) ignores ``Range``, so random access would mean downloading everything."""


class BlobChanged(StreamError):
    """The ``ETag`` or size of an object differs from what earlier answers (or a cache)
    said: the bytes already read and the bytes to come may belong to different objects."""

    status_code = 412


class UsageError(NeuropilError, ValueError):
    """Client side: the caller's mistake (an argument, a URL, a configuration file, an
    instance name) or a local condition (a local file), found by the client itself, not
    refused by a server. Not an HTTP error: it sets no ``status_code`` (no server raises
    one), and catching :class:`RemoteError` or a status-named class never catches one. A
    ``ValueError`` too, as Python's own errors for a value that cannot be used are."""


class InvalidUrl(UsageError):
    """Text that is none of the URL or identifier forms the client accepts, or a URL that
    points somewhere it cannot be used (another archive, not http(s))."""


class InvalidConfig(UsageError):
    """A configuration file (instances, tokens) that cannot be used."""


class UnknownInstance(UsageError):
    """An archive instance name that is neither built in nor configured."""


class LocalFileError(UsageError):
    """A local file or folder that cannot be used as given: no ``dandiset.yaml`` in or above
    it, one naming another Dandiset, unreadable, outside the Dandiset, a target that exists."""


class WrongAssetKind(UsageError):
    """An asset of another kind than the call needs: a Zarr where an HDF5/NWB file is
    needed, or a file (or a record naming no Zarr URL) where a Zarr is."""


class UnsupportedOperation(UsageError):
    """Something the client cannot do (yet) with this input: listing a remote Zarr's keys,
    a Zarr asset as one file, NWB files that link external media."""
