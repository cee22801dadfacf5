"""SMTP with STARTTLS or implicit TLS and a login whose password is a secret from the environment."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from closeout.notifiers import open_notifiers
from services.casework import take_decision
from services.notify import NOTIFICATION_FAILED, send_due
from tests.notifications.conftest import BOSS, SmtpServer, notifying_config, open_case

SMTP_PASSWORD = "smtp-pa55word-for-acme"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 (its own CA): (cert file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "smtp.pem", folder / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


def _check_login(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"closeout" \
        and auth_data.password == SMTP_PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


def _server_context(certificate) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
def starttls_smtp(certificate):
    server = SmtpServer(tls_context=_server_context(certificate), require_starttls=True,
                        authenticator=_check_login, auth_required=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def implicit_tls_smtp(certificate):
    # aiosmtpd counts only STARTTLS as TLS for AUTH; this connection is TLS from its first byte
    server = SmtpServer(ssl_context=_server_context(certificate), authenticator=_check_login, auth_required=True,
                        auth_require_tls=False)
    server.start()
    yield server
    server.stop()


def _assign_and_send(store, config):
    case = open_case(store)
    take_decision(store, case.id, "assign", actor=BOSS, fields={"assignee": "ann"})
    with open_notifiers(config) as notifier_for:
        return case, send_due(store, notifier_for)


def test_an_email_goes_over_starttls_with_the_password_from_the_environment(
        store, people, starttls_smtp, certificate, monkeypatch):
    monkeypatch.setenv("CLOSEOUT_SMTP_PASSWORD_ACME", SMTP_PASSWORD)
    config = notifying_config(starttls_smtp.port, smtp_security="starttls", smtp_username="closeout",
                              ca_file=certificate[0])

    _, report = _assign_and_send(store, config)

    assert len(report.sent) == 1
    assert len(starttls_smtp.to("ann@acme.test")) == 1


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_an_email_goes_over_implicit_tls(store, people, implicit_tls_smtp, certificate, monkeypatch):
    monkeypatch.setenv("CLOSEOUT_SMTP_PASSWORD_ACME", SMTP_PASSWORD)
    config = notifying_config(implicit_tls_smtp.port, smtp_security="tls", smtp_username="closeout",
                              ca_file=certificate[0])

    _, report = _assign_and_send(store, config)

    assert len(report.sent) == 1
    assert len(implicit_tls_smtp.to("ann@acme.test")) == 1


def test_a_refused_login_fails_at_once_and_the_case_says_so_without_the_password(
        store, people, starttls_smtp, certificate, monkeypatch):
    monkeypatch.setenv("CLOSEOUT_SMTP_PASSWORD_ACME", "not-the-password")
    config = notifying_config(starttls_smtp.port, smtp_security="starttls", smtp_username="closeout",
                              ca_file=certificate[0])

    case, report = _assign_and_send(store, config)

    assert len(report.failed) == 1 and starttls_smtp.received == []
    with store.unit_of_work() as uow:
        [failure] = [e for e in uow.cases.get(case.id).history if e.action == NOTIFICATION_FAILED]
    assert "refused the login (535)" in failure.note and "not-the-password" not in failure.note


def test_a_server_whose_certificate_is_not_trusted_gets_no_email(store, people, starttls_smtp, monkeypatch):
    monkeypatch.setenv("CLOSEOUT_SMTP_PASSWORD_ACME", SMTP_PASSWORD)
    config = notifying_config(starttls_smtp.port, smtp_security="starttls", smtp_username="closeout")

    _, report = _assign_and_send(store, config)

    [(_, error)] = report.failed
    assert "TLS certificate is not trusted" in error and starttls_smtp.received == []


def test_plain_smtp_is_refused_in_the_config_for_a_server_on_another_machine():
    from pydantic import ValidationError

    from services.config import NotifyConfig

    with pytest.raises(ValidationError, match="only for a server on this machine"):
        NotifyConfig(smtp_host="smtp.example.com", smtp_security="plain", sender="closeout@acme.test")
