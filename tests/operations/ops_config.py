"""The operations tests' company config: a Jobber source, IMAP mailboxes and a QuickBooks ledger."""

from __future__ import annotations

from pathlib import Path

from sandbox.dovecot_server import DovecotServer


def write_config(path: Path, company: str, *, jobber_url: str, mail: DovecotServer | None = None,
                 mail_folders: dict[str, str] | None = None, ledger_url: str = "sandbox") -> Path:
    """A company with a Jobber source, IMAP mailboxes (name → folder) and a QuickBooks ledger (the sandbox's)."""
    text = f'''
[[companies]]
id = "{company}"
name = "{company.title()} Services"
[companies.ledger]
kind = "quickbooks"
api_url = "{ledger_url}"
realm_id = "4620816365"
[[companies.sources]]
kind = "jobber"
api_url = "{jobber_url}"
'''
    for name, folder in (mail_folders or {}).items():
        text += f'''
[[companies.mailboxes]]
kind = "imap"
name = "{name}"
host = "127.0.0.1"
port = {mail.imaps_port}
username = "crew"
ca_file = "{mail.ca_file}"
folders = ["{folder}"]
connect_timeout = 5
read_timeout = 5
'''
    path.write_text(text)
    return path
