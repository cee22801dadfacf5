"""The campaign's later corrections: invoiced CSV jobs change at the source while the workers run under faults.

Once enough CSV jobs are invoiced, some of them change in their drop files, round robin:

    touch          only updated_at moves                   nothing may be sent
    returned_part  the part's quantity drops by one        an update in place (a credit note when paid)
    price_cut      the labour price drops by 10.00         an update (a credit note for 10.00 when paid)
    added_line     a second part line is added             an update (a supplementary invoice when paid)
    cancelled      the job is cancelled                    a void (a credit in full when paid)

Every other changed job's invoice is paid first, through the sandbox's payment API, so the credit paths run
too. The workers pull the changes, open the cases, and apply the corrections by the company's policy
(``apply = "all"``), with every fault and kill of the campaign still going. The audit then checks each ledger
document and that no credit note exists twice.
"""

from __future__ import annotations

import csv
import os
import random
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

KINDS = ("touch", "returned_part", "price_cut", "added_line", "cancelled")


def invoiced_jobs(engine: sa.Engine, company: str) -> list[tuple[str, str, Any]]:
    """``(job id, ledger id, ledger total)`` of the company's pushed invoices, oldest job first."""
    with engine.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT work_order_id, ledger_id, ledger_total FROM push_records WHERE status = 'pushed' AND company = "
            ":company AND ledger_id IS NOT NULL ORDER BY work_order_id"), {"company": company}).all()
    return [(work_order_id.split(":", 1)[-1], ledger_id, total) for work_order_id, ledger_id, total in rows]


def change_invoiced_jobs(folder: Path, jobs: list[tuple[str, str, Any]], *, count: int, seed: int,
                         pay) -> Counter:
    """Change ``count`` of these invoiced jobs in their drop files (see the module docstring); what was done."""
    rng = random.Random(seed)
    chosen = rng.sample(jobs, min(count, len(jobs)))
    done: Counter = Counter()
    changes: dict[str, str] = {}
    for n, (job_id, ledger_id, total) in enumerate(chosen):
        kind = KINDS[n % len(KINDS)]
        if kind != "touch" and (n // len(KINDS)) % 2 == 1 and total is not None:
            pay(ledger_id, total)
            done["paid_first"] += 1
        changes[job_id] = kind
        done[kind] += 1
    for path in sorted(folder.glob("jobs-*.csv")):  # the drop's own files, not the CSV fault files beside them
        _rewrite(path, changes)
    return done


def _rewrite(path: Path, changes: dict[str, str]) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns, rows = list(reader.fieldnames or []), list(reader)
    mine = {row["job_id"] for row in rows} & set(changes)
    if not mine:
        return
    out: list[dict[str, str]] = []
    for row in rows:
        kind = changes.get(row["job_id"])
        if kind is None:
            out.append(row)
            continue
        row["updated_at"] = (datetime.fromisoformat(row["updated_at"]) + timedelta(days=1)).isoformat(timespec="seconds")
        if kind == "cancelled":
            row["status"] = "cancelled"
        elif kind == "price_cut" and row["line_kind"] == "labour":
            row["unit_price"] = f"{float(row['unit_price']) - 10:.2f}"
        elif kind == "returned_part" and row["line_kind"] == "part":
            quantity = int(row["quantity"]) if row["quantity"].isdigit() else 1
            row["quantity"] = str(quantity - 1) if quantity > 1 else row["quantity"]
            if quantity <= 1:  # nothing to return: the part's price is corrected instead
                row["unit_price"] = f"{float(row['unit_price']) / 2:.2f}"
        out.append(row)
        if kind == "added_line" and row["line_kind"] == "part":
            out.append({**row, "description": "Second part", "quantity": "1", "unit_price": "12.50"})
    temporary = path.with_suffix(".tmp")  # a worker reading the drop never sees half a file
    with temporary.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(out)
    os.replace(temporary, path)


def qbo_payer(sandbox_url: str, realm: str):
    """Pay a QBO invoice in full through the sandbox, retrying its injected faults; an answer lost after the
    payment landed makes the next attempt overpay, which the sandbox refuses: then the invoice is read paid."""
    def pay(ledger_id: str, total: Any) -> None:
        api, headers = f"{sandbox_url}/v3/company/{realm}", {"Authorization": "Bearer campaign"}
        for _ in range(30):
            try:
                invoice = httpx.get(f"{api}/invoice/{ledger_id}", headers=headers, timeout=5).json()["Invoice"]
                if float(invoice.get("Balance", 1)) == 0:
                    return
                body = {"CustomerRef": invoice["CustomerRef"], "TotalAmt": str(total),
                        "Line": [{"Amount": str(total), "LinkedTxn": [{"TxnId": ledger_id, "TxnType": "Invoice"}]}]}
                httpx.post(f"{api}/payment", headers=headers, json=body, timeout=5)
            except (httpx.HTTPError, KeyError, ValueError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"invoice {ledger_id} could not be paid in the sandbox")

    return pay
