"""An S3-compatible server for tests: ``NEUROPIL_TEST_S3_URL``'s, or ``moto_server`` on loopback.

With ``NEUROPIL_TEST_S3_URL`` set (an endpoint such as ``http://127.0.0.1:9000``, credentials
in the standard ``AWS_*`` variables) the tests run against that server: MinIO, Ceph, a real
bucket's region endpoint. Otherwise a ``moto_server`` process is started on a free loopback
port and stopped at the end. Either way the tests speak plain S3 to it and nothing else.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from neuropil.storage.s3 import make_client
from tests.support.server import free_port

EXTERNAL_ENV = "NEUROPIL_TEST_S3_URL"
#: The AWS account of an external server's bucket, for the embargo policy's exception.
ACCOUNT_ENV = "NEUROPIL_TEST_S3_ACCOUNT"
#: moto keeps objects up to this size in memory before spilling them to a temporary file.
MOTO_BUFFER = str(16 << 20)
#: Credentials moto accepts (it checks none); an external server's come from the environment.
MOTO_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "neuropil-test",
    "AWS_SECRET_ACCESS_KEY": "neuropil-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass
class S3Server:
    """Where the server is and how to reach it; ``log_path`` only for a moto process."""

    endpoint: str
    credentials: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None

    @property
    def moto(self) -> bool:
        """Whether this is the moto process started here (not ``NEUROPIL_TEST_S3_URL``'s)."""
        return self.log_path is not None

    def env(self) -> dict[str, str]:
        """The standard AWS variables that point boto3 (and ``neuropil serve``) here."""
        return {"AWS_ENDPOINT_URL_S3": self.endpoint, **self.credentials}

    def client(self) -> Any:
        creds = self.credentials
        return make_client(
            endpoint_url=self.endpoint,
            aws_access_key_id=creds.get("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=creds.get("AWS_SECRET_ACCESS_KEY"),
            region_name=creds.get("AWS_DEFAULT_REGION"),
        )

    def new_bucket(self, client: Any | None = None) -> str:
        name = f"neuropil-test-{uuid.uuid4().hex[:16]}"
        client = client or self.client()
        region = client.meta.region_name
        where = {} if region in (None, "us-east-1") else {"LocationConstraint": region}
        client.create_bucket(Bucket=name, **({"CreateBucketConfiguration": where} if where else {}))
        return name

    def allow_public_read(self, bucket: str, prefix: str) -> None:
        """Let anyone read the objects under ``prefix``, as DANDI's bucket does: the unsigned
        object URLs (``contentUrl``, an index's) then work."""
        statement = {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/{prefix}/*",
        }
        policy = {"Version": "2012-10-17", "Statement": [statement]}
        self.client().put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))

    def apply_embargo_policy(self, bucket: str, prefix: str) -> None:
        """docs/deployment.md's bucket policy: anyone reads ``prefix/blobs/``, nobody without
        credentials reads an object tagged ``embargoed=true``. On AWS the denial spares the
        bucket's own account (``NEUROPIL_TEST_S3_ACCOUNT``), whose credentials sign the
        presigned URLs; a MinIO bucket policy governs anonymous requests only."""
        self.client().put_bucket_policy(
            Bucket=bucket,
            Policy=json.dumps(embargo_policy(bucket, prefix, os.environ.get(ACCOUNT_ENV))),
        )

    def log(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")


def embargo_policy(bucket: str, prefix: str, account: str | None = None) -> dict[str, Any]:
    """The bucket policy of docs/deployment.md (keep the two alike)."""
    deny_if: dict[str, dict[str, str]] = {
        "StringEquals": {"s3:ExistingObjectTag/embargoed": "true"}
    }
    if account:
        deny_if["StringNotEquals"] = {"aws:PrincipalAccount": account}
    statements = [
        {
            "Sid": "PublicBlobs",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/{prefix}/blobs/*",
        },
        {
            "Sid": "NoAnonymousEmbargoedObjects",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/{prefix}/*",
            "Condition": deny_if,
        },
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def _external() -> S3Server | None:
    url = os.environ.get(EXTERNAL_ENV)
    if not url:
        return None
    names = (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_DEFAULT_REGION",
    )
    return S3Server(url.rstrip("/"), {k: os.environ[k] for k in names if k in os.environ})


@contextmanager
def s3_server(log_dir: Path, *, min_part_size: int | None = None) -> Iterator[S3Server]:
    """The external server, or a moto process for the duration of the block.

    ``min_part_size`` lowers the size S3 asks of every part but the last (5 MiB) on a moto
    server; an external server keeps its own rules.
    """
    external = _external()
    if external is not None:
        yield external
        return
    port = free_port()
    env = {**os.environ, **MOTO_CREDENTIALS, "MOTO_S3_DEFAULT_KEY_BUFFER_SIZE": MOTO_BUFFER}
    if min_part_size is not None:
        env["S3_UPLOAD_PART_MIN_SIZE"] = str(min_part_size)
    log_path = log_dir / f"moto-{port}.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = S3Server(f"http://127.0.0.1:{port}", dict(MOTO_CREDENTIALS), log_path)
    try:
        _wait_until_up(server, proc)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_until_up(server: S3Server, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto_server exited with {proc.returncode}:\n{server.log()}")
        try:
            httpx.get(server.endpoint, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise TimeoutError(f"moto_server did not start:\n{server.log()}")


def accepts_small_parts(server: S3Server, bucket: str) -> bool:
    """Whether the server completes an upload whose first part is 1 byte (S3 refuses it)."""
    client = server.client()
    key = f"probe-{uuid.uuid4().hex}"
    mp = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    etags = [
        client.upload_part(Bucket=bucket, Key=key, UploadId=mp, PartNumber=n, Body=b"x")["ETag"]
        for n in (1, 2)
    ]
    parts = [{"PartNumber": n, "ETag": e} for n, e in zip((1, 2), etags, strict=True)]
    try:
        client.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=mp, MultipartUpload={"Parts": parts}
        )
    except client.exceptions.ClientError:
        client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=mp)
        return False
    client.delete_object(Bucket=bucket, Key=key)
    return True
