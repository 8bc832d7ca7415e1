"""The owners' mail when an embargo ends (issue 16), over a real ``neuropil serve`` and a real
SMTP server on 127.0.0.1: one message per owner with an address, asked for or at the end
date, a mail server that is down when the embargo ends, one with STARTTLS, a login and a
private CA, and no mail server at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from neuropil.db.engine import Database, sqlite_url
from neuropil.db.models import Job, JobState
from neuropil.db.types import utcnow
from tests.api.embargo_helpers import create_embargoed, set_end_date, wait_unembargoed
from tests.api.helpers import client, wait_for
from tests.support.server import ServerProcess, free_port
from tests.support.smtp import SmtpServer
from tests.support.tls import CertificateAuthority

MAIL_JOB = "mail.send"


def _user(server: ServerProcess, name: str, email: str, full_name: str = "") -> str:
    """An approved user with this e-mail address (``""``: none); returns its API key."""
    out = server.cli("users", "add", name, "--email", email, "--name", full_name or name)
    return out.stdout.strip().splitlines()[-1]


def _database(server: ServerProcess) -> Database:
    return Database(server.database_url or sqlite_url(server.data_dir / "neuropil.db"))


def _mail_jobs(server: ServerProcess) -> list[tuple[str, dict[str, Any]]]:
    """(state, payload) of each mail job, from the server's own database."""
    db = _database(server)
    try:
        with db.read() as s:
            jobs = s.scalars(sa.select(Job).where(Job.kind == MAIL_JOB).order_by(Job.id))
            return [(str(j.state), dict(j.payload)) for j in jobs]
    finally:
        db.dispose()


def _all_sent(server: ServerProcess, count: int) -> bool:
    """``count`` mail jobs, every one done: nothing more is on its way."""
    states = [state for state, _ in _mail_jobs(server)]
    return len(states) == count and all(s == JobState.DONE for s in states)


def _make_mail_due(server: ServerProcess) -> None:
    """Let the wait before the next try pass, without waiting for it."""
    db = _database(server)
    try:
        with db.write() as s:
            s.execute(
                sa.update(Job)
                .where(Job.kind == MAIL_JOB, Job.state == JobState.QUEUED)
                .values(run_after=utcnow() - timedelta(seconds=1))
            )
    finally:
        db.dispose()


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def test_each_owner_is_told_once_when_an_owner_ends_the_embargo(
    restartable_server: ServerProcess,
) -> None:
    server = restartable_server
    with SmtpServer() as smtp:
        server.extra_env.update(
            NEUROPIL_SMTP_URL=smtp.url, NEUROPIL_MAIL_FROM="Archive <archive@example.org>"
        )
        ada = _user(server, "ada", "ada@example.org", "Lovelace, Ada")
        _user(server, "bob", "bob@example.org")
        _user(server, "carl", "")  # an owner with no address is not told
        server.start()
        with client(server.api_url, ada) as owner:
            ident = create_embargoed(owner, "Mice in the dark")
            everyone = [{"username": u} for u in ("ada", "bob", "carl")]
            assert owner.put(f"dandisets/{ident}/users/", json=everyone).status_code == 200
            r = owner.post(f"dandisets/{ident}/unembargo/")
            assert r.status_code == 200, r.text
            assert wait_unembargoed(owner, ident)["embargo_status"] == "OPEN"
        wait_for(lambda: _all_sent(server, 2), timeout=60)
        received = smtp.received

    assert sorted(r.rcpt_tos[0] for r in received) == ["ada@example.org", "bob@example.org"]
    assert all(len(r.rcpt_tos) == 1 for r in received)
    by_address = {r.rcpt_tos[0]: r.message for r in received}
    msg = by_address["ada@example.org"]
    assert msg["From"] == "Archive <archive@example.org>"
    assert msg["To"] == "Ada Lovelace <ada@example.org>"
    assert msg["Subject"] == f"Dandiset NEUROPIL:{ident} is now open: Mice in the dark"
    assert msg["Date"] and msg["Message-ID"].endswith("@example.org>")
    assert msg["Message-ID"] != by_address["bob@example.org"]["Message-ID"]
    body = msg.get_content()
    assert body.startswith("Dear Ada Lovelace,")
    assert f'dandiset NEUROPIL:{ident}, "Mice in the dark", ended on {_today()}' in body
    assert "as ada asked" in body and "now open" in body
    assert f"{server.url}/dandiset/{ident}/draft" in body  # the archive as ada reached it
    assert by_address["bob@example.org"].get_content().startswith("Dear Bob Bob,")
    assert "outbound mail: through smtp://127.0.0.1" in server.log()


def _opened_by_owner(server: ServerProcess, token: str, name: str) -> str:
    """An embargoed dandiset its owner (``token``) then ends the embargo of; its id."""
    with client(server.api_url, token) as owner:
        ident = create_embargoed(owner, name)
        assert owner.post(f"dandisets/{ident}/unembargo/").status_code == 200
        assert wait_unembargoed(owner, ident)["embargo_status"] == "OPEN"
    return ident


def test_a_mail_server_that_is_down_delays_the_mail_not_the_unembargo(
    fresh_server: ServerProcess,
) -> None:
    server = fresh_server
    port = free_port()  # nothing listens there until later
    server.extra_env["NEUROPIL_SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    ada = _user(server, "ada", "ada@example.org")
    server.start()
    ident = _opened_by_owner(server, ada, "Down mail")

    def retry_queued() -> bool:
        jobs = _mail_jobs(server)
        return [(state, p.get("tries")) for state, p in jobs] == [
            (JobState.DONE, 0),
            (JobState.QUEUED, 1),
        ]

    wait_for(retry_queued, timeout=60)
    assert "trying again in 60 s" in server.log()
    with SmtpServer(port) as smtp:
        _make_mail_due(server)
        (got,) = smtp.wait_for(1)
        wait_for(lambda: _all_sent(server, 2), timeout=60)
        assert len(smtp.received) == 1
    assert got.rcpt_tos == ["ada@example.org"]
    assert f"NEUROPIL:{ident} is now open" in got.message["Subject"]


def test_starttls_with_a_private_ca_sends_once_the_ca_is_trusted(
    fresh_server: ServerProcess, tmp_path: Path
) -> None:
    server = fresh_server
    ca = CertificateAuthority.make(tmp_path / "ca")
    password = "s3cret pass"
    with SmtpServer(starttls=ca.server_context(), login=("archive", password)) as smtp:
        server.extra_env["NEUROPIL_SMTP_URL"] = smtp.url  # smtp+starttls://archive:...@
        ada = _user(server, "ada", "ada@example.org", "Lovelace, Ada")
        server.start()
        ident = _opened_by_owner(server, ada, "Private CA")

        # The system's CAs do not vouch for the server: nothing is sent, in clear or not.
        def retry_queued() -> bool:
            return [p.get("tries") for _, p in _mail_jobs(server)] == [0, 1]

        wait_for(retry_queued, timeout=60)
        assert smtp.received == []
        log = server.log()
        assert "its certificate is not trusted" in log and "NEUROPIL_SMTP_CA_FILE" in log
        assert password not in log

        # The administrator names the CA and restarts: the waiting mail goes, over TLS.
        server.extra_env["NEUROPIL_SMTP_CA_FILE"] = str(ca.cert_file)
        server.restart()
        _make_mail_due(server)
        (got,) = smtp.wait_for(1)
        wait_for(lambda: _all_sent(server, 2), timeout=60)
    assert got.tls and got.login == "archive"
    assert got.rcpt_tos == ["ada@example.org"]
    assert got.message["To"] == "Ada Lovelace <ada@example.org>"
    assert got.message["Subject"] == f"Dandiset NEUROPIL:{ident} is now open: Private CA"
    assert password not in server.log()


def test_at_the_end_date_without_a_mail_server_the_mail_is_a_file(
    fresh_server: ServerProcess,
) -> None:
    server = fresh_server
    public = "https://archive.example.org"
    server.extra_env.update(NEUROPIL_EMBARGO_CHECK_INTERVAL="1", NEUROPIL_PUBLIC_URL=public)
    ada = _user(server, "ada", "ada@example.org", "Lovelace, Ada")
    server.start()
    with client(server.api_url, ada) as owner:
        ident = create_embargoed(owner, "Ends today")
        set_end_date(server, ident, datetime.now(UTC).date())
        assert wait_unembargoed(owner, ident)["embargo_status"] == "OPEN"
    wait_for(lambda: _all_sent(server, 1), timeout=60)

    folder = server.data_dir / "mail"
    (path,) = [p for p in folder.iterdir() if not p.name.startswith(".")]
    msg = _parse(path)
    assert msg["To"] == "Ada Lovelace <ada@example.org>"
    assert msg["From"] == "neuropil@archive.example.org"
    assert msg["Subject"] == f"Dandiset NEUROPIL:{ident} is now open: Ends today"
    body = msg.get_content()
    assert "on its embargo end date" in body
    assert f"{public}/dandiset/{ident}/draft" in body
    log = server.log()
    assert "NEUROPIL_SMTP_URL is not set; messages are written to" in log
    assert f"wrote {msg['Subject']!r}" in log


def _parse(path: Path) -> EmailMessage:
    parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed
