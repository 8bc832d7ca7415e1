"""The one exception tree of neuropil.

::

    NeuropilError                    (500) every error neuropil raises on purpose
    ├── BadRequest                   (400) the request is malformed or breaks a rule
    │   ├── InvalidPath              (400) an asset path that DANDI would refuse
    │   ├── Unsupported              (400) a feature this version does not have yet
    │   ├── InvalidUrl               (400) client: not a URL/identifier form we understand
    │   ├── InvalidConfig            (400) client: a config file neuropil cannot use
    │   ├── InvalidHdf5              (400) index: bytes that cannot be indexed as HDF5
    │   │   ├── NotHdf5              (400) no HDF5 signature: not an HDF5 file at all
    │   │   ├── CorruptHdf5          (400) an HDF5 file that is truncated or damaged
    │   │   └── UnsupportedHdf5      (400) valid HDF5 using a feature the index cannot express
    │   └── InvalidIndex             (400) index: a refs dict that breaks the index format
    ├── NotAuthenticated             (401) a token is needed (or the one given is invalid)
    ├── PermissionDenied             (403) authenticated, but not allowed
    ├── NotFound                     (404) no such object (or not visible to the caller)
    │   └── UnknownInstance          (404) client: no archive instance of that name
    ├── MethodNotAllowed             (405) e.g. writing to a published version
    ├── Conflict                     (409) a unique rule would be broken
    │   └── BlobExists               (409) dedup: the archive already holds these bytes
    ├── RangeNotSatisfiable          (416) a byte range past the end of an object
    ├── Locked                       (423) the resource is busy (publishing)
    ├── StorageError                 (500) the blob store failed
    ├── RemoteError                  (any) a server answered a client request with an error
    └── StreamError                  (502) client: an answer that cannot be used as file bytes
        ├── RangeNotSupported        (502) client: a ranged GET answered with the whole object
        └── BlobChanged              (412) client: the object changed while it was being read

Every error carries an HTTP status and a message that says what to fix; ``str(exc)`` is
never empty. The API turns them into DANDI-shaped responses in one place
(:mod:`neuropil.api.errors`).
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


class InvalidUrl(BadRequest):
    """Client side: text that is none of the URL or identifier forms the client accepts."""


class InvalidConfig(BadRequest):
    """Client side: a configuration file (instances, tokens) that cannot be used."""


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


class UnknownInstance(NotFound):
    """Client side: an archive instance name that is neither built in nor configured."""


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


class StorageError(NeuropilError):
    status_code = 500


class RemoteError(NeuropilError):
    """A DANDI-API server (neuropil or another) answered with an error (client side)."""

    def __init__(self, message: str, *, status_code: int, url: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.url = url


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
