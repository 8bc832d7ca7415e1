"""Outbound mail: the messages the archive sends, built and delivered by a background job.

A service with something to tell queues a :class:`Mail` (:func:`queue`) in the transaction
of the change it reports, so a message exists if and only if the change commits, and a mail
server that is down never undoes or delays the change. The mail's ``key`` names the event
and the recipient; it is the job's dedup key and the Message-ID, so a message that is sent
twice (its worker died between the server's "250 OK" and the job's end) is recognisably one
message, and written as a file it is one file.

The job (:data:`JOB`, :func:`deliver`) builds the message (plain text, with Date,
Message-ID, From, To) and hands it to the SMTP server of ``NEUROPIL_SMTP_URL``. With none
configured it writes ``<data>/mail/<key>.eml`` instead and logs where, so a small install
still has its messages.

A mail server that cannot be reached (or answers "try later", or is misconfigured) is
tried again on :data:`RETRY_DELAYS`, about two days as mail servers do, rather than on the
job queue's backoff of seconds. Only a recipient the server refuses for good (5xx) fails
the job at once. See ``docs/design/mail.md``.
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import ssl
import tempfile
from dataclasses import dataclass
from datetime import datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from neuropil.config import Settings
from neuropil.core.ids import DRAFT
from neuropil.core.smtp_url import Security, SmtpUrl, tls_context
from neuropil.db.models import Dandiset
from neuropil.jobs.protocol import PermanentJobError
from neuropil.services.context import Context
from neuropil.services.urls import Urls

log = logging.getLogger(__name__)

#: Sends one :class:`Mail` (payload: :meth:`Mail.payload` and ``tries``).
JOB = "mail.send"
#: Seconds before each new try after the mail server failed (about two days in all).
RETRY_DELAYS = (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400)
#: Seconds to wait for the mail server at each step of a delivery.
SMTP_TIMEOUT = 30.0


class MailDeliveryError(Exception):
    """The mail server could not take a message now; a later try may succeed."""


@dataclass(frozen=True)
class Mail:
    """A plain-text message to one person."""

    to_name: str
    to_address: str
    subject: str
    body: str
    #: Names the event and the recipient (``embargo-ended.000123.7``): the dedup key, the
    #: Message-ID and the file name.
    key: str

    def payload(self) -> dict[str, Any]:
        return {
            "to_name": self.to_name,
            "to_address": self.to_address,
            "subject": self.subject,
            "body": self.body,
            "key": self.key,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Mail:
        fields = ("to_name", "to_address", "subject", "body", "key")
        return cls(*(str(payload[f]) for f in fields))


def queue(ctx: Context, s: Session, mail: Mail, *, delay: float = 0.0, tries: int = 0) -> None:
    """Send ``mail`` once the caller's transaction commits (at most one waits per key)."""
    payload = {**mail.payload(), "tries": tries}
    ctx.jobs.enqueue(s, JOB, payload, dedup_key=f"{JOB}:{mail.key}", delay=delay)


# -- building ---------------------------------------------------------------------------------
def sender(settings: Settings) -> str:
    """The From address: ``NEUROPIL_MAIL_FROM``, else ``neuropil@`` the public host."""
    if settings.mail_from:
        return settings.mail_from
    host = urlsplit(settings.public_url).hostname if settings.public_url else None
    return f"neuropil@{host or 'localhost'}"


def _safe(text: str) -> str:
    """``text`` as something that can be encoded (a lone surrogate becomes ``\\udxxx``)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def message_id(settings: Settings, key: str) -> str:
    """The same Message-ID for every try of one mail."""
    domain = parseaddr(sender(settings))[1].rpartition("@")[2] or "localhost"
    return f"<{re.sub(r'[^A-Za-z0-9.-]', '-', key)}@{domain}>"


def build(settings: Settings, mail: Mail) -> EmailMessage:
    """The message as sent: plain UTF-8 text with Date, Message-ID, From and To."""
    msg = EmailMessage()
    msg["From"] = sender(settings)
    to_name = " ".join(_safe(mail.to_name).split())  # one line: no header injection
    msg["To"] = Address(display_name=to_name, addr_spec=mail.to_address)
    msg["Subject"] = " ".join(_safe(mail.subject).split())
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = message_id(settings, mail.key)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: out-of-office replies stay away
    msg.set_content(_safe(mail.body))
    return msg


# -- delivering -------------------------------------------------------------------------------
def _connect(server: SmtpUrl, tls: ssl.SSLContext) -> smtplib.SMTP:
    if server.security == Security.TLS:
        return smtplib.SMTP_SSL(server.host, server.port, timeout=SMTP_TIMEOUT, context=tls)
    smtp = smtplib.SMTP(server.host, server.port, timeout=SMTP_TIMEOUT)
    if server.security == Security.STARTTLS:
        try:
            smtp.starttls(context=tls)  # a server that does not offer it: refused
        except BaseException:
            smtp.close()
            raise
    return smtp


def send(server: SmtpUrl, msg: EmailMessage, *, ca_file: Path | None = None) -> None:
    """Hand ``msg`` to ``server``, whose certificate (with TLS) is checked against the CAs
    of ``ca_file``, else the system's. A recipient refused for good raises
    :class:`PermanentJobError`; anything else that fails, :class:`MailDeliveryError`."""
    try:
        with _connect(server, tls_context(ca_file)) as smtp:
            if server.username is not None and server.password is not None:
                smtp.login(server.username, server.password)
            smtp.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        if all(500 <= code < 600 for code in codes):
            raise PermanentJobError(
                f"{server} refused {', '.join(exc.recipients)} for good: {exc.recipients}"
            ) from exc
        raise MailDeliveryError(f"{server} refused the recipient for now: {exc}") from exc
    except ssl.SSLCertVerificationError as exc:  # say what a certificate must be to pass
        trusted = (
            f"a CA in {ca_file}"
            if ca_file
            else "a CA the system trusts (or set NEUROPIL_SMTP_CA_FILE)"
        )
        raise MailDeliveryError(
            f"{server}: its certificate is not trusted ({exc.verify_message}); it must name "
            f"{server.host} and be signed by {trusted}"
        ) from exc
    except (smtplib.SMTPException, OSError) as exc:  # OSError: refused, timeout, TLS, DNS
        raise MailDeliveryError(f"{server}: {type(exc).__name__}: {exc}") from exc


def write_eml(folder: Path, msg: EmailMessage, key: str) -> Path:
    """Write ``msg`` as ``<folder>/<key>.eml``, complete or not at all."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{re.sub(r'[^A-Za-z0-9.-]', '-', key)}.eml"
    fd, aside = tempfile.mkstemp(dir=folder, prefix=".", suffix=".eml.part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(msg.as_bytes())
            f.flush()
            os.fsync(f.fileno())
        os.replace(aside, path)
    except BaseException:
        Path(aside).unlink(missing_ok=True)
        raise
    return path


def describe(settings: Settings) -> str:
    """Where outbound mail goes, for the log at start."""
    server = settings.smtp
    if server is None:
        return (
            f"outbound mail: NEUROPIL_SMTP_URL is not set; messages are written to "
            f"{settings.mail_dir}/ (From: {sender(settings)})"
        )
    return f"outbound mail: through {server} (From: {sender(settings)})"


def deliver(ctx: Context, payload: dict[str, Any]) -> None:
    """The job: send one mail, or write it to ``<data>/mail/``; on a mail server's failure
    queue the next try (:data:`RETRY_DELAYS`), and give up after the last."""
    mail = Mail.from_payload(payload)
    msg = build(ctx.settings, mail)
    server = ctx.settings.smtp
    if server is None:
        path = write_eml(ctx.settings.mail_dir, msg, mail.key)
        log.info("mail: no NEUROPIL_SMTP_URL; wrote %r to %s as %s", mail.subject, msg["To"], path)
        return
    try:
        send(server, msg, ca_file=ctx.settings.smtp_ca_file)
    except MailDeliveryError as exc:
        tries = int(payload.get("tries") or 0)
        if tries >= len(RETRY_DELAYS):
            raise PermanentJobError(f"gave up after {tries + 1} tries: {exc}") from exc
        delay = RETRY_DELAYS[tries]
        with ctx.db.write() as s:
            queue(ctx, s, mail, delay=delay, tries=tries + 1)
        log.warning("mail to %s not sent (%s); trying again in %d s", msg["To"], exc, delay)
        return
    log.info("mail: sent %r to %s through %s", mail.subject, msg["To"], server)


# -- what the archive tells -------------------------------------------------------------------
def _recipient(name: str, address: str) -> str | None:
    """``address`` if it is one a message can go to."""
    try:
        return Address(display_name=_safe(name), addr_spec=address.strip()).addr_spec
    except (ValueError, IndexError, HeaderParseError):  # the parser's ways of saying no
        return None


def _person(name: str, username: str) -> str:
    """How to address someone, on one line: DANDI's "Last, First" turned around, else the
    user name."""
    last, comma, first = (" ".join(part.split()) for part in name.partition(","))
    if comma and first:
        return f"{first} {last}"
    return " ".join(name.split()) or username


def queue_embargo_ended(
    ctx: Context,
    s: Session,
    *,
    dandiset: Dandiset,
    name: str,
    ended: datetime,
    base_url: str | None,
    asked_by: str | None,
) -> int:
    """Tell each owner with an e-mail address that ``dandiset``'s embargo has ended, in the
    caller's transaction (the one that opens it); returns how many mails were queued."""
    label = f"{ctx.settings.instance_name}:{dandiset.identifier}"
    base = ctx.settings.public_url or base_url
    if base:
        where = Urls(base.rstrip("/"), ctx.store).dandiset_web(dandiset.identifier, DRAFT)
    else:
        where = f"Find it in the archive under its identifier {label}."
        log.warning("NEUROPIL_PUBLIC_URL is not set: the mail about %s cannot link to it", label)
    how = f"as {asked_by} asked" if asked_by else "on its embargo end date"
    queued = 0
    for owner in dandiset.owners:
        person = _person(owner.name, owner.username)
        address = _recipient(person, owner.email) if owner.email else None
        if address is None:
            log.info("owner %s of %s has no usable e-mail address: not told", owner.username, label)
            continue
        body = (
            f"Dear {person},\n\n"
            f'The embargo of dandiset {label}, "{name}", ended on '
            f"{ended:%Y-%m-%d at %H:%M} UTC, {how}. The dandiset is now open: anyone can find "
            "it, read its metadata and download its data. Its reviewer access and review "
            f"links ended with the embargo.\n\n{where}\n\n"
            "You receive this message because you are an owner of this dandiset.\n\n"
            f"-- \n{ctx.settings.instance_name} archive\n"
        )
        subject = f"Dandiset {label} is now open: {name}"
        key = f"embargo-ended.{dandiset.identifier}.{owner.id}"
        queue(ctx, s, Mail(person, address, subject, body, key))
        queued += 1
    return queued
