"""Health checks: one cheap call per source, mailbox and ledger; each problem becomes a case and an event."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.config import MissingSecretError, CompanyConfig, ConfigError, CsvSourceConfig, SourceConfig
from services.doctor import check_company_mappings
from services.preflight import NOT_IN_LEDGER
from services.mailbox_config import MailboxConfig
from services.runtime import Emit, Runtime
from connectors.errors import ConnectorError
from exceptions_queue.service import CaseQueue
from workorders.anomalies import Anomaly, AnomalyCode

PROBE_DOC_NUMBER = "closeout-health-probe"
FAILED, STALE, TOKEN_EXPIRING = "failed", "stale", "token_expiring"
EVENTS = {FAILED: "closeout.health.failed", STALE: "closeout.health.stale",
          TOKEN_EXPIRING: "closeout.health.token-expiring"}


@dataclass(frozen=True)
class HealthRow:
    """One component's check: ``problem`` is empty when it is healthy, else failed, stale or token_expiring."""

    company: str
    kind: str  # source, mailbox, ledger or mappings (the preflight of the mapping tables)
    name: str
    detail: str
    latency_ms: int
    problem: str = ""
    missing: tuple[dict[str, str], ...] = ()
    """For a mappings row: the entries naming codes the ledger lacks, so its case offers the add-mapping form."""

    @property
    def ok(self) -> bool:
        return not self.problem

    @property
    def component(self) -> str:
        return f"{self.company}/{self.kind}:{self.name}"

    @property
    def resource_id(self) -> str:
        return f"closeout.{self.kind}.{self.company}.{self.name}"

    def as_row(self) -> dict[str, str]:
        return {"component": self.component, "ok": "yes" if self.ok else "NO", "detail": self.detail,
                "latency ms": str(self.latency_ms)}


def check_company(app: Runtime, company: CompanyConfig, *, stale_after: timedelta = timedelta(hours=72),
                  token_warning: timedelta | None = None, now: datetime | None = None) -> list[HealthRow]:
    """Every source, mailbox and the ledger of one company; a failing check never stops the others.

    ``token_warning`` defaults to the ledger's ``refresh_warning_days`` from the config.
    """
    now = now or datetime.now(UTC)
    rows = [_probe(company, "source", source.name, lambda s=source: _check_source(app, company, s))
            for source in company.sources]
    rows += [_probe(company, "mailbox", mailbox.name, lambda m=mailbox: _check_mailbox(app, company, m, now, stale_after))
             for mailbox in company.mailboxes]
    rows.append(_probe(company, "ledger", company.ledger.kind,
                       lambda: _check_ledger(app, company, now, token_warning)))
    rows.append(_probe(company, "mappings", company.ledger.kind, lambda: _check_mappings(app, company)))
    return rows


def _probe(company: CompanyConfig, kind: str, name: str, check: Callable[[], tuple[str, ...]]) -> HealthRow:
    started = time.perf_counter()
    missing: tuple[dict[str, str], ...] = ()
    try:
        problem, detail, *found = check()
        missing = tuple(found[0]) if found else ()
    except (MissingSecretError, ConfigError) as exc:
        problem, detail = FAILED, str(exc)
    except ConnectorError as exc:
        problem, detail = FAILED, f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # noqa: BLE001 - fails this row only; its text is not shown (it may hold secrets)
        problem, detail = FAILED, f"unexpected {type(exc).__name__} while checking"
    latency = round((time.perf_counter() - started) * 1000)
    return HealthRow(company.id, kind, name, detail[:500], latency, problem, missing)


def _check_source(app: Runtime, company: CompanyConfig, source: SourceConfig) -> tuple[str, str]:
    if isinstance(source, CsvSourceConfig):
        if not source.path.is_dir():
            return FAILED, f"the drop folder {source.path} does not exist"
        return "", f"drop folder {source.path} is there"
    return "", app.api_source_for(source, company).check()


def _check_mailbox(app: Runtime, company: CompanyConfig, mailbox: MailboxConfig, now: datetime,
                   stale_after: timedelta) -> tuple[str, str]:
    if mailbox.kind != "imap":  # a local Maildir or mbox (often an export): readable is healthy, never stale
        newest = _newest_file(mailbox.path)
        return "", f"{mailbox.kind} readable" + (f"; newest file {_age(now - newest)} old" if newest else "")

    with app.inbox_for(company, mailbox) as inbox:
        arrivals = [inbox.newest_arrival(folder) for folder in mailbox.folders]
    newest = max((arrival for arrival in arrivals if arrival is not None), default=None)
    if newest is None:
        return "", "reachable; no message yet"
    age = now - newest
    text = f"newest message {_age(age)} old"
    if age > stale_after:
        return STALE, f"{text}: nothing new for longer than {_age(stale_after)}"
    return "", text


def _newest_file(path: Path | None) -> datetime | None:
    if path is None or not path.exists():
        raise ConfigError(f"the mailbox path {path} does not exist")
    files = [path] if path.is_file() else [f for f in path.rglob("*") if f.is_file()]
    stamp = max((f.stat().st_mtime for f in files), default=None)
    return datetime.fromtimestamp(stamp, UTC) if stamp is not None else None


def _check_ledger(app: Runtime, company: CompanyConfig, now: datetime,
                  token_warning: timedelta | None) -> tuple[str, str]:
    ledger = app.ledger_for(company)
    ledger.find_invoices([PROBE_DOC_NUMBER])  # one cheap authenticated read (refreshes the token if it must)
    detail = f"{company.ledger.kind} answered"
    expires = app.ledger_token_expiry(company)
    if expires is None:
        return "", detail
    warning = token_warning or timedelta(days=getattr(company.ledger, "refresh_warning_days", 14))
    if expires - now < warning:
        return TOKEN_EXPIRING, f"{detail}; its refresh token ends {expires:%Y-%m-%d %H:%M} UTC"
    return "", f"{detail}; refresh token good until {expires:%Y-%m-%d}"


def _check_mappings(app: Runtime, company: CompanyConfig) -> tuple[str, str, list[dict[str, str]]]:
    """The doctor's preflight on a schedule: a mapping naming a code the ledger lost (an item made inactive, a
    tax code renamed) shows here before the next push is refused for it."""
    check = check_company_mappings(app, company)
    if check.ok:
        return "", check.detail, []
    if not check.ledger_read:
        # The ledger row already fails (and opens its case) for an unreachable ledger: a second case would
        # blame the tables for the ledger's outage.
        return "", f"not checked: {check.detail}", []
    shown = "; ".join(unknown.describe() for unknown in check.unknown[:5])
    more = f" (and {len(check.unknown) - 5} more: see closeout doctor)" if len(check.unknown) > 5 else ""
    missing = [{"table": unknown.table, "key": unknown.key, "code": unknown.code} for unknown in check.unknown
               if unknown.problem == NOT_IN_LEDGER]
    return FAILED, (f"{check.detail}: {shown}{more}" if shown else check.detail), missing


def _age(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if abs(minutes) < 120:
        return f"{minutes} min"
    if abs(minutes) < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // 1440} days"


# ---- what a problem does: a case per component, an event per problem ------------------------------

_TOKEN_CASE = getattr(AnomalyCode, "ledger_token_expiring", AnomalyCode.token_expiring)
_KINDS = {("mailbox", FAILED): AnomalyCode.mailbox_stalled, ("mailbox", STALE): AnomalyCode.mailbox_stalled,
          ("ledger", TOKEN_EXPIRING): _TOKEN_CASE, ("mappings", FAILED): AnomalyCode.missing_mapping}
_ACTIONS = {AnomalyCode.mailbox_stalled: ("fix_credentials", "check_server", "ignore"),
            _TOKEN_CASE: ("reconnect_ledger", "ignore"),
            AnomalyCode.missing_mapping: ("fix_mapping", "ignore"),
            AnomalyCode.connection_failed: ("fix_credentials", "check_server", "ignore")}


def case_subject(row: HealthRow) -> str:
    """Subjects shared with the mail ingest (mailboxes) and the token refresh (expiring ledger tokens), so each
    problem has one open case whoever finds it first."""
    if row.kind == "mailbox":
        return f"mailbox:{row.company}/{row.name}"
    if row.problem == TOKEN_EXPIRING:
        return f"{row.company}:{row.name}"
    return f"health:{row.component}"


def record_problems(app: Runtime, rows: list[HealthRow], *, emit: Emit | None = None) -> int:
    """Open a case for each problem (or keep the open one), close the health cases of components that pass
    again, and emit one event per problem. Returns how many cases were opened."""
    opened = 0
    with app.store.unit_of_work() as uow:
        queue = CaseQueue(uow.cases)
        for row in rows:
            if row.ok:
                for kind in (AnomalyCode.connection_failed, AnomalyCode.mailbox_stalled, AnomalyCode.missing_mapping):
                    found = uow.cases.find_open(kind=kind, subject=case_subject(row))
                    if found is not None:
                        queue.close_if_cleared(found, note=f"the health check passes again: {row.detail}")
                continue
            kind = _KINDS.get((row.kind, row.problem), AnomalyCode.connection_failed)
            case, new = queue.open_case(Anomaly(
                code=kind, subject=case_subject(row), company=row.company,
                summary=f"Health check of {row.kind} {row.name!r}: {row.detail}"[:900],
                evidence={"component": row.component, "problem": row.problem, "detail": row.detail,
                          "latency_ms": row.latency_ms, **({"missing": list(row.missing)} if row.missing else {})},
                suggested_actions=_ACTIONS[kind]))
            opened += new
            row_case = case.id
            if emit is not None:
                emit(event=EVENTS[row.problem], resource=_resource(row),
                     payload={"detail": row.detail, "case_id": row_case, "new_case": new})
                if row.kind == "mailbox":  # the event the mail ingest emits too (see the stalled-mailbox automation)
                    emit(event="closeout.mailbox.stalled", resource=_resource(row),
                         payload={"company": row.company, "mailbox": row.name, "why": row.detail})
        uow.commit()
    return opened


def _resource(row: HealthRow) -> dict[str, str]:
    return {"prefect.resource.id": row.resource_id, "prefect.resource.name": row.component,
            "closeout.company": row.company, "closeout.component.kind": row.kind}
