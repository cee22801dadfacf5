"""What ``closeout setup`` does with the Prefect API: register block types, save the blocks, apply automations."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from prefect.blocks.core import Block
from prefect.exceptions import PrefectHTTPStatusError
from pydantic import SecretStr, ValidationError

from services.config import CloseoutConfig, ConfigError
from closeout.orchestration.prefect_api import prefect_api_url
from closeout.credentials.blocks import (LEDGER_BLOCKS, LEDGER_SECRET_PREFIX, SOURCE_BLOCKS, all_block_types,
                                        block_document_name)
from closeout.credentials.lookup import env_name

AUTOMATIONS_DIR = Path(__file__).resolve().parents[1] / "automations"  # closeout/automations/
NOTIFY_BLOCK = "closeout-notify"
PLACEHOLDER_BLOCK_ID = "00000000-0000-0000-0000-000000000000"
BUSY_STATUSES = {429, 500, 502, 503, 504}
"""Answers of a busy or restarting Prefect server (a SQLite-backed one answers 503 while its database is locked)."""
API_ATTEMPTS = 4
T = TypeVar("T")


class PrefectUnreachableError(ConfigError):
    """No Prefect API is configured, or the configured one does not answer."""


def call_prefect(what: str, call: Callable[..., T], *args: Any, sleep: Callable[[float], None] = time.sleep,
                 **kwargs: Any) -> T:
    """One idempotent call of the Prefect API (everything setup does can run again), tried again after 1, 2 and
    4 s while the server is busy; an answer that stays wrong is a one-line PrefectUnreachableError, never a
    traceback. Prefect's client already retries some of these itself; this outlasts a longer busy spell."""
    for attempt in range(API_ATTEMPTS):
        try:
            return call(*args, **kwargs)
        except (PrefectHTTPStatusError, httpx.TransportError) as exc:
            status = exc.response.status_code if isinstance(exc, PrefectHTTPStatusError) else None
            if (status is not None and status not in BUSY_STATUSES) or attempt == API_ATTEMPTS - 1:
                answer = f"HTTP {status}" if status is not None else type(exc).__name__
                tries = "1 try" if attempt == 0 else f"{attempt + 1} tries"
                raise PrefectUnreachableError(f"the Prefect API could not {what} ({answer}, {tries}): "
                                              "check the server's log, then run `closeout setup` again") from None
            sleep(2.0 ** attempt)
    raise AssertionError("unreachable")


def check_prefect_api() -> str:
    """The configured API's URL once it answers; else a one-line error saying how to get one."""
    from prefect.client.orchestration import get_client
    url = prefect_api_url()
    if not url:
        raise PrefectUnreachableError(
            "no Prefect API is configured: start one (`closeout dashboard` or `prefect server start`) and set "
            "PREFECT_API_URL, e.g. export PREFECT_API_URL=http://127.0.0.1:4200/api")
    with get_client(sync_client=True) as client:
        problem = client.api_healthcheck()
    if problem is not None:
        raise PrefectUnreachableError(f"the Prefect API at {url} does not answer ({type(problem).__name__}): "
                                      "is the server running?")
    return url


def register_block_types() -> list[str]:
    """Register the six credential block types (idempotent), so the Prefect UI offers their forms."""
    slugs = []
    for block_type in all_block_types():
        call_prefect(f"register the block type {block_type.get_block_type_slug()}", block_type.register_type_and_schema)
        slugs.append(block_type.get_block_type_slug())
    return slugs


@dataclass(frozen=True)
class NeededBlock:
    """A credential block the config needs: its type, name, what it is for, and where its values can come from."""

    block_type: type[Block]
    name: str
    purpose: str
    env: dict[str, str]
    defaults: dict[str, str] = field(default_factory=dict)

    def fields(self) -> list[tuple[str, bool, bool]]:
        """``(field, is_secret, required)`` for each text field of the block type (times are Closeout's to fill)."""
        return [(name, _is_secret(info.annotation), info.is_required())
                for name, info in self.block_type.model_fields.items() if _is_text(info.annotation)]

    def exists(self) -> bool:
        try:
            call_prefect(f"read the block {self.name!r}", self.block_type.load, self.name)
        except ValueError:  # Prefect's "Unable to find block document named ..."
            return False
        return True

    def values_from_env(self) -> tuple[dict[str, str], list[str]]:
        """The values the environment (or the config) gives, and the env vars of required fields still missing."""
        values, missing = {}, []
        for name, _, required in self.fields():
            value = os.environ.get(self.env.get(name, "")) or self.defaults.get(name)
            if value:
                values[name] = value
            elif required:
                missing.append(self.env.get(name, name))
        return values, missing

    def save(self, values: dict[str, str]) -> None:
        """Create or overwrite the block; a value the type refuses is a one-line error without the value."""
        try:
            block = self.block_type(**values)
        except ValidationError as exc:
            wrong = ", ".join(str(error["loc"][0]) for error in exc.errors())
            slug = self.block_type.get_block_type_slug()
            raise ConfigError(f"the {slug} block {self.name!r} refuses the value of: {wrong}") from None
        call_prefect(f"save the block {self.name!r}", block.save, self.name, overwrite=True)


def needed_blocks(config: CloseoutConfig) -> list[NeededBlock]:
    """Every credential block the companies in the config need (CSV drops, Maildirs and sandbox ledgers need none)."""
    needed = []
    ledgers = LEDGER_BLOCKS
    for company in config.companies:
        for source in company.sources:
            block_type = SOURCE_BLOCKS.get(source.kind)
            if block_type is not None:
                needed.append(_needed(block_type, company.id, source.name, f"{company.name}: {source.kind} source "
                                      f"{source.name!r}"))
        for mailbox in company.mailboxes:
            if mailbox.kind == "imap" and mailbox.auth == "password":  # an OAuth2 one's tokens come from connecting
                needed.append(_needed(SOURCE_BLOCKS["imap"], company.id, mailbox.name,
                                      f"{company.name}: mailbox {mailbox.username}@{mailbox.host}"))
        ledger = company.ledger
        if not ledger.uses_sandbox and ledger.kind in ledgers:
            needed.append(_ledger_needed(ledgers[ledger.kind], company))
    return needed


def _needed(block_type, company: str, name: str, purpose: str) -> NeededBlock:
    env = {field: env_name(block_type.secret_kind(field, name), company) for field in block_type.model_fields}
    return NeededBlock(block_type, block_document_name(company, name), purpose, env)


def _ledger_needed(block_type: type[Block], company) -> NeededBlock:
    prefix = LEDGER_SECRET_PREFIX[company.ledger.kind]
    env = {field: env_name(f"{prefix}-{field.replace('_', '-')}", company.id) for field in block_type.model_fields}
    defaults = {name: str(value) for name, value in company.ledger.model_dump().items()
                if name in block_type.model_fields and value not in (None, "")}
    return NeededBlock(block_type, block_document_name(company.id, company.ledger.kind),
                       f"{company.name}: {company.ledger.kind} ledger", env, defaults)


def _is_text(annotation: Any) -> bool:
    return bool({str, SecretStr} & {annotation, *getattr(annotation, "__args__", ())})


def _is_secret(annotation: Any) -> bool:
    return annotation is SecretStr or SecretStr in getattr(annotation, "__args__", ())


# ---- automations ----------------------------------------------------------------------------------

def automation_files(folder: Path = AUTOMATIONS_DIR) -> list[Path]:
    return sorted(folder.glob("*.yaml"))


def find_notify_block_id() -> str | None:
    """The id of the notification block named ``closeout-notify`` (any notification type), if there is one."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        for document in call_prefect("list the blocks", client.read_block_documents, include_secrets=False):
            if document.name == NOTIFY_BLOCK and "notify" in (document.block_schema.capabilities
                                                              if document.block_schema else []):
                return str(document.id)
    return None


def save_notify_webhook(url: str) -> str:
    """A webhook notification block ``closeout-notify`` posting ``{"text": subject + body}``; returns its id."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    block = CustomWebhookNotificationBlock(name="closeout", url=url, json_data={"text": "{{subject}}\n{{body}}"})
    return str(call_prefect(f"save the block {NOTIFY_BLOCK!r}", block.save, NOTIFY_BLOCK, overwrite=True))


def apply_automations(files: list[Path], *, notify_block_id: str | None) -> list[tuple[str, bool]]:
    """Create each automation in ``files``, replacing any of the same name (so setup can run again).

    The placeholder block id becomes the ``closeout-notify`` block's; without one the automations are created
    disabled (visible in the UI, to enable once a notification block exists). Returns ``(name, enabled)``.
    """
    import yaml
    from prefect.client.orchestration import get_client
    from prefect.events.schemas.automations import AutomationCore

    applied = []
    with get_client(sync_client=True) as client:
        for path in files:
            for data in yaml.safe_load(path.read_text(encoding="utf-8")).get("automations", []):
                data = _with_notify_block(data, notify_block_id)
                try:
                    automation = AutomationCore.model_validate(data)
                except ValidationError as exc:
                    raise ConfigError(f"{path.name}: automation {data.get('name')!r} is not valid: "
                                      f"{exc.errors()[0]['msg']}") from None
                # one step, tried again whole: a create that failed after it landed is deleted by the next try
                call_prefect(f"replace the automation {automation.name!r}", _replace_automation, client, automation)
                applied.append((automation.name, automation.enabled))
    return applied


def _replace_automation(client: Any, automation: Any) -> None:
    for existing in client.read_automations_by_name(automation.name):
        client.delete_automation(existing.id)
    client.create_automation(automation)


def _with_notify_block(data: dict, notify_block_id: str | None) -> dict:
    data = dict(data)
    uses_placeholder = False
    actions = []
    for action in data.get("actions", []):
        if str(action.get("block_document_id", "")) == PLACEHOLDER_BLOCK_ID:
            uses_placeholder = True
            action = {**action, "block_document_id": notify_block_id or PLACEHOLDER_BLOCK_ID}
        actions.append(action)
    data["actions"] = actions
    if uses_placeholder and notify_block_id is None:
        data["enabled"] = False
    return data
