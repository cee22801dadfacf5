"""What a run shows on the Prefect dashboard beyond its summary table: progress bars and a daily report per company."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from services.config import CompanyConfig
from services.mailbox_config import MailboxConfig
from services.counts import StepCounts, describe_totals
from closeout.wiring import App
from exceptions_queue.cases import CaseStatus
from workorders.push import PushStatus
from workorders.totals import sum_by_currency


@dataclass
class _Progress:
    artifact_id: UUID | None = None
    done: int = 0
    total: int = 0


_OUTSTANDING = (PushStatus.ready, PushStatus.pushing, PushStatus.uncertain)
_KEEP = 256
_runs: dict[tuple[str, str], _Progress] = {}
"""(flow run id, artifact key) → that run's progress artifact, in the process that runs it."""


def push_progress_key(company: str) -> str:
    return f"closeout-push-progress-{company}"


def mail_progress_key(company: str) -> str:
    return f"closeout-mail-progress-{company}"


def report_key(company: str, day: date) -> str:
    return f"closeout-report-{company}-{day:%Y-%m-%d}"


def track_push(app: App, company: CompanyConfig, step: StepCounts) -> StepCounts:
    """Move this run's push progress for ``company`` by one batch's outcomes; returns ``step`` unchanged.

    The total is what this run has sent so far plus the drafts still ready or being sent, counted at the
    first batch: a backlog push's other workers hold claimed batches (``pushing``) by then.
    """
    handled = step.pushed + step.rejected + step.uncertain
    state = _state(push_progress_key(company.id))
    if state is None:
        return step
    if state.artifact_id is None and not state.total:
        state.total = handled + _outstanding(app, company)
    state.done += handled
    state.total = max(state.total, state.done)  # drafts prepared by another run while this one pushes
    _show(push_progress_key(company.id), state, f"{company.name}: {state.done} of {state.total} drafts sent to "
                                                f"{company.ledger.kind}")
    return step


def begin_push(app: App, company: CompanyConfig) -> None:
    """Count this run's push total before the first batch is sent: counted at the first batch's answer, the
    other push threads' saved outcomes would already be missing from it ("40 of 10 drafts sent")."""
    state = _state(push_progress_key(company.id))
    if state is not None and state.artifact_id is None:
        state.total = _outstanding(app, company)


def _outstanding(app: App, company: CompanyConfig) -> int:
    with app.store.unit_of_work() as uow:
        return sum(record.company == company.id for status in _OUTSTANDING
                   for record in uow.push_records.all(status=status))


def track_mail(company: CompanyConfig, mailbox: MailboxConfig) -> None:
    """Move this run's mail progress for ``company`` by one mailbox read (or failed)."""
    state = _state(mail_progress_key(company.id))
    if state is None:
        return
    state.total = len(company.mailboxes)
    state.done = min(state.done + 1, state.total)
    _show(mail_progress_key(company.id), state,
          f"{company.name}: {state.done} of {state.total} mailboxes read (last: {mailbox.name})")


def _state(key: str) -> _Progress | None:
    from prefect.runtime import flow_run

    run = flow_run.get_id()
    if run is None:  # outside a flow run there is no dashboard to show progress on
        return None
    if (str(run), key) not in _runs:
        while len(_runs) >= _KEEP:  # a long-lived `closeout serve` process: forget the oldest runs
            _runs.pop(next(iter(_runs)))
    return _runs.setdefault((str(run), key), _Progress())


def _show(key: str, state: _Progress, description: str) -> None:
    from prefect.artifacts import create_progress_artifact, update_progress_artifact

    percent = 100.0 if not state.total else round(min(100.0, 100.0 * state.done / state.total), 1)
    if state.artifact_id is None:
        state.artifact_id = create_progress_artifact(progress=percent, key=key, description=description)
    else:
        update_progress_artifact(artifact_id=state.artifact_id, progress=percent, description=description)


# ---- the daily report -----------------------------------------------------------------------------

def company_day(company: CompanyConfig, now: datetime) -> date:
    """Today in the company's own time zone."""
    return now.astimezone(ZoneInfo(company.timezone)).date()


def day_report(app: App, company: CompanyConfig, day: date) -> dict[str, Any]:
    """What happened for ``company`` on ``day`` (its time zone), read from the store: every run of the day."""
    zone = ZoneInfo(company.timezone)
    same_day = lambda moment: moment is not None and moment.astimezone(zone).date() == day  # noqa: E731
    with app.store.unit_of_work() as uow:
        pushed = [record for record in uow.push_records.all(status=PushStatus.pushed)
                  if record.company == company.id and same_day(record.updated_at)]
        cases = uow.cases.list(statuses=tuple(CaseStatus), company=company.id, limit=100_000)
    opened = Counter(case.kind.value for case in cases if same_day(case.opened_at))
    still_open = Counter(case.kind.value for case in cases if case.status in (CaseStatus.open, CaseStatus.in_progress))
    return {"invoices": sorted(pushed, key=lambda record: record.doc_number),
            "amount": sum((record.amount for record in pushed), Decimal(0)),
            "by_currency": sum_by_currency(
                (record.draft.currency, _subtotal(record), record.ledger_tax, record.ledger_total) for record in pushed),
            "opened": opened, "open": still_open}


def _or_dash(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _subtotal(record) -> Decimal:
    """Before tax: the ledger's total less its tax when it answered with them, else the draft's lines."""
    if record.ledger_total is not None and record.ledger_tax is not None:
        return record.ledger_total - record.ledger_tax
    return record.amount


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#|<>~])")


def markdown_text(value: object) -> str:
    """Text from outside (a company name, a doc number) as literal Markdown: the characters that make links,
    emphasis, code, HTML or table cells are escaped and line breaks become spaces, so a doc number like
    ``[x](http://e.vil)`` shows as itself, never as a link or a second cell."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def day_report_markdown(company: CompanyConfig, day: date, report: dict[str, Any], *, run: StepCounts | None = None,
                        queue_url: str = "") -> str:
    """The report as Markdown: invoices with amounts, cases opened by kind, what is still open, the last run."""
    invoices = report["invoices"]
    sums = "; ".join(describe_totals(entry) for entry in report.get("by_currency", ())) or "nothing"
    lines = [f"# {markdown_text(company.name)}: {day:%A %d %B %Y}", "",
             f"**{len(invoices)} invoice(s)** sent to {company.ledger.kind} today: {markdown_text(sums)}.", ""]
    if invoices:
        lines += ["| doc number | ledger id | lines | tax | total | currency |", "|---|---|---:|---:|---:|---|"]
        lines += [f"| {markdown_text(r.doc_number)} | {markdown_text(r.ledger_id or '')} | {r.amount:.2f} | "
                  f"{_or_dash(r.ledger_tax)} | {_or_dash(r.ledger_total)} | {markdown_text(r.draft.currency)} |"
                  for r in invoices[:200]]
        if len(invoices) > 200:
            lines.append(f"| … | {len(invoices) - 200} more | |")
        lines.append("")
    lines += ["## Cases", "", "| kind | opened today | open now |", "|---|---:|---:|"]
    kinds = sorted(set(report["opened"]) | set(report["open"]))
    lines += [f"| {kind} | {report['opened'][kind]} | {report['open'][kind]} |" for kind in kinds] or [
        "| none | 0 | 0 |"]
    if queue_url:
        lines += ["", f"Work them in the queue: {queue_url}/?company={company.id}"]
    if run is not None:
        outcomes = ", ".join(f"{outcome} {count}" for outcome, count in sorted(run.outcome_totals().items()))
        lines += ["", "## The last run (all companies)", "",
                  f"Pulled {run.pulled}, changed {run.changed}, drafts {run.drafts}, pushed {run.pushed} "
                  f"({markdown_text('; '.join(map(describe_totals, run.by_currency())) or 'nothing')}); "
                  f"rule decisions: {outcomes or 'none'}."]
    return "\n".join(lines) + "\n"
