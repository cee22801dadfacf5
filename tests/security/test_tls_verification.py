"""TLS is verified by default on every outbound connection: ledgers, sources and IMAP refuse a certificate from
an unknown authority and accept it once its CA is configured; no code turns verification off."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from connectors.errors import ConnectorError, FatalError
from connectors.housecallpro import HousecallProSource
from connectors.imap_inbox import ImapInbox
from connectors.qbo import QuickBooksLedger
from connectors.xero import XeroLedger

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("connectors", "closeout", "exceptions_queue", "storage", "flows", "mappings", "workorders", "sandbox")


def _certificate(subject: str, key, issuer_name, issuer_key, *, ca: bool) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(issuer_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
    else:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> dict[str, str]:
    """A throwaway CA and a certificate for 127.0.0.1 that it signed (nobody's trust store knows the CA)."""
    folder = tmp_path_factory.mktemp("tls")
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Closeout security test CA")])
    ca_cert = _certificate("Closeout security test CA", ca_key, ca_name, ca_key, ca=True)
    server_cert = _certificate("127.0.0.1", server_key, ca_name, ca_key, ca=False)
    files = {"ca": folder / "ca.pem", "cert": folder / "server.pem", "key": folder / "server.key"}
    files["ca"].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files["cert"].write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    files["key"].write_bytes(server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()))
    return {name: str(path) for name, path in files.items()}


def _server_context(tls) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls["cert"], tls["key"])
    return context


class _Api(BaseHTTPRequestHandler):
    """Just enough of QBO, Xero and Housecall Pro for one read each."""

    def _answer(self) -> None:
        if "/query" in self.path:
            body = {"QueryResponse": {}, "time": "2026-11-30T00:00:00Z"}
        elif "Contacts" in self.path:
            body = {"Contacts": []}
        else:
            body = {"jobs": [], "page": 1, "total_pages": 1, "total_items": 0, "id": "company-1", "name": "Acme"}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def https_url(tls):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    context = _server_context(tls)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_quickbooks_refuses_an_unknown_authority_and_accepts_the_configured_ca(https_url, tls):
    with pytest.raises(FatalError, match="TLS"):
        QuickBooksLedger(base_url=f"{https_url}/v3", realm_id="1", access_token="t").find_customers(name="x",
                                                                                                  email=None)
    trusted = QuickBooksLedger(base_url=f"{https_url}/v3", realm_id="1", access_token="t", ca_file=tls["ca"])
    assert trusted.find_customers(name="x", email=None) == []


def test_xero_refuses_an_unknown_authority_and_accepts_the_configured_ca(https_url, tls):
    with pytest.raises(FatalError, match="TLS"):
        XeroLedger(base_url=f"{https_url}/api.xro/2.0", tenant_id="t", access_token="t").find_customers(name="x",
                                                                                                       email=None)
    trusted = XeroLedger(base_url=f"{https_url}/api.xro/2.0", tenant_id="t", access_token="t", ca_file=tls["ca"])
    assert trusted.find_customers(name="x", email=None) == []


def test_a_source_on_the_client_the_wiring_builds_refuses_an_unknown_authority_and_accepts_the_configured_ca(
        https_url, tls):
    wired = httpx.Client(timeout=httpx.Timeout(30.0, connect=10.0))  # as closeout.wiring builds it
    with pytest.raises(ConnectorError, match="(?i)certificate"):
        HousecallProSource(client=wired, api_key="k", api_url=https_url).check()
    trusted = httpx.Client(verify=ssl.create_default_context(cafile=tls["ca"]))
    assert HousecallProSource(client=trusted, api_key="k", api_url=https_url).check()


class _ImapOverTls(threading.Thread):
    """Greets, says what it can, and accepts any login: enough to show whether the TLS handshake got through."""

    def __init__(self, tls) -> None:
        super().__init__(daemon=True)
        self.context = _server_context(tls)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]

    def run(self) -> None:
        while True:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(raw,), daemon=True).start()

    def _session(self, raw: socket.socket) -> None:
        try:
            with self.context.wrap_socket(raw, server_side=True) as conn:
                conn.sendall(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n")
                for line in conn.makefile("rb"):
                    tag, _, command = line.decode().strip().partition(" ")
                    verb = command.split(" ", 1)[0].upper()
                    if verb == "CAPABILITY":
                        conn.sendall(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n")
                    if verb == "LOGOUT":
                        conn.sendall(b"* BYE\r\n" + f"{tag} OK LOGOUT done\r\n".encode())
                        return
                    conn.sendall(f"{tag} OK {verb} done\r\n".encode())
        except (OSError, ssl.SSLError):
            pass


@pytest.fixture(scope="module")
def imaps_port(tls):
    server = _ImapOverTls(tls)
    server.start()
    yield server.port
    server.listener.close()


def test_imap_refuses_an_unknown_authority_and_accepts_the_configured_ca(imaps_port, tls):
    with pytest.raises(FatalError, match="does not verify"):
        ImapInbox("127.0.0.1", imaps_port, "crew", "pw", connect_timeout=5, read_timeout=5).connect()
    box = ImapInbox("127.0.0.1", imaps_port, "crew", "pw", ca_file=tls["ca"], connect_timeout=5, read_timeout=5)
    assert box.connect() is not None
    box.close()


INSECURE = re.compile(r"verify\s*=\s*False|CERT_NONE|check_hostname\s*=\s*False|_create_unverified_context|"
                      r"verify_ssl\s*=\s*False|disable_warnings|InsecureRequestWarning|PYTHONHTTPSVERIFY")


def test_no_code_turns_certificate_verification_off():
    found = [f"{path.relative_to(REPO)}:{number}: {line.strip()}"
             for package in PACKAGES for path in sorted((REPO / package).rglob("*.py"))
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if INSECURE.search(line)]
    assert found == []
