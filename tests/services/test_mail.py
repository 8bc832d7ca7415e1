"""Outbound mail (``neuropil.services.mail``) against a real SMTP server on 127.0.0.1, through
the real job queue on a real SQLite file: the message as built, delivery (plain, STARTTLS and
TLS, with a login, certificates from a CA made for the test), the tries after a mail server
failed, and the ``.eml`` files of an archive with no mail server."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from email import message_from_bytes, policy
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from neuropil.config import Settings
from neuropil.core.smtp_url import SmtpUrl
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
from tests.support.tls import CertificateAuthority

MAIL = mail.Mail(
    to_name="Ada Lovelace",
    to_address="ada@example.org",
    subject="Dandiset NEUROPIL:000007 is now open: Ünïcode\nname",
    body="Dear Ada,\n\nIt is open. Caf\u00e9, and a lone surrogate: \ud800.\n",
    key="embargo-ended.000007.3",
)


def _context(tmp_path: Path, **settings: Any) -> Context:
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
    assert not got.tls and got.login is None  # plain smtp://, as configured
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


# -- TLS --------------------------------------------------------------------------------------
LOGIN = ("archive", "p@ss:w rd")  # URL-quoted in the URL, as an operator must
#: aiosmtpd counts only its own STARTTLS as TLS, so a login over TLS from the start warns.
LOGIN_OVER_TLS = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def _tls_server(how: str, context: ssl.SSLContext, login: tuple[str, str] | None) -> SmtpServer:
    """A mail server that requires STARTTLS (``how="starttls"``) or speaks TLS from the start."""
    if how == "starttls":
        return SmtpServer(starttls=context, login=login)
    return SmtpServer(tls=context, login=login)


@pytest.fixture
def ca(tmp_path: Path) -> CertificateAuthority:
    """A CA of this test only: no system trusts it."""
    return CertificateAuthority.make(tmp_path / "ca")


@LOGIN_OVER_TLS
@pytest.mark.parametrize("login", [None, LOGIN], ids=["anonymous", "login"])
@pytest.mark.parametrize("how", ["starttls", "tls"])
def test_delivered_over_tls_when_the_ca_is_trusted(
    tmp_path: Path, ca: CertificateAuthority, how: str, login: tuple[str, str] | None
) -> None:
    with _tls_server(how, ca.server_context(), login) as smtp:
        assert smtp.url.startswith("smtp+starttls://" if how == "starttls" else "smtps://")
        ctx = _context(tmp_path, smtp_url=smtp.url, smtp_ca_file=ca.cert_file)
        assert _send(ctx) == 1
        (got,) = smtp.received
    assert got.tls and got.login == (login[0] if login else None)
    assert got.rcpt_tos == ["ada@example.org"]
    assert got.message["Subject"] == "Dandiset NEUROPIL:000007 is now open: Ünïcode name"
    assert [j.state for j in _mail_jobs(ctx)] == [JobState.DONE]


def _untrusted(
    tmp_path: Path, ca: CertificateAuthority, why: str
) -> tuple[ssl.SSLContext, Path | None]:
    """A server context and the CA file a client trusts, such that the certificate fails."""
    if why == "system CAs only":  # the usual mistake: no NEUROPIL_SMTP_CA_FILE
        return ca.server_context(), None
    if why == "another CA":
        return ca.server_context(), CertificateAuthority.make(tmp_path / "other").cert_file
    assert why == "another host name"
    return ca.server_context("mail.example.org"), ca.cert_file


@LOGIN_OVER_TLS
@pytest.mark.parametrize("why", ["system CAs only", "another CA", "another host name"])
@pytest.mark.parametrize("how", ["starttls", "tls"])
def test_an_untrusted_certificate_fails_and_nothing_is_sent(
    tmp_path: Path, ca: CertificateAuthority, how: str, why: str
) -> None:
    context, trusted = _untrusted(tmp_path, ca, why)
    with _tls_server(how, context, LOGIN) as smtp:
        msg = mail.build(Settings(data_dir=tmp_path), MAIL)
        with pytest.raises(mail.MailDeliveryError) as exc:
            mail.send(SmtpUrl.parse(smtp.url), msg, ca_file=trusted)
        assert smtp.received == []
    text = str(exc.value)
    assert "its certificate is not trusted" in text and "must name 127.0.0.1" in text
    assert LOGIN[1] not in text
    if why == "another host name":
        assert "address mismatch, certificate is not valid for '127.0.0.1'" in text
    else:
        assert "unable to get local issuer certificate" in text
        assert ("NEUROPIL_SMTP_CA_FILE" in text) == (trusted is None)


def test_an_untrusted_server_gets_the_mail_once_the_ca_is_trusted(
    tmp_path: Path, ca: CertificateAuthority, caplog: pytest.LogCaptureFixture
) -> None:
    with SmtpServer(starttls=ca.server_context(), login=LOGIN) as smtp:
        untrusting = _context(tmp_path, smtp_url=smtp.url)
        with caplog.at_level(logging.WARNING, logger=mail.__name__):
            _send(untrusting)
        assert smtp.received == []
        first, second = _mail_jobs(untrusting)
        assert first.state == JobState.DONE and second.state == JobState.QUEUED
        assert "its certificate is not trusted" in caplog.text and LOGIN[1] not in caplog.text

        # the administrator sets NEUROPIL_SMTP_CA_FILE and restarts: the waiting mail goes
        trusting = _context(tmp_path, smtp_url=smtp.url, smtp_ca_file=ca.cert_file)
        _make_due(trusting)
        assert _run_due(trusting) == 1
        (got,) = smtp.received
    assert got.tls and got.login == LOGIN[0] and got.rcpt_tos == ["ada@example.org"]


@pytest.mark.parametrize("scheme", ["smtp+starttls", "smtps"])
def test_a_server_without_tls_is_refused_not_sent_to_in_clear(tmp_path: Path, scheme: str) -> None:
    with SmtpServer() as smtp:  # takes plain mail, offers no STARTTLS
        url = SmtpUrl.parse(f"{scheme}://{LOGIN[0]}:secret@127.0.0.1:{smtp.port}")
        with pytest.raises(mail.MailDeliveryError) as exc:
            mail.send(url, mail.build(Settings(data_dir=tmp_path), MAIL))
        assert smtp.received == []
    expected = "STARTTLS extension not supported" if scheme == "smtp+starttls" else "SSLError"
    assert expected in str(exc.value) and "secret" not in str(exc.value)


@LOGIN_OVER_TLS
def test_a_wrong_password_fails_without_saying_it(tmp_path: Path, ca: CertificateAuthority) -> None:
    with SmtpServer(tls=ca.server_context(), login=LOGIN) as smtp:
        url = SmtpUrl.parse(f"smtps://{LOGIN[0]}:hunter2@127.0.0.1:{smtp.port}")
        with pytest.raises(mail.MailDeliveryError, match="SMTPAuthenticationError") as exc:
            mail.send(url, mail.build(Settings(data_dir=tmp_path), MAIL), ca_file=ca.cert_file)
        assert smtp.received == []
    assert "hunter2" not in str(exc.value)


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
