"""DANDI's multipart upload protocol for one blob: initialize, part PUTs, complete, validate.

The one implementation of the protocol (``neuropil upload``, :func:`upload_blob` and the
demo all go through :class:`BlobSender`). Where the protocol leaves room, it reads answers
as the DANDI Archive and the official client do (dandi-archive-api.md §3.5, §5):

* a ``409`` from initialize means the archive has the bytes: its ``Location`` header is the
  existing blob's id (not a URL), and nothing is sent;
* the store's answer to the completion POST must be XML; when it has an ``<ETag>`` (any
  namespace, quotes stripped) that must be the file's dandi-etag, and when it has none the
  ``validate`` step checks the object instead.

Beyond the official client:

* parts are streamed from disk (no part-sized buffers) and PUT in parallel; a part whose
  answered ETag is not its md5 is sent again (the transport already retries 5xx and broken
  connections);
* before initializing, the client asks a neuropil server for its own unfinished upload of
  the same content (``GET /api/uploads/?dandiset=&etag=``) and PUTs only the parts the
  store lacks. Servers without those endpoints (the DANDI Archive) simply get a new upload.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuropil.client.digest_cache import Digest, compute_digest
from neuropil.client.events import ByteCounter, Emitter
from neuropil.core.digests import ETAG_ALGORITHM, parts_for_size
from neuropil.errors import NeuropilError
from neuropil.http.transport import Transport

log = logging.getLogger(__name__)

CHUNK = 1 << 20
#: Times a part is sent when the store's ETag for it is not the md5 of what was read.
PART_TRIES = 3
#: A one-part blob has nothing to resume: asking would cost a request and save nothing.
RESUME_MIN_PARTS = 2


class BlobUploadError(NeuropilError):
    """This file's bytes could not be uploaded; the message says why."""

    status_code = 400


class Aborted(Exception):
    """The run is being stopped (Ctrl-C): stop sending at the next chunk."""


@dataclass(frozen=True)
class BlobResult:
    """What sending one blob took: its id, and whether bytes were sent, deduplicated or resumed."""

    blob_id: str
    #: The archive already had these bytes (initialize answered 409): none were sent.
    deduplicated: bool = False
    #: Bytes an earlier, interrupted run had already stored.
    resumed: int = 0
    #: Parts PUT by this run.
    parts_sent: int = 0


@dataclass(frozen=True)
class _Part:
    number: int
    offset: int
    size: int
    url: str
    #: The store's md5 of a part that already arrived (resumed uploads only).
    stored_md5: str | None = None


@dataclass(frozen=True)
class _Upload:
    upload_id: str
    parts: list[_Part]


class _PartBody:
    """A part's bytes, read from disk chunk by chunk as httpx sends them.

    Re-iterable, so a retried request re-reads the file. Nothing is hashed while sending:
    the store's ETag is checked against the md5 from the digest, and only a mismatch reads
    the part again (:func:`_disk_md5`) to tell a changed file from a damaged transfer.
    """

    def __init__(
        self, path: Path, part: _Part, counter: ByteCounter, abort: threading.Event
    ) -> None:
        self._path = path
        self._part = part
        self._counter = counter
        self._abort = abort

    def __iter__(self) -> Iterator[bytes]:
        pos, stop = self._part.offset, self._part.offset + self._part.size
        with self._path.open("rb") as f:
            while pos < stop:
                if self._abort.is_set():
                    raise Aborted("interrupted")
                chunk = os.pread(f.fileno(), min(CHUNK, stop - pos), pos)
                if not chunk:
                    raise BlobUploadError(f"{self._path} became shorter while it was uploaded.")
                pos += len(chunk)
                yield chunk
                self._counter.add(len(chunk))  # counted once httpx has taken the chunk


def _disk_md5(path: Path, part: _Part) -> str | None:
    """The md5 of the part's bytes as they are on disk now (None: the file is shorter)."""
    md5 = hashlib.md5()
    pos, stop = part.offset, part.offset + part.size
    with path.open("rb") as f:
        while pos < stop:
            chunk = os.pread(f.fileno(), min(CHUNK, stop - pos), pos)
            if not chunk:
                return None
            md5.update(chunk)
            pos += len(chunk)
    return md5.hexdigest()


class ResumeProbe:
    """Whether the server has neuropil's resume endpoints; learnt on first use, per run."""

    def __init__(self) -> None:
        self.available = True


class BlobSender:
    """Uploads blobs to one dandiset; one instance serves all files of a run."""

    def __init__(
        self,
        transport: Transport,
        *,
        dandiset_id: str,
        part_jobs: int,
        abort: threading.Event,
        probe: ResumeProbe | None = None,
    ) -> None:
        self.transport = transport
        self.dandiset_id = dandiset_id
        self.part_jobs = max(1, part_jobs)
        self.abort = abort
        self.probe = probe or ResumeProbe()

    def send(
        self,
        path: Path,
        digest: Digest,
        counter: ByteCounter,
        on_start: Callable[[int], None] = lambda resumed: None,
    ) -> BlobResult:
        """Make sure the archive holds ``path``'s bytes; returns the blob and what it took.

        ``on_start(resumed_bytes)`` is called once bytes are about to be sent (not on dedup).
        """
        upload = self._resumable(digest) if len(digest.part_md5s) >= RESUME_MIN_PARTS else None
        if upload is None:
            started = self._initialize(digest)
            if isinstance(started, str):
                return BlobResult(started, deduplicated=True)
            upload = started
        self._check_layout(upload, digest)
        todo = [p for p in upload.parts if p.stored_md5 != digest.part_md5s[p.number - 1]]
        resumed = sum(p.size for p in upload.parts) - sum(p.size for p in todo)
        on_start(resumed)
        self._put_parts(path, todo, digest, counter)
        counter.flush()
        blob_id = self._finish(upload, digest)
        return BlobResult(blob_id, resumed=resumed, parts_sent=len(todo))

    # -- starting or resuming ------------------------------------------------------------------

    def _initialize(self, digest: Digest) -> _Upload | str:
        """A new upload, or the existing blob's id when the archive has the bytes (409)."""
        r = self.transport.request(
            "POST",
            "uploads/initialize/",
            ok=(409,),
            json={
                "contentSize": digest.size,
                "digest": {"algorithm": ETAG_ALGORITHM, "value": digest.etag},
                "dandiset": self.dandiset_id,
            },
        )
        if r.status_code == 409:
            blob_id = str(r.headers.get("location", "")).strip()
            if not blob_id:
                raise BlobUploadError("initialize answered 409 without a Location (blob id).")
            return blob_id
        body = r.json()
        return _Upload(str(body["upload_id"]), _parts(body["parts"], digest.size, stored=False))

    def _resumable(self, digest: Digest) -> _Upload | None:
        """This user's unfinished upload of the same content to this dandiset, if any."""
        if not self.probe.available:
            return None
        r = self.transport.request(
            "GET",
            "uploads/",
            params={"dandiset": self.dandiset_id, "etag": digest.etag},
            ok=(400, 401, 403, 404, 405),
        )
        if r.status_code in (404, 405):
            self.probe.available = False  # not a neuropil server: DANDI's protocol only
            return None
        if r.status_code != 200:
            return None  # initialize will say what is wrong, in DANDI's words
        for item in r.json().get("results", []):
            if item.get("size") != digest.size:
                continue
            detail = self.transport.request("GET", f"uploads/{item['upload_id']}/", ok=(403, 404))
            if detail.status_code == 200:
                body = detail.json()
                log.info("resuming upload %s of %s", body["upload_id"], digest.etag)
                parts = _parts(body["parts"], digest.size, stored=True)
                return _Upload(str(body["upload_id"]), parts)
        return None

    @staticmethod
    def _check_layout(upload: _Upload, digest: Digest) -> None:
        """The server's parts must be dandi-etag's parts, or the etag cannot come out right."""
        want = [(p.number, p.size) for p in parts_for_size(digest.size)]
        got = sorted((p.number, p.size) for p in upload.parts)
        if got != want:
            raise BlobUploadError(
                f"The server split the upload into parts {got[:3]}... but the dandi-etag "
                f"needs {want[:3]}... ({len(want)} parts); the server is not DANDI-compatible."
            )

    # -- sending parts ----------------------------------------------------------------------

    def _put_parts(
        self, path: Path, parts: list[_Part], digest: Digest, counter: ByteCounter
    ) -> None:
        if len(parts) <= 1 or self.part_jobs == 1:
            for part in parts:
                self._put_part(path, part, digest.part_md5s[part.number - 1], counter)
            return
        with ThreadPoolExecutor(max_workers=min(self.part_jobs, len(parts))) as pool:
            futures = [
                pool.submit(self._put_part, path, p, digest.part_md5s[p.number - 1], counter)
                for p in parts
            ]
            _first_error(futures)

    def _put_part(self, path: Path, part: _Part, md5: str, counter: ByteCounter) -> None:
        """PUT one part until the store's ETag is its md5 (at most :data:`PART_TRIES`)."""
        answered = ""
        for _ in range(PART_TRIES):
            body = _PartBody(path, part, counter, self.abort)
            r = self.transport.request(
                "PUT",
                part.url,
                auth=False,  # the URL is signed; a token must not leak to an object store
                content=body,
                headers={"Content-Length": str(part.size)},  # S3 refuses chunked bodies
            )
            answered = r.headers.get("etag", "").strip('"')
            if answered == md5:
                return
            if _disk_md5(path, part) != md5:
                raise BlobUploadError(
                    f"{path} changed while it was uploaded (part {part.number} no longer has "
                    "the content that was hashed); re-run the upload."
                )
            log.warning(
                "part %d of %s: ETag %r is not its md5 %s", part.number, path, answered, md5
            )
        raise BlobUploadError(
            f"The store stored part {part.number} with ETag {answered!r} instead of its md5 {md5} "
            f"{PART_TRIES} times; the connection or the store corrupts data."
        )

    # -- finishing ----------------------------------------------------------------------------

    def _finish(self, upload: _Upload, digest: Digest) -> str:
        parts = [
            {"part_number": p.number, "size": p.size, "etag": digest.part_md5s[p.number - 1]}
            for p in sorted(upload.parts, key=lambda p: p.number)
        ]
        fin = self.transport.post_json(f"uploads/{upload.upload_id}/complete/", {"parts": parts})
        r = self.transport.request("POST", fin["complete_url"], auth=False, content=fin["body"])
        etag = _xml_etag(r.text)
        if etag is not None and etag != digest.etag:
            raise BlobUploadError(
                f"The store assembled the parts into ETag {etag}, not the file's {digest.etag}."
            )
        v = self.transport.request("POST", f"uploads/{upload.upload_id}/validate/", ok=(409,))
        if v.status_code == 409:
            # The DANDI Archive's answer when an identical blob was registered meanwhile:
            # initialize again, which now answers 409 with that blob's id.
            again = self._initialize(digest)
            if isinstance(again, str):
                return again
            raise BlobUploadError("validate answered 409, but the blob is not in the archive.")
        return str(v.json()["blob_id"])


def upload_blob(
    transport: Transport,
    *,
    dandiset_id: str,
    path: Path,
    digest: Digest | None = None,
    part_jobs: int = 4,
) -> BlobResult:
    """Make sure the archive holds ``path``'s bytes, for ``dandiset_id``; one file, no progress.

    ``digest`` saves reading the file when the caller has it already.
    """
    digest = digest or compute_digest(path, path.stat().st_size)
    sender = BlobSender(
        transport, dandiset_id=dandiset_id, part_jobs=part_jobs, abort=threading.Event()
    )
    return sender.send(path, digest, ByteCounter(str(path), Emitter(None)))


def _parts(items: list[dict[str, Any]], size: int, *, stored: bool) -> list[_Part]:
    """The server's part list; offsets come from dandi-etag's layout (checked later)."""
    offsets = {p.number: p.offset for p in parts_for_size(size)}
    out = []
    for i in items:
        number = int(i["part_number"])
        md5 = i.get("etag") if stored and i.get("uploaded") else None
        out.append(
            _Part(
                number,
                offsets.get(number, -1),
                int(i["size"]),
                str(i["upload_url"]),
                str(md5).strip('"') if md5 else None,
            )
        )
    return out


def _xml_etag(text: str) -> str | None:
    """The ``<ETag>`` of a CompleteMultipartUpload answer, namespace-agnostic."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise BlobUploadError(f"The store's completion answer is not XML: {exc}.") from exc
    for el in root.iter():
        if el.tag.rsplit("}", 1)[-1] == "ETag":
            return (el.text or "").strip().strip('"')
    return None


def _first_error(futures: list[Future[None]]) -> None:
    """Wait for all parts (the ones that arrive help a later resume), then raise the first
    failure."""
    error: BaseException | None = None
    for fut in as_completed(futures):
        exc = fut.exception()
        if exc is not None and error is None:
            error = exc
    if error is not None:
        raise error
