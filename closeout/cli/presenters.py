"""Rich renderings of run summaries, cases and audits for the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from services.audit import AuditReport
from services.counts import StepCounts
from exceptions_queue.cases import Case, CaseKind
from exceptions_queue.desk import OUTCOME_NAMES, offered_decisions, steps_elsewhere


def show_run(console: Console, counts: StepCounts) -> None:
    for line in counts.failure_lines():
        console.print(f"[red]could not run:[/] {line}", highlight=False)
    table = Table(title="What this run did", show_header=False, title_justify="left")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for row in counts.as_rows():
        table.add_row(row["measure"], row["value"])
    console.print(table)
    if counts.invoices:
        invoices = Table(title=f"Invoices created in the ledger ({len(counts.invoices)})", title_justify="left")
        for column in ("doc number", "customer", "subtotal", "tax", "total", "currency", "ledger id"):
            invoices.add_column(column, justify="right" if column in ("subtotal", "tax", "total") else "left")
        for row in counts.invoices:
            invoices.add_row(row["job"], row["customer"], row.get("subtotal") or row["amount"], row.get("tax") or "-",
                             row.get("total") or "-", row.get("currency") or "", row["ledger_id"])
        console.print(invoices)
    else:
        console.print("[bold]No new invoices[/]: every ready job was already invoiced in an earlier run.")


def show_cases(console: Console, cases: list[Case], *, title: str = "Cases") -> None:
    if not cases:
        console.print(f"{title}: none.")
        return
    table = Table(title=f"{title} ({len(cases)})", title_justify="left")
    for column in ("id", "kind", "severity", "status", "subject", "why"):
        table.add_column(column, overflow="fold")
    for case in cases:
        table.add_row(str(case.id), case.kind.value, case.severity.value, case.status.value, case.subject, case.summary)
    console.print(table)


def show_case(console: Console, case: Case) -> None:
    console.print(f"[bold]Case #{case.id}[/] {case.kind.value} ({case.severity.value}, {case.status.value})")
    console.print(f"  subject:  {case.subject}")
    console.print(f"  company:  {case.company}")
    console.print(f"  why:      {case.summary}")
    if case.assignee:
        console.print(f"  assignee: {case.assignee}")
    show_choices(console, case, indent="  ")
    console.print("  evidence:")
    console.print_json(data=case.evidence)
    console.print("  history:")
    for entry in case.history:
        console.print(f"    {entry.at:%Y-%m-%d %H:%M:%S} {entry.actor}: {entry.action} {entry.note}")


def show_choices(console: Console, case: Case, *, indent: str) -> None:
    """What can be done about the case: its decisions, each a `closeout cases NAME` command of that very name
    (as on the case page and in the JSON API), then the steps taken outside Closeout."""
    decisions = offered_decisions(case)
    if decisions:
        console.print(f"{indent}decide:   {', '.join(decisions)}  (closeout cases NAME {case.id} ...; "
                      "--help says what each needs)", highlight=False)
    if case.kind is CaseKind.rule_blocked and case.is_open:  # services.outcomes: the job's fate is part of it
        console.print(f"{indent}resolve:  --outcome {' | '.join(OUTCOME_NAMES)} -m WHY  (what becomes of the "
                      "job: invoiced on the next run, not billed, or judged again when the source changes it)",
                      highlight=False)
    elsewhere = steps_elsewhere(case)
    if elsewhere:
        console.print(f"{indent}outside:  {', '.join(elsewhere)}  (done at the source, in the ledger or by hand; "
                      "then replay or resolve)", highlight=False)


def show_audit(console: Console, report: AuditReport) -> None:
    table = Table(title="Audit", show_header=False, title_justify="left")
    table.add_column("check")
    table.add_column("value", justify="right")
    rows = [
        ("jobs seen", report.jobs_seen),
        ("work orders", report.work_orders),
        ("invoices pushed", report.invoices_pushed),
        ("ledger invoices found", report.ledger_invoices_found),
        ("duplicates found in the ledger", len(report.duplicates_in_ledger)),
        ("work order versions pushed twice", len(report.duplicate_push_records)),
        ("pushed but missing in the ledger", len(report.missing_in_ledger)),
        ("pushed but different in the ledger", len(report.ledger_disagreements)),
        ("open cases", report.open_cases),
        *((f"jobs ending in: {place}", n) for place, n in sorted(report.accounted.items())),
        ("jobs still pending", len(report.pending)),
        ("jobs unaccounted for", len(report.unaccounted)),
        ("messages seen", report.mail.messages_seen),
        *((f"messages ending in: {place}", n) for place, n in sorted(report.mail.accounted.items())),
        ("messages unaccounted for", len(report.mail.unaccounted)),
        ("raw messages with no record", len(report.mail.lost)),
        ("every job accounted for", "yes" if report.every_job_accounted_for else "NO"),
        ("every message accounted for", "yes" if report.every_message_accounted_for else "NO"),
    ]
    for name, value in rows:
        table.add_row(name, str(value))
    console.print(table)
    if report.ok:
        console.print("Audit: [green]all invariants hold[/]")
        return
    console.print(f"Audit: [red]an invariant failed[/]: {', '.join(report.failures)}")
    for label, items in _failing_items(report):
        shown = ", ".join(items[:20]) + (f" and {len(items) - 20} more" if len(items) > 20 else "")
        console.print(f"  {label}: {shown}")


def _failing_items(report: AuditReport) -> list[tuple[str, list[str]]]:
    found = [
        ("jobs unaccounted for", report.unaccounted), ("jobs still pending", report.pending),
        ("messages unaccounted for", report.mail.unaccounted), ("raw messages with no record", report.mail.lost),
        ("doc numbers twice in the ledger", report.duplicates_in_ledger),
        ("versions pushed twice", report.duplicate_push_records),
        ("pushed but missing in the ledger", report.missing_in_ledger),
        ("pushed but different in the ledger",
         [f"{d['doc_number']} ({d['kind']}: expected {d['expected']}, found {d['found']})"
          for d in report.ledger_disagreements]),
    ]
    return [(label, items) for label, items in found if items]
