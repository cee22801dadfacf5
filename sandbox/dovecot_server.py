"""A private Dovecot on 127.0.0.1 for the mail tests and the fault campaign: own config, self-signed TLS, free ports.

It installs nothing (``make system-deps`` does). See /work/shared/reference/imap.md for the measured behaviour.
"""

from __future__ import annotations

import os
import pwd
import grp
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DOVECOT = "/usr/sbin/dovecot"
USER, PASSWORD = "crew", "van-notes-42"

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
instance_name = closeout-dovecot-{imaps}
log_path = {d}/dovecot.log
ssl = yes
ssl_cert = <{d}/tls/server.crt
ssl_key = <{d}/tls/server.key
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
first_valid_uid = 1
mail_location = maildir:~/Maildir
mail_fsync = never
mail_max_userip_connections = 1000
{users}
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps}
  }}
  {chroot}
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
  {chroot}
}}
service imap-urlauth-login {{
  {chroot}
}}
"""


@contextmanager
def _readable_by_dovecot() -> Iterator[None]:
    """Files made here are read by Dovecot's unprivileged processes (user ``dovecot`` when run as root), so they
    are made under umask 022 whatever the host process uses (Closeout itself runs under 077)."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(tls: Path) -> None:
    """A throwaway CA and a server certificate for 127.0.0.1 / localhost signed by it (EC P-256)."""
    tls.mkdir(parents=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=Closeout Test CA",
             cwd=tls)
    _openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost", cwd=tls)
    (tls / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.crt", "-days", "2", "-extfile", "ext.cnf", cwd=tls)
    os.chmod(tls / "server.key", 0o644)


class DovecotServer:
    def __init__(self) -> None:
        with _readable_by_dovecot():
            self._make()

    def _make(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="cdv-", dir="/tmp"))
        os.chmod(self.dir, 0o755)
        self.ca_file = str(self.dir / "tls" / "ca.crt")
        self.process: subprocess.Popen | None = None
        self.imap_port = self.imaps_port = 0
        if os.geteuid() == 0:
            self.uid, self.gid = pwd.getpwnam("dovecot").pw_uid, grp.getgrnam("dovecot").gr_gid
            self._users, self._chroot = "", ""
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
            me, group = pwd.getpwuid(self.uid).pw_name, grp.getgrgid(self.gid).gr_name
            self._users = (f"default_internal_user = {me}\ndefault_login_user = {me}\n"
                           f"default_internal_group = {group}\n")
            self._chroot = "chroot ="
        make_certificates(self.dir / "tls")
        (self.dir / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        mail = self.dir / "mail" / USER
        mail.mkdir(parents=True)
        os.chown(self.dir / "mail", self.uid, self.gid)
        os.chown(mail, self.uid, self.gid)

    def start(self) -> "DovecotServer":
        """Start on free ports (keeping them across a restart, so a client can resume); ready when it greets."""
        for _ in range(5):
            if not self.imaps_port:
                self.imap_port, self.imaps_port = _free_port(), _free_port()
            conf = self.dir / "dovecot.conf"
            with _readable_by_dovecot():
                conf.write_text(self.config_text())
            self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)], start_new_session=True,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if self._wait_for_greeting():
                return self
            self.process.wait(timeout=5)
            self.imaps_port = 0  # port clash: try new ports
        raise RuntimeError(f"dovecot did not start; log:\n{self.log()}")

    def config_text(self) -> str:
        """The instance's dovecot.conf (a variant, such as the OAuth2 one of the mail tests, changes it)."""
        return CONFIG.format(d=self.dir, imap=self.imap_port, imaps=self.imaps_port, uid=self.uid, gid=self.gid,
                             users=self._users, chroot=self._chroot)

    def _wait_for_greeting(self) -> bool:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.imap_port), timeout=1) as s:
                    if s.recv(64).startswith(b"* OK"):
                        return True
            except OSError:
                time.sleep(0.01)
        return False

    def stop(self, *, graceful: bool = False) -> None:
        """Kill the master's whole process group: the logged-in imap processes do not stop with the master."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM if graceful else signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)
        self.process = None

    def session_pids(self) -> list[int]:
        """PIDs of our instance's imap session processes (children in our process group)."""
        out = subprocess.run(["ps", "-o", "pid=,pgid=,comm=", "-e"], capture_output=True, text=True).stdout
        pgid = self.process.pid if self.process else -1
        return [int(p) for p, g, c in (line.split(None, 2) for line in out.splitlines() if line.strip())
                if int(g) == pgid and c.strip() == "imap"]

    def log(self) -> str:
        path = self.dir / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
