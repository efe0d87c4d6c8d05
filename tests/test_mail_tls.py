"""Mail over TLS checks the server: a loopback SMTP server with certificates made here.

Both STARTTLS (``MAIL_USE_TLS``) and implicit TLS (``MAIL_USE_SSL``): a certificate for another
name, or from an authority the sender does not trust, gets nothing (the message stays
queued); with that authority in ``MAIL_TLS_CA_FILE`` the message goes.
"""

import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from conftest import RecordingHandler, free_port, require
from sqlalchemy import select

from lepsite.extensions import db
from lepsite.mail import send_pending
from lepsite.models import OutgoingMail

SERVER = "127.0.0.1"


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def make_ca(folder: Path, name: str) -> None:
    """A certificate authority: ``<name>.pem`` and ``<name>.key``."""
    openssl(
        *("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
        *("-nodes", "-days", "2", "-subj", f"/CN={name}"),
        *("-keyout", f"{name}.key", "-out", f"{name}.pem"),
        *("-addext", "basicConstraints=critical,CA:TRUE"),
        *("-addext", "keyUsage=critical,keyCertSign,cRLSign"),
        cwd=folder,
    )


def make_server_certificate(folder: Path, name: str, ca: str, alt_name: str) -> None:
    """``<name>.pem`` (with its authority's) and ``<name>.key``, for ``alt_name``."""
    (folder / f"{name}.ext").write_text(
        f"subjectAltName={alt_name}\nbasicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
    )
    openssl(
        *("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
        *("-nodes", "-subj", f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.csr"),
        cwd=folder,
    )
    openssl(
        *("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key"),
        *("-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.crt"),
        cwd=folder,
    )
    chain = (folder / f"{name}.crt").read_text() + (folder / f"{ca}.pem").read_text()
    (folder / f"{name}.pem").write_text(chain)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> Path:
    """Our CA; a rogue CA; certificates for 127.0.0.1 from each, and one of ours for another
    name."""
    require(bool(shutil.which("openssl")), "openssl")
    folder = tmp_path_factory.mktemp("certificates")
    make_ca(folder, "our-ca")
    make_ca(folder, "rogue-ca")
    make_server_certificate(folder, "right", "our-ca", f"IP:{SERVER}")
    make_server_certificate(folder, "other-name", "our-ca", "DNS:mail.example.org")
    make_server_certificate(folder, "untrusted", "rogue-ca", f"IP:{SERVER}")
    return folder


@pytest.fixture
def tls_server(certificates):
    """Start an SMTP server with one of the certificates, by STARTTLS or implicit TLS."""
    from aiosmtpd.controller import Controller

    started = []

    def start(certificate: str, implicit: bool) -> RecordingHandler:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(
            certificates / f"{certificate}.pem", certificates / f"{certificate}.key"
        )
        handler = RecordingHandler()
        tls = {"ssl_context": context} if implicit else {"tls_context": context}
        controller = Controller(handler, hostname=SERVER, port=free_port(), **tls)
        controller.start()
        started.append(controller)
        handler.port = controller.port
        return handler

    yield start
    for controller in started:
        controller.stop()


def queue_and_send(app) -> tuple[OutgoingMail, object]:
    """Queue one message, run one sending pass; the message as stored after, and the summary."""
    with app.app_context():
        db.session.add(OutgoingMail(recipient="olena@example.org", subject="Hello", body="Hi.\n"))
        db.session.commit()
        summary = send_pending()
        message = db.session.scalars(select(OutgoingMail)).one()
        db.session.expunge(message)
        return message, summary


def settings(handler, implicit: bool, **more) -> dict:
    mode = {"MAIL_USE_SSL": True} if implicit else {"MAIL_USE_TLS": True}
    return {"MAIL_SERVER": SERVER, "MAIL_PORT": handler.port, "MAIL_TIMEOUT": 5, **mode, **more}


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "implicit-tls"])
@pytest.mark.parametrize(
    ("certificate", "with_ca_file", "refusal"),
    [
        ("untrusted", False, "CERTIFICATE_VERIFY_FAILED"),  # self-made, system CAs only
        ("untrusted", True, "CERTIFICATE_VERIFY_FAILED"),  # another authority than ours
        ("other-name", True, "match"),  # our authority, another host's certificate
    ],
)
def test_a_server_that_fails_the_check_gets_nothing(
    app_factory, tls_server, certificates, implicit, certificate, with_ca_file, refusal
):
    handler = tls_server(certificate, implicit)
    ca_file = {"MAIL_TLS_CA_FILE": str(certificates / "our-ca.pem")} if with_ca_file else {}
    app = app_factory(**settings(handler, implicit, **ca_file))
    message, summary = queue_and_send(app)
    assert handler.messages == []
    assert message.sent_at is None and message.failed_at is None  # tried again later
    assert message.attempts == 1 and refusal in message.last_error
    assert summary.sent == 0 and summary.pending == 1
    assert refusal in summary.server_error


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "implicit-tls"])
def test_a_server_whose_authority_is_configured_gets_the_mail(
    app_factory, tls_server, certificates, implicit
):
    handler = tls_server("right", implicit)
    ca_file = str(certificates / "our-ca.pem")
    app = app_factory(**settings(handler, implicit, MAIL_TLS_CA_FILE=ca_file))
    message, summary = queue_and_send(app)
    assert message.sent_at is not None and summary.sent == 1
    assert [m["To"] for m in handler.messages] == ["olena@example.org"]


def test_starttls_is_not_skipped_when_the_server_does_not_offer_it(app_factory, smtp_server):
    app = app_factory(MAIL_SERVER=SERVER, MAIL_PORT=smtp_server.port, MAIL_USE_TLS=True)
    message, summary = queue_and_send(app)
    assert smtp_server.messages == [] and message.sent_at is None
    assert "STARTTLS" in message.last_error


def test_implicit_tls_to_a_plain_server_is_refused_within_the_deadline(app_factory, smtp_server):
    app = app_factory(
        MAIL_SERVER=SERVER, MAIL_PORT=smtp_server.port, MAIL_USE_SSL=True, MAIL_TIMEOUT=2
    )
    message, _summary = queue_and_send(app)
    assert smtp_server.messages == [] and message.sent_at is None and message.last_error


def test_a_silent_server_cannot_hold_the_implicit_tls_handshake(app_factory):
    """A server that accepts the connection and never answers the TLS hello."""
    import socket
    import time

    with socket.create_server((SERVER, 0)) as listener:
        port = listener.getsockname()[1]
        app = app_factory(MAIL_SERVER=SERVER, MAIL_PORT=port, MAIL_USE_SSL=True, MAIL_TIMEOUT=1)
        started = time.monotonic()
        message, _summary = queue_and_send(app)
    assert time.monotonic() - started < 5
    assert message.sent_at is None and message.last_error


def test_the_settings_come_from_the_environment(monkeypatch, app_factory):
    monkeypatch.setenv("LEPSITE_MAIL_USE_SSL", "true")
    monkeypatch.setenv("LEPSITE_MAIL_TLS_CA_FILE", "/etc/lepsite/mail-ca.pem")
    app = app_factory()
    assert app.config["MAIL_USE_SSL"] is True
    assert app.config["MAIL_TLS_CA_FILE"] == "/etc/lepsite/mail-ca.pem"
