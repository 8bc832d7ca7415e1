"""``NEUROPIL_SMTP_URL``, ``NEUROPIL_SMTP_CA_FILE`` and ``NEUROPIL_MAIL_FROM``: one parser,
refused at start when wrong, and a password that no message repeats. (Connections over
STARTTLS and TLS: ``tests/services/test_mail.py``.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from neuropil.config import Settings
from neuropil.core.smtp_url import Security, SmtpUrl
from tests.support.tls import CertificateAuthority


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("smtp://mail.example.org", SmtpUrl("mail.example.org", 25)),
        ("smtp://127.0.0.1:2525", SmtpUrl("127.0.0.1", 2525)),
        (
            "smtp+starttls://me%40lab:p%3Ass@mail.example.org",
            SmtpUrl("mail.example.org", 587, Security.STARTTLS, "me@lab", "p:ss"),
        ),
        ("smtps://u:p@mail.example.org", SmtpUrl("mail.example.org", 465, Security.TLS, "u", "p")),
        (
            "SMTPS://u:p@mail.example.org:2465/",
            SmtpUrl("mail.example.org", 2465, Security.TLS, "u", "p"),
        ),
        ("smtp://[::1]:25", SmtpUrl("::1", 25)),
        # a relay on this machine may take a password without TLS
        ("smtp://u:p@localhost:25", SmtpUrl("localhost", 25, Security.NONE, "u", "p")),
    ],
)
def test_parse(text: str, expected: SmtpUrl) -> None:
    parsed = SmtpUrl.parse(text)
    assert parsed == expected
    assert parsed.password == expected.password


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("http://mail.example.org", "is not one of smtp://, smtp+starttls://, smtps://"),
        ("mail.example.org:25", "is not one of"),
        ("smtp://", "names no host"),
        ("smtp://mail.example.org/inbox", "path, query or fragment"),
        ("smtp://mail.example.org?tls=1", "path, query or fragment"),
        ("smtp://mail.example.org:http", "port is not a number"),
        ("smtp://mail.example.org:0", "port is not a number"),
        ("smtps://user@mail.example.org", "both a user name and a password"),
        ("smtp://u:secret@mail.example.org", "unencrypted; use smtp+starttls:// or smtps://"),
    ],
)
def test_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as exc:
        SmtpUrl.parse(text)
    assert "secret" not in str(exc.value)


def test_str_and_repr_leave_out_the_password() -> None:
    url = SmtpUrl.parse("smtps://me:hunter2@mail.example.org")
    assert str(url) == "smtps://me@mail.example.org:465"
    assert "hunter2" not in repr(url)
    assert str(SmtpUrl.parse("smtp://[::1]")) == "smtp://[::1]:25"


def test_settings_refuse_a_bad_url_at_start_without_the_password(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="NEUROPIL_SMTP_URL cannot be used: it would send") as exc:
        Settings(data_dir=tmp_path, smtp_url="smtp://me:hunter2@mail.example.org")
    assert "hunter2" not in str(exc.value)
    settings = Settings(data_dir=tmp_path, smtp_url="smtp+starttls://a:b@mail.example.org")
    assert settings.smtp == SmtpUrl("mail.example.org", 587, Security.STARTTLS, "a", "b")
    assert Settings(data_dir=tmp_path).smtp is None
    assert Settings(data_dir=tmp_path).mail_dir == tmp_path / "mail"


def test_a_ca_file_is_read_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = CertificateAuthority.make(tmp_path / "ca")
    monkeypatch.setenv("NEUROPIL_SMTP_CA_FILE", str(ca.cert_file))
    assert Settings(data_dir=tmp_path).smtp_ca_file == ca.cert_file
    monkeypatch.setenv("NEUROPIL_SMTP_CA_FILE", "")
    assert Settings(data_dir=tmp_path).smtp_ca_file is None


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "No such file or directory"), (b"not a certificate\n", "no certificate")],
)
def test_a_ca_file_that_cannot_be_used_is_refused_at_start(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "ca.pem"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(
        ValueError, match=f"NEUROPIL_SMTP_CA_FILE=.*ca.pem.* cannot be used: .*{message}"
    ):
        Settings(data_dir=tmp_path, smtp_ca_file=path)


@pytest.mark.parametrize("good", ["archive@example.org", "Our Archive <archive@example.org>"])
def test_mail_from(tmp_path: Path, good: str) -> None:
    assert Settings(data_dir=tmp_path, mail_from=good).mail_from == good


def test_mail_from_must_be_an_address(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="NEUROPIL_MAIL_FROM='archive' is not an e-mail"):
        Settings(data_dir=tmp_path, mail_from="archive")
