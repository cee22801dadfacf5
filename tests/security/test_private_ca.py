"""A private CA for every HTTPS connection: ``ca_file`` on each ledger and API source config, and the process-wide
default ``$CLOSEOUT_CA_FILE``. Each client the wiring builds (an httpx source, QuickBooks over requests, Xero over
urllib3) refuses a server signed by an unknown CA with a TLS ``ConnectorError`` that holds no secret, and connects
once the CA is configured; a CA file that is missing or not PEM is one config error when the config loads."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from closeout.config import load_config
from closeout.tls import ca_file_for
from closeout.wiring import build_housecallpro, build_ledger
from connectors.errors import FatalError
from services.config import CA_FILE_ENV, CompanyConfig, ConfigError, HousecallProSourceConfig, LedgerConfig

TOKEN = "ledger-access-token-4f1c9e"
API_KEY = "housecall-api-key-8d2b7a"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    """A private CA nobody's trust store knows, a server certificate for 127.0.0.1 it signed, and its key."""
    folder = tmp_path_factory.mktemp("private-ca")
    now = dt.datetime.now(dt.UTC)
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("Closeout private CA")).issuer_name(_name("Closeout private CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    server = (x509.CertificateBuilder().subject_name(_name("127.0.0.1")).issuer_name(ca.subject)
              .public_key(server_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                             critical=False)
              .sign(ca_key, hashes.SHA256()))
    files = {"ca": folder / "ca.pem", "cert": folder / "server.pem", "key": folder / "server.key"}
    files["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files["cert"].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    files["key"].write_bytes(server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()))
    return files


class FakeApis(BaseHTTPRequestHandler):
    """One empty read each of QuickBooks (query), Xero (Contacts) and Housecall Pro (jobs / company)."""

    def answer(self) -> None:
        if "/query" in self.path:
            body: dict = {"QueryResponse": {}, "time": "2026-11-30T00:00:00Z"}
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

    do_GET = do_POST = answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def url(pki):
    """An HTTPS server whose certificate only the private CA vouches for."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApis)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki["cert"], pki["key"])
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def no_process_default(monkeypatch):
    monkeypatch.delenv(CA_FILE_ENV, raising=False)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.setenv("CLOSEOUT_HOUSECALLPRO_API_KEY_ACME", API_KEY)


def _company(ledger: LedgerConfig, *sources) -> CompanyConfig:
    return CompanyConfig(id="acme", name="Acme", ledger=ledger, sources=sources)


def _quickbooks(url: str, ca_file: Path | None = None) -> CompanyConfig:
    return _company(LedgerConfig(kind="quickbooks", api_url=f"{url}/v3", realm_id="1", ca_file=ca_file))


def _xero(url: str, ca_file: Path | None = None) -> CompanyConfig:
    return _company(LedgerConfig(kind="xero", api_url=f"{url}/api.xro/2.0", tenant_id="t", ca_file=ca_file))


def _housecallpro(url: str, ca_file: Path | None = None) -> tuple[HousecallProSourceConfig, CompanyConfig]:
    source = HousecallProSourceConfig(kind="housecallpro", api_url=url, ca_file=ca_file)
    return source, _company(LedgerConfig(realm_id="1"), source)


def _ledger(company: CompanyConfig):
    return build_ledger(company, sandbox_url=None, token_provider=lambda refused: TOKEN)


def _refused_as_tls(read) -> FatalError:
    """The read fails as a certificate refusal, in one line the same for every client, and names no secret."""
    with pytest.raises(FatalError) as caught:
        read()
    refused = caught.value
    assert refused.code == "tls"
    assert refused.message == "TLS certificate does not verify: unable to get local issuer certificate"
    assert TOKEN not in f"{refused} {refused.detail}" and API_KEY not in f"{refused} {refused.detail}"
    return refused


def test_the_quickbooks_ledger_refuses_a_private_ca_until_its_ca_file_is_configured(url, pki):
    _refused_as_tls(lambda: _ledger(_quickbooks(url)).find_customers(name="x", email=None))
    assert _ledger(_quickbooks(url, pki["ca"])).find_customers(name="x", email=None) == []


def test_the_xero_ledger_refuses_a_private_ca_until_its_ca_file_is_configured(url, pki):
    _refused_as_tls(lambda: _ledger(_xero(url)).find_customers(name="x", email=None))
    assert _ledger(_xero(url, pki["ca"])).find_customers(name="x", email=None) == []


def test_an_api_source_refuses_a_private_ca_until_its_ca_file_is_configured(url, pki):
    source, company = _housecallpro(url)
    _refused_as_tls(lambda: build_housecallpro(source, company, home=Path(".")).check())
    source, company = _housecallpro(url, pki["ca"])
    assert build_housecallpro(source, company, home=Path(".")).check()


def test_closeout_ca_file_is_the_default_for_every_client_that_sets_none(url, pki, monkeypatch):
    monkeypatch.setenv(CA_FILE_ENV, str(pki["ca"]))
    assert _ledger(_quickbooks(url)).find_customers(name="x", email=None) == []
    assert _ledger(_xero(url)).find_customers(name="x", email=None) == []
    source, company = _housecallpro(url)
    assert build_housecallpro(source, company, home=Path(".")).check()


def test_a_client_s_own_ca_file_wins_over_the_process_default(url, pki, tmp_path, monkeypatch):
    other = tmp_path / "other-ca.pem"
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    other.write_bytes(x509.CertificateBuilder().subject_name(_name("Another CA")).issuer_name(_name("Another CA"))
                      .public_key(key.public_key()).serial_number(x509.random_serial_number())
                      .not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
                      .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                      .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
    monkeypatch.setenv(CA_FILE_ENV, str(pki["ca"]))
    _refused_as_tls(lambda: _ledger(_quickbooks(url, other)).find_customers(name="x", email=None))


def test_ssl_cert_file_reaches_the_sources_and_xero_but_not_quickbooks_so_the_option_is_explicit(url, pki,
                                                                                                  monkeypatch):
    """What the README says of the standard variables: httpx and urllib3 honour ``SSL_CERT_FILE``; the QuickBooks
    session trusts no environment (``trust_env`` off), so not even ``REQUESTS_CA_BUNDLE`` reaches it."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki["ca"]))
    monkeypatch.setenv("SSL_CERT_FILE", str(pki["ca"]))
    _refused_as_tls(lambda: _ledger(_quickbooks(url)).find_customers(name="x", email=None))
    assert _ledger(_xero(url)).find_customers(name="x", email=None) == []
    source, company = _housecallpro(url)
    assert build_housecallpro(source, company, home=Path(".")).check()


def _config_file(folder: Path, ca_file: str, where: str) -> Path:
    ledger = f'ca_file = "{ca_file}"\n' if where == "ledger" else ""
    source = f'ca_file = "{ca_file}"\n' if where == "source" else ""
    path = folder / "closeout.toml"
    path.write_text(f"""
[[companies]]
id = "acme"
name = "Acme"

[companies.ledger]
kind = "quickbooks"
api_url = "https://quickbooks.example/v3"
realm_id = "1"
{ledger}
[[companies.sources]]
kind = "jobber"
{source}""", encoding="utf-8")
    return path


@pytest.mark.parametrize("where", ["ledger", "source"])
def test_a_relative_ca_file_is_read_from_beside_the_config(tmp_path, pki, where):
    (tmp_path / "ca.pem").write_bytes(pki["ca"].read_bytes())
    company = load_config(_config_file(tmp_path, "ca.pem", where)).companies[0]
    configured = company.ledger.ca_file if where == "ledger" else company.sources[0].ca_file
    assert configured == tmp_path / "ca.pem"


@pytest.mark.parametrize("where", ["ledger", "source"])
@pytest.mark.parametrize("content, reason", [(None, "does not exist"), (b"not a certificate\n", "no PEM certificate"),
                                             (b"\x00\x01binary", "no PEM certificate")])
def test_a_ca_file_that_is_missing_or_not_pem_is_one_config_error_at_load(tmp_path, where, content, reason):
    if content is not None:
        (tmp_path / "ca.pem").write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_config(_config_file(tmp_path, "ca.pem", where))
    problems = [line for line in str(caught.value).splitlines()[1:]]
    assert len(problems) == 1 and reason in problems[0] and "ca_file" in problems[0]


def test_a_bad_closeout_ca_file_is_one_config_error_naming_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(CA_FILE_ENV, str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigError) as caught:
        ca_file_for(None)
    assert str(caught.value) == f"{CA_FILE_ENV}: CA file {tmp_path / 'missing.pem'} does not exist"
