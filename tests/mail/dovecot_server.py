"""The private Dovecot the mail tests start: it lives in sandbox/dovecot_server.py (the fault campaign uses it too)."""

from sandbox.dovecot_server import DOVECOT, PASSWORD, USER, DovecotServer, make_certificates  # noqa: F401
