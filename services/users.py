"""Queue users on the store: add or reset one, issue API tokens, and the UI's cookie-signing secret."""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from services.config import ConfigError, UserConfig
from services.runtime import Store
from exceptions_queue.users import (Role, User, UserError, check_companies, check_email, check_username,
                                    hash_password, new_api_token, token_digest)

SECRET_FILE = "ui-secret"
SECRET_VARIABLE = "CLOSEOUT_UI_SECRET"


def add_user(store: Store, username: str, role: Role, password: str, *, actor: str,
             email: str | None = None, companies: Sequence[str] | None = None) -> User:
    """Create the user or reset its role and password (and e-mail address, when one is given: where notifications
    to them go; and the companies they are limited to, when given: ``()`` is every company); the audit trail
    records who did it (never the password)."""
    name = check_username(username)
    address = None if email is None else check_email(email)
    scope = None if companies is None else check_companies(companies)
    digest = hash_password(password)
    with store.unit_of_work() as uow:
        existed = uow.users.get(name)
        user = uow.users.add(name, Role(role), digest, email=address, companies=scope)
        after = {"role": user.role.value, **({"email": address} if address else {}),
                 **({"companies": list(scope)} if scope is not None else {})}
        uow.audit.append(actor=actor, action="user_reset" if existed else "user_added", subject=f"user:{name}",
                         before={"role": existed.role.value} if existed else {}, after=after)
        uow.commit()
    return user


def create_token(store: Store, username: str, *, label: str, actor: str) -> str:
    """A new bearer token for the user's scripts; returned once, stored only as a digest."""
    name = check_username(username)
    token = new_api_token()
    with store.unit_of_work() as uow:
        if uow.users.get(name) is None:
            raise UserError(f"no user {name!r}: add it first with `closeout users add`")
        uow.users.add_token(name, token_digest(token), label)
        uow.audit.append(actor=actor, action="token_issued", subject=f"user:{name}", note=label)
        uow.commit()
    return token


def sync_config_users(store: Store, people: Sequence[UserConfig], *, actor: str = "config") -> list[str]:
    """Create or update each ``[[users]]`` entry of the config (role and password hash); returns who changed.

    An entry already in the store with the same role and hash changes nothing and logs nothing; users who are
    not in the config are left as they are (remove or demote them with `closeout users add`).
    """
    changed: list[str] = []
    with store.unit_of_work() as uow:
        for person in people:
            try:
                name = check_username(person.username)
            except UserError as exc:
                raise ConfigError(f"users: {person.username!r}: {exc}") from None
            try:
                address = None if person.email is None else check_email(person.email)
            except UserError as exc:
                raise ConfigError(f"users: {person.username!r}: {exc}") from None
            try:
                scope = None if person.companies is None else check_companies(person.companies)
            except UserError as exc:
                raise ConfigError(f"users: {person.username!r}: {exc}") from None
            existed = uow.users.get(name)
            if existed and existed.role == person.role and uow.users.password_hash(name) == person.password_hash \
                    and (address is None or existed.email == address) \
                    and (scope is None or existed.companies == scope):
                continue
            user = uow.users.add(name, Role(person.role), person.password_hash, email=address, companies=scope)
            uow.audit.append(actor=actor, action="user_reset" if existed else "user_added", subject=f"user:{name}",
                             note="from the config file", before={"role": existed.role.value} if existed else {},
                             after={"role": user.role.value, **({"companies": list(scope)} if scope is not None else {})})
            changed.append(name)
        uow.commit()
    return changed


def ui_secret(home: Path) -> str:
    """``$CLOSEOUT_UI_SECRET``, else a random key kept in the workspace (0600), made on first use."""
    configured = os.environ.get(SECRET_VARIABLE, "").strip()
    if configured:
        return configured
    path = home / SECRET_FILE
    if path.exists():
        return path.read_text().strip()
    home.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secret)
    return secret
