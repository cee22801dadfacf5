"""The demo's and CLI's view of mail: which message went to which job, how it was matched, what it brought."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text


def show_mail(console: Console, store, *, company: str | None = None) -> None:
    """One row per stored message. Everything is shown as plain text (rich ``Text``): mail is never markup."""
    with store.unit_of_work() as uow:
        messages = uow.messages.list(company=company)
        attachments = {m.pk: uow.messages.attachments(m.pk) for m in messages}
    if not messages:
        return
    table = Table(title=f"Mail read ({len(messages)} messages)")
    table.add_column("job", no_wrap=True)
    for column in ("from / subject", "matched because", "attachments"):
        table.add_column(column, overflow="fold")
    for message in messages:
        files = ", ".join(f"{a['file_name']} ({a['kind']})" if not a["skipped"] else f"{a['file_name']} (over cap)"
                          for a in attachments[message.pk])
        job = message.job_number or "queue"
        why = (f"{message.method} {message.confidence:.2f}: {message.explanation}" if message.work_order_id
               else f"not placed ({message.status}): see the case")
        table.add_row(Text(job), Text(f"{message.from_address}\n{message.subject}"), Text(why), Text(files or "-"))
    console.print(table)
