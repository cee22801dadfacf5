"""People who work the queue: roles, what each may do, scrypt password hashes and API token digests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

# scrypt at N=2**14, r=8, p=1 costs ~16 MiB and tens of milliseconds: OWASP's floor for interactive sign-in.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
MIN_PASSWORD = 10


class Role(StrEnum):
    viewer = "viewer"
    coordinator = "coordinator"
    finance = "finance"
    admin = "admin"


DECIDERS = (Role.coordinator, Role.finance, Role.admin)


class User(BaseModel):
    model_config = ConfigDict(frozen=True)

    username: str
    role: Role
    created_at: datetime | None = None
    email: str | None = None
    """Where notifications to this person go (``services.notify``); None: they are told nothing."""
    companies: tuple[str, ...] = ()
    """The companies whose cases this person sees and decides (``sees``); empty: every company's."""

    def sees(self, company: str | None) -> bool:
        """Whether a case of ``company`` is this person's to see: a scoped person sees no company-less case."""
        return not self.companies or company in self.companies

    @property
    def can_decide(self) -> bool:
        """Viewers read; everyone else may take decisions on cases."""
        return self.role in DECIDERS

    @property
    def can_manage_users(self) -> bool:
        return self.role is Role.admin


class UserError(ValueError):
    """A user account cannot be created or changed as asked (the message says why)."""


def check_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME.match(name):
        raise UserError("a username is 2-64 characters: lower-case letters, digits, '.', '_', '@' or '-'")
    return name


EMAIL = re.compile(r"^[^@\s<>,;\"]{1,64}@[A-Za-z0-9.-]{1,189}\.[A-Za-z]{2,63}$")


def check_email(email: str) -> str:
    """One plain address (no display name, no list): what a notification's To header may carry."""
    address = email.strip()
    if not EMAIL.match(address):
        raise UserError(f"{address!r} is not one e-mail address (name@example.com)")
    return address


COMPANY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
"""A company id as the config spells one (``services.config.CompanyConfig.id``)."""
MAX_COMPANIES = 100


def check_companies(companies: Iterable[str]) -> tuple[str, ...]:
    """The company ids a person is limited to, each once and in order; UserError for a malformed one."""
    ids = tuple(dict.fromkeys(company.strip() for company in companies))
    if len(ids) > MAX_COMPANIES:
        raise UserError(f"a user is limited to at most {MAX_COMPANIES} companies")
    for company in ids:
        if not COMPANY_ID.match(company):
            raise UserError(f"{company!r} is not a company id (lower-case letters, digits and '-')")
    return ids


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64): the parameters travel with the hash, so they can be raised later."""
    if len(password) < MIN_PASSWORD:
        raise UserError(f"a password needs at least {MIN_PASSWORD} characters")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return "$".join(["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check; a malformed stored hash verifies nothing rather than raising."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                                dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def new_api_token() -> str:
    """A bearer token for scripts; shown once, only its digest is stored."""
    return "co_" + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """Tokens are long random strings, so a plain SHA-256 suffices (no KDF needed to resist guessing)."""
    return hashlib.sha256(token.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
