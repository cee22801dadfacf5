"""Text from outside reaches the daily report artifact (Markdown) as itself: no link, no HTML, no extra cell."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

from markdown_it import MarkdownIt

from closeout.orchestration.run_report import day_report_markdown
from tests.fakes import company_config

HOSTILE = ["[pay here](http://e.vil)", "<img src=x onerror=alert(1)>", "A|B|C", "**urgent**\n# header",
           "`code`", "![x](http://e.vil/p.png)"]


def test_hostile_doc_numbers_and_a_hostile_company_name_render_as_literal_text_in_the_day_report():
    company = company_config("acme", name="Acme [Ltd](http://e.vil) <b>")
    invoices = [SimpleNamespace(doc_number=doc, ledger_id="42", amount=Decimal("10.00"), ledger_tax=None, ledger_total=None,
                                draft=SimpleNamespace(currency="USD")) for doc in HOSTILE]
    report = {"invoices": invoices, "amount": Decimal("60.00"), "opened": Counter(), "open": Counter()}

    html = MarkdownIt("commonmark").enable("table").render(day_report_markdown(company, date(2026, 12, 3), report))

    assert "<a " not in html and "<img" not in html and "<b>" not in html and "<code>" not in html
    assert "<strong>urgent" not in html and "<h1>header" not in html
    invoices_table = html.split("<tbody>")[1].split("</tbody>")[0]
    rows = invoices_table.split("<tr>")[1:]
    assert len(rows) == len(HOSTILE) and all(row.count("<td") == 6 for row in rows)  # doc, id, lines, tax, total, currency
    assert "[pay here](http://e.vil)" in html and "A|B|C" in html and "**urgent** # header" in html
    assert "Acme [Ltd](http://e.vil) &lt;b&gt;" in html
