"""How ``closeout explain`` and ``closeout preview`` print: the rendering of what services.explain and .preview compute."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table
from rich.text import Text

from closeout.cli.presenters import show_choices
from services.explain import Explanation, describe_payment
from services.preview import Preview
from workorders.decisions import Outcome, RuleDecision
from workorders.push import PushRecord

OUTCOME_STYLE = {Outcome.passed: "green", Outcome.warn: "yellow", Outcome.block: "red", Outcome.transform: "cyan",
                 Outcome.no_invoice: "magenta"}


def show_explanation(console: Console, found: Explanation, *, all_evaluations: bool = False) -> None:
    order = found.latest
    console.rule(f"[bold]Job {order.job_number}[/] {order.id}")
    console.print(f"  company:   {order.company}")
    console.print(f"  customer:  {order.customer.name}" + (f" <{order.customer.email}>" if order.customer.email else ""))
    console.print(f"  site:      {order.site.name or '-'} ({order.site.timezone})")
    console.print(f"  job:       {order.job_type.value}, {order.status.value}, {order.billing.value}, "
                  f"subtotal {order.subtotal} {order.currency}")
    console.print("  [bold]ended in:[/]  ", end="")
    console.print(found.ending(), markup=False, highlight=False, soft_wrap=True)
    versions = Table(title="Versions", title_justify="left")
    for column in ("version", "updated at (source)", "status", "lines", "time entries", "subtotal"):
        versions.add_column(column)
    for v in found.versions:
        versions.add_row(str(v.version), v.updated_at.isoformat(timespec="minutes"), v.status.value,
                         str(len(v.line_items)), str(len(v.time_entries)), f"{v.subtotal}")
    console.print(versions)
    for override in found.overrides:
        console.print(f"  [bold]override:[/]  ", end="")
        console.print(override.describe(), markup=False, highlight=False, soft_wrap=True)
    for outcome in found.outcomes:
        console.print(f"  [bold]outcome:[/]   ", end="")
        console.print(f"{outcome.outcome} — {outcome.describe()}", markup=False, highlight=False, soft_wrap=True)
    for version in sorted(found.decisions, reverse=True):
        earlier = found.earlier.get(version, [])
        _show_decisions(console, found, version, found.decisions[version],
                        heading="latest evaluation" if earlier else "")
        if earlier and all_evaluations:
            for number, run in reversed(list(enumerate(earlier, start=1))):
                _show_decisions(console, found, version, run, heading=f"earlier evaluation {number} of {len(earlier)}")
        elif earlier:
            console.print(f"  ({len(earlier)} earlier evaluation(s) of version {version}: "
                          f"closeout explain {order.job_number} --all-evaluations)", markup=False, highlight=False)
    for record in found.push_records:
        _show_draft(console, record)
    documents = found.documents()
    if found.corrections and documents:
        console.print("[bold]In the ledger[/] (every invoice, amendment, credit note, supplementary invoice and void)")
        for line in documents:
            console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
    for case in found.cases:
        console.print(f"[bold]Case #{case.id}[/] {case.kind.value} ({case.status.value}) about v{case.work_order_version}")
        console.print(f"  why:    {case.summary}")
        show_choices(console, case, indent="  ")
    if not found.push_records and not found.cases:
        console.print("No draft and no case for this job.")


def _show_decisions(console: Console, found: Explanation, version: int, decisions: list[RuleDecision], *,
                    heading: str = "") -> None:
    runs = sorted({d.run_id for d in decisions})
    which = f", {heading}" if heading else ""
    table = Table(title=f"Rule decisions on version {version} (run {', '.join(runs)}{which})", title_justify="left",
                  show_lines=True)
    for column in ("rule", "outcome", "reason", "evidence"):
        table.add_column(column, overflow="fold")
    for d in decisions:
        style = OUTCOME_STYLE.get(d.outcome, "")
        evidence = json.dumps(d.evidence, indent=1, ensure_ascii=False) if d.evidence else ""
        override = found.override_of(version, d.rule_id) if d.outcome is Outcome.block else None
        reason = d.reason + (f" (overridden: {override.describe()})" if override else "")
        table.add_row(Text(f"{d.rule_id} v{d.rule_version}"), Text(d.outcome.value, style=style), Text(reason),
                      Text(evidence))
    console.print(table)


def _show_draft(console: Console, record: PushRecord) -> None:
    draft = record.draft
    table = Table(title=f"Draft {draft.doc_number} for {draft.ledger} (version {draft.work_order_version}, "
                        f"{record.status.value})", title_justify="left")
    for column in ("description", "qty", "unit price", "amount", "item", "tax"):
        table.add_column(column, justify="right" if column in ("qty", "unit price", "amount") else "left")
    for line in draft.lines:
        table.add_row(line.description, str(line.quantity), str(line.unit_price), str(line.amount), line.item_ref,
                      line.tax_code)
    table.add_row("[bold]total[/]", "", "", f"[bold]{draft.total}[/]", draft.currency, "")
    console.print(table)
    paid = describe_payment(record)
    if paid:
        console.print(f"Payment: {paid}", markup=False)


def tax_note(draft, ledger_tax=None) -> str:
    """What the preview can say about tax before posting: what the source quoted and, where the ledger's rates
    tell, what the ledger will compute; else that the ledger computes it on posting (QBO's AST, by address)."""
    quoted = f"will post with tax {draft.source_tax}; " if draft.source_tax is not None else ""
    if ledger_tax is not None:
        return f"{quoted}the ledger will compute {ledger_tax}"
    return f"{quoted}the ledger computes the tax on posting"


def show_preview(console: Console, preview: Preview) -> None:
    if preview.drafts:
        table = Table(title=f"Invoices the next run would send ({len(preview.drafts)}); nothing was sent",
                      title_justify="left")
        for column in ("doc number", "company", "customer", "lines", "total", "tax", "where it is now"):
            table.add_column(column, justify="right" if column in ("lines", "total") else "left")
        for where, draft in preview.drafts:
            table.add_row(draft.doc_number, draft.company, draft.customer_name, str(len(draft.lines)),
                          f"{draft.total} {draft.currency}", tax_note(draft, preview.ledger_tax.get(draft.idempotency_key)),
                          where)
        console.print(table)
    else:
        console.print("No invoice would be sent: nothing new is ready.")
    for (company, currency), (count, total) in preview.totals().items():
        console.print(f"  {company}: {count} invoice(s), total [bold]{total} {currency}[/]")
    if preview.held:
        held = Table(title=f"Jobs the next run would not invoice ({len(preview.held)})", title_justify="left")
        for column in ("job", "where it is now", "why"):
            held.add_column(column, overflow="fold")
        for item in preview.held:
            held.add_row(item.subject, item.where, item.why)
        console.print(held)
    for name in preview.not_read:
        console.print(Text(f"  not read: source {name}"))
