"""Outbound mail (``neuropil.services.mail``) against a real SMTP server on 127.0.0.1, through
the real job queue on a real SQLite file: the message as built, delivery, the tries after a
mail server failed, and the ``.eml`` files of an archive with no mail server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from email import message_from_bytes, policy
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from neuropil.config import Settings
from neuropil.db.migrate import upgrade
from neuropil.db.models import Job, JobState
from neuropil.db.types import utcnow
from neuropil.jobs.protocol import PermanentJobError
from neuropil.jobs.worker import Workers
from neuropil.services import auth, mail
from neuropil.services.context import Context, make_context
from neuropil.services.dandisets import create_dandiset, get_dandiset_row
from neuropil.services.handlers import job_handlers
from tests.support.server import free_port
from tests.support.smtp import SmtpServer

MAIL = mail.Mail(
    to_name="Ada Lovelace",
    to_address="ada@example.org",
    subject="Dandiset NEUROPIL:000007 is now open: Ünïcode\nname",
    body="Dear Ada,\n\nIt is open. Caf\u00e9, and a lone surrogate: \ud800.\n",
    key="embargo-ended.000007.3",
)


def _context(tmp_path: Path, **settings: str) -> Context:
    ctx = make_context(Settings(data_dir=tmp_path / "data", storage="memory", **settings))
    upgrade(ctx.db)
    return ctx


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


def _send(ctx: Context, message: mail.Mail = MAIL) -> int:
    """Queue ``message`` and run the jobs that are due, as a worker would; returns how many."""
    with ctx.db.write() as s:
        mail.queue(ctx, s, message)
    return _run_due(ctx)


def _run_due(ctx: Context) -> int:
    runner = ctx.jobs.runner(job_handlers(ctx), concurrency=1)
    assert isinstance(runner, Workers)
    return runner.run_pending()


def _mail_jobs(ctx: Context) -> list[Job]:
    with ctx.db.read() as s:
        return list(s.scalars(sa.select(Job).where(Job.kind == mail.JOB).order_by(Job.id)))


def _make_due(ctx: Context) -> None:
    """Let the time before the next try pass, without waiting for it."""
    with ctx.db.write() as s:
        s.execute(sa.update(Job).values(run_after=utcnow() - timedelta(seconds=1)))


# -- the message ------------------------------------------------------------------------------
def test_the_message_has_proper_headers(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, mail_from="Archive <archive@lab.example.org>")
    msg = mail.build(settings, MAIL)
    parsed = message_from_bytes(msg.as_bytes(), policy=policy.default)
    assert parsed["From"] == "Archive <archive@lab.example.org>"
    assert parsed["To"] == "Ada Lovelace <ada@example.org>"
    assert parsed["Subject"] == "Dandiset NEUROPIL:000007 is now open: Ünïcode name"
    assert parsed["Message-ID"] == "<embargo-ended.000007.3@lab.example.org>"
    assert abs(parsedate_to_datetime(parsed["Date"]) - utcnow()) < timedelta(hours=1)
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content_charset() == "utf-8"
    body = parsed.get_content()
    assert "Café" in body and "\\ud800" in body  # the surrogate cannot stop the message


def test_a_name_or_subject_cannot_add_headers(tmp_path: Path) -> None:
    evil = replace(
        MAIL, to_name="Ada\r\nBcc: eve@example.org", subject="Hi\r\nBcc: eve@example.org"
    )
    parsed = message_from_bytes(mail.build(Settings(data_dir=tmp_path), evil).as_bytes())
    assert parsed["Bcc"] is None
    assert parsed["Subject"] == "Hi Bcc: eve@example.org"


def test_the_sender_defaults_to_the_public_host(tmp_path: Path) -> None:
    public = Settings(data_dir=tmp_path, public_url="https://archive.example.org/x")
    assert mail.sender(public) == "neuropil@archive.example.org"
    assert mail.sender(Settings(data_dir=tmp_path)) == "neuropil@localhost"


def test_describe_says_where_mail_goes(tmp_path: Path) -> None:
    files = mail.describe(Settings(data_dir=tmp_path))
    assert "NEUROPIL_SMTP_URL is not set" in files and str(tmp_path / "mail") in files
    smtp = Settings(data_dir=tmp_path, smtp_url="smtps://me:hunter2@mail.example.org")
    assert "through smtps://me@mail.example.org:465" in mail.describe(smtp)
    assert "hunter2" not in mail.describe(smtp)


# -- delivery ---------------------------------------------------------------------------------
def test_delivered_through_a_real_smtp_server(tmp_path: Path, smtp: SmtpServer) -> None:
    ctx = _context(tmp_path, smtp_url=smtp.url, mail_from="archive@example.org")
    assert _send(ctx) == 1
    (got,) = smtp.received
    assert got.mail_from == "archive@example.org"
    assert got.rcpt_tos == ["ada@example.org"]
    assert got.message["Message-ID"] == "<embargo-ended.000007.3@example.org>"
    assert "It is open." in got.message.get_content()
    assert [j.state for j in _mail_jobs(ctx)] == [JobState.DONE]
    assert not (tmp_path / "data" / "mail").exists()


def test_an_unreachable_server_is_tried_again_later(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there yet
    ctx = _context(tmp_path, smtp_url=f"smtp://127.0.0.1:{port}")
    _send(ctx)
    first, second = _mail_jobs(ctx)
    # The job did its work (it queued the next try); nothing failed.
    assert first.state == JobState.DONE and first.last_error is None
    assert second.state == JobState.QUEUED and second.payload["tries"] == 1
    wait = (second.run_after - utcnow()).total_seconds()
    assert mail.RETRY_DELAYS[0] - 5 < wait <= mail.RETRY_DELAYS[0]
    assert _run_due(ctx) == 0  # not before its time

    with SmtpServer(port) as smtp:
        _make_due(ctx)
        assert _run_due(ctx) == 1
        (got,) = smtp.received
        assert got.rcpt_tos == ["ada@example.org"]
    assert [j.state for j in _mail_jobs(ctx)] == [JobState.DONE, JobState.DONE]


def test_the_last_try_gives_up(tmp_path: Path) -> None:
    ctx = _context(tmp_path, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    payload = {**MAIL.payload(), "tries": len(mail.RETRY_DELAYS)}
    with pytest.raises(PermanentJobError, match="gave up after 11 tries"):
        mail.deliver(ctx, payload)
    assert _mail_jobs(ctx) == []


def test_a_recipient_refused_for_good_fails_at_once(tmp_path: Path) -> None:
    with SmtpServer(refuse={"ada@example.org"}) as smtp:
        ctx = _context(tmp_path, smtp_url=smtp.url)
        with pytest.raises(PermanentJobError, match=r"refused ada@example\.org for good"):
            mail.deliver(ctx, MAIL.payload())
        assert smtp.received == []
    assert _mail_jobs(ctx) == []  # no further try is queued


# -- no mail server ---------------------------------------------------------------------------
def test_without_a_mail_server_messages_are_eml_files(tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    _send(ctx)
    mail.deliver(ctx, MAIL.payload())  # a second run of the same mail: still one file
    folder = tmp_path / "data" / "mail"
    (path,) = folder.iterdir()
    assert path.name == "embargo-ended.000007.3.eml"
    parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert parsed["To"] == "Ada Lovelace <ada@example.org>"
    assert parsed["Message-ID"] == "<embargo-ended.000007.3@localhost>"
    assert "It is open." in parsed.get_content()


# -- the notice of an embargo's end ---------------------------------------------------------
def test_each_owner_with_a_usable_address_gets_one_notice(tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    ada, _ = auth.create_user(ctx, username="ada", email="ada@example.org", name="Lovelace, Ada")
    odd, _ = auth.create_user(ctx, username="odd", email="not an address")
    none, _ = auth.create_user(ctx, username="none")
    ident = create_dandiset(ctx, user=ada, name="Quiet mice", metadata={}).dandiset.identifier
    with ctx.db.write() as s:
        dandiset = get_dandiset_row(s, ident)
        dandiset.owners.extend([s.merge(odd), s.merge(none)])
    ended = utcnow()
    for _ in range(2):  # queued twice: still one mail waits per owner
        with ctx.db.write() as s:
            dandiset = get_dandiset_row(s, ident)
            args = {"name": "Quiet mice", "ended": ended, "base_url": None, "asked_by": None}
            assert mail.queue_embargo_ended(ctx, s, dandiset=dandiset, **args) == 1
    (job,) = _mail_jobs(ctx)
    assert job.dedup_key == f"mail.send:embargo-ended.{ident}.{ada.id}"
    notice = mail.Mail.from_payload(job.payload)
    assert (notice.to_name, notice.to_address) == ("Ada Lovelace", "ada@example.org")
    assert notice.subject == f"Dandiset NEUROPIL:{ident} is now open: Quiet mice"
    assert "on its embargo end date" in notice.body
    # no public URL and no request: the identifier instead of a link
    assert f"under its identifier NEUROPIL:{ident}." in notice.body
