"""The private Dovecot with an ``oauth2`` passdb: XOAUTH2 and OAUTHBEARER tokens checked at the sandbox's introspection.

Dovecot 2.3's oauth2 passdb (doc.dovecot.org/2.3, configuration_manual/authentication/oauth2): ``passdb { driver =
oauth2; mechanisms = xoauth2 oauthbearer; args = <file> }`` with ``introspection_mode = post`` (the token is
POSTed as the form field ``token``, RFC 7662), ``introspection_url``, ``username_attribute`` (the answer's field
that must equal the user the client names) and ``active_attribute = active`` / ``active_value = true`` (an
inactive token is refused). One passdb per mail provider, Microsoft's first: a token the first does not know
falls through to the next (``result_failure = continue``, the default). No auth cache, so a revoked token is
refused at the next login. The password passdb stays, for PLAIN and LOGIN only.
"""

from __future__ import annotations

import os

from sandbox.dovecot_server import PASSWORD, DovecotServer

OAUTH_USER = "field@acme.example"
"""The mailbox user both providers sign in as (and who also has a password: the same mail, read either way)."""

PASSWD_PASSDB = """passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
"""
OAUTH_PASSDB = """passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {conf}
}}
"""
OAUTH_CONF = """introspection_mode = post
introspection_url = {url}
username_attribute = {attribute}
active_attribute = active
active_value = true
timeout_msecs = 10000
"""


class DovecotOAuthServer(DovecotServer):
    """``DovecotServer`` whose logins also take XOAUTH2 / OAUTHBEARER tokens of the sandbox at ``sandbox_url``."""

    def __init__(self, sandbox_url: str) -> None:
        self.sandbox_url = sandbox_url
        super().__init__()
        with open(self.dir / "passwd", "a") as passwd:  # the base made it readable by Dovecot's processes
            passwd.write(f"{OAUTH_USER}:{{PLAIN}}{PASSWORD}\n")
        mail = self.dir / "mail" / OAUTH_USER
        mail.mkdir()
        os.chmod(mail, 0o755)
        os.chown(mail, self.uid, self.gid)
        for system, attribute in (("ms365", "username"), ("google", "email")):
            conf = self.dir / f"oauth2-{system}.conf"
            conf.write_text(OAUTH_CONF.format(url=f"{sandbox_url}/_sandbox/{system}/introspect", attribute=attribute))
            os.chmod(conf, 0o644)  # read by the auth process, whatever the umask (Closeout runs under 077)

    def config_text(self) -> str:
        text = super().config_text()
        passdbs = "".join(OAUTH_PASSDB.format(conf=self.dir / f"oauth2-{system}.conf")
                          for system in ("ms365", "google"))
        plain = PASSWD_PASSDB.format(d=self.dir)
        assert "auth_mechanisms = plain login\n" in text and plain in text, "the base config changed"
        text = text.replace("auth_mechanisms = plain login\n",
                            "auth_mechanisms = xoauth2 oauthbearer plain login\nauth_verbose = yes\n")
        return text.replace(plain, passdbs + plain.replace("  driver = passwd-file\n",
                                                           "  driver = passwd-file\n  mechanisms = plain login\n"))
