"""The QBO sandbox answers like QuickBooks Online: queries, creates, replays, Faults, auth, persistence, stats."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from quickbooks.objects.customer import Customer
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item

from sandbox.qbo_query import Condition, parse_query
from sandbox.qbo_wire import QboFault
from sandbox.server import running_sandbox

TOKEN = "sandbox-test-token-0123456789"



class _Recorder:
    """Stands in for the SDK client and keeps the SQL the SDK's query helpers build."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def query(self, select: str) -> dict[str, Any]:
        self.sent.append(select)
        return {"QueryResponse": {}}


def _sdk_queries() -> list[str]:
    rec = _Recorder()
    Customer.filter(DisplayName="O'Neil & Sons", qb=rec)
    Customer.filter(Active=True, order_by="DisplayName", start_position=1, max_results=10, qb=rec)
    Customer.all(qb=rec)
    Customer.all(order_by="DisplayName DESC", start_position=5, max_results=20, qb=rec)
    Item.all(qb=rec)
    Invoice.choose(["WO-1", "WO-2"], field="DocNumber", qb=rec)
    Invoice.where("", order_by="Id", start_position=1, max_results=100, qb=rec)
    Invoice.where("TotalAmt >= '100.00' AND DocNumber LIKE 'WO-%'", qb=rec)
    Invoice.count("DocNumber = 'WO-1'", qb=rec)
    Invoice.count(qb=rec)
    return rec.sent


def sql(client: httpx.Client, text: str) -> httpx.Response:
    return client.post("/query", content=text, headers={"Content-Type": "application/text"})


def rows(client: httpx.Client, text: str, entity: str) -> list[dict[str, Any]]:
    response = sql(client, text)
    assert response.status_code == 200, response.text
    return response.json()["QueryResponse"].get(entity, [])


def create(client: httpx.Client, entity: str, body: dict[str, Any], **params: str) -> httpx.Response:
    return client.post(f"/{entity}", content=json.dumps(body), params={"minorversion": "75", **params},
                       headers={"Content-Type": "application/json"})


def new_customer(client: httpx.Client, name: str, email: str | None = None) -> str:
    body: dict[str, Any] = {"DisplayName": name}
    if email:
        body["PrimaryEmailAddr"] = {"Address": email}
    response = create(client, "customer", body)
    assert response.status_code == 200, response.text
    return response.json()["Customer"]["Id"]


def invoice(customer: str, doc: str, *lines: tuple[str, int, float]) -> dict[str, Any]:
    return {"CustomerRef": {"value": customer}, "DocNumber": doc, "Line": [
        {"DetailType": "SalesItemLineDetail", "Amount": qty * price if price else None,
         "SalesItemLineDetail": {"ItemRef": {"value": item}, "Qty": qty, "UnitPrice": price}}
        for item, qty, price in lines or [("1", 2, 75.0)]]}


def fault(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["Fault"]["type"] == "ValidationFault" and "time" in body
    return body["Fault"]["Error"][0]


@pytest.mark.parametrize("text", _sdk_queries())
def test_every_query_the_sdk_builds_parses(text: str) -> None:
    assert parse_query(text).entity in {"Customer", "Item", "Invoice"}


def test_the_parser_reads_clauses_case_escapes_and_spacing() -> None:
    query = parse_query("select  COUNT(*)  from Invoice\twhere DocNumber in ('a\\'b', 'c') and Active = false "
                        "order by TxnDate desc, Id STARTPOSITION 3 maxresults 5000")
    assert query.count and query.entity == "Invoice"
    assert query.where == (Condition("DocNumber", "in", ("a'b", "c")), Condition("Active", "=", (False,)))
    assert query.order == (("TxnDate", True), ("Id", False))
    assert (query.start, query.max_results) == (3, 1000)
    assert parse_query("SELECT * FROM Invoice ORDERBY Id").order == (("Id", False),)


@pytest.mark.parametrize("text", ["SELECT FROM Invoice", "SELECT * FROM Invoice WHERE", "SELECT * FROM Invoice "
                                  "WHERE a = 'x' OR b = 'y'", "SELECT * FROM Invoice MAXRESULTS ten", "DELETE x"])
def test_malformed_queries_are_a_4000_fault(text: str) -> None:
    with pytest.raises(QboFault) as caught:
        parse_query(text)
    assert caught.value.code == "4000"


def test_a_new_realm_is_seeded_with_items_and_tax_codes(qbo: httpx.Client) -> None:
    items = {row["Id"]: row["Name"] for row in rows(qbo, "SELECT *, Sku FROM Item", "Item")}
    assert {k: items[k] for k in "12345"} == {"1": "Labour", "2": "Parts", "3": "Materials", "4": "Service fee",
                                              "5": "Discount"}
    codes = {row["Id"]: row for row in rows(qbo, "SELECT * FROM TaxCode", "TaxCode")}
    assert {"TAX", "NON"} <= set(codes) and codes["NON"]["Taxable"] is False and codes["TAX"]["TaxGroup"] is False


def test_queries_filter_order_page_and_count_like_qbo(qbo: httpx.Client) -> None:
    for name in ["Bravo", "alpha", "Charlie", "Delta"]:
        new_customer(qbo, name, f"{name.lower()}@example.com")
    retired = qbo.get("/customer/4").json()["Customer"]
    assert create(qbo, "customer", {"Id": "4", "SyncToken": retired["SyncToken"], "sparse": True,
                                    "Active": False}).status_code == 200
    names = lambda text: [r["DisplayName"] for r in rows(qbo, text, "Customer")]  # noqa: E731
    assert names("SELECT * FROM Customer ORDERBY DisplayName") == ["alpha", "Bravo", "Charlie"]
    assert names("SELECT * FROM Customer WHERE Active IN (true, false) ORDER BY DisplayName DESC "
                 "STARTPOSITION 2 MAXRESULTS 2") == ["Charlie", "Bravo"]
    assert names("SELECT * FROM Customer WHERE PrimaryEmailAddr = 'ALPHA@example.com'") == ["alpha"]
    assert names("SELECT * FROM Customer WHERE DisplayName LIKE 'b%'") == ["Bravo"]
    assert names("SELECT * FROM Customer WHERE Id > '1' AND Id <= '3'") == ["alpha", "Charlie"]
    assert sql(qbo, "SELECT count(*) FROM Customer").json()["QueryResponse"] == {"totalCount": 3}
    empty = qbo.get("/query", params={"query": "SELECT * FROM Customer WHERE DisplayName = 'nobody'"})
    assert empty.status_code == 200 and empty.json()["QueryResponse"] == {}
    page = sql(qbo, "SELECT * FROM Customer STARTPOSITION 2 MAXRESULTS 1").json()["QueryResponse"]
    assert (page["startPosition"], page["maxResults"], len(page["Customer"])) == (2, 1, 1)
    assert fault(sql(qbo, "SELECT * FROM Gizmo"))["code"] == "4001"


def test_an_invoice_gets_exact_totals_and_accepts_what_the_sdk_sends(qbo: httpx.Client) -> None:
    customer = new_customer(qbo, "Acme")
    sdk_invoice = Invoice.from_json(invoice(customer, "WO-1", ("1", 3, 33.33), ("2", 1.5, 0.1)))
    response = create(qbo, "invoice", json.loads(sdk_invoice.to_json()))  # "" dates, int SyncToken, TotalAmt ""
    assert response.status_code == 200, response.text
    created = json.loads(response.text, parse_float=Decimal)["Invoice"]
    assert created["TotalAmt"] == Decimal("100.14") and '"TotalAmt":100.14' in response.text
    assert created["Id"] == "1" and created["SyncToken"] == "0" and created["CustomerRef"]["name"] == "Acme"
    assert created["Line"][-1]["DetailType"] == "SubTotalLineDetail"
    assert qbo.get("/invoice/1").json()["Invoice"]["DocNumber"] == "WO-1"
    assert fault(qbo.get("/invoice/99"))["code"] == "610"


@pytest.mark.parametrize("change, code", [
    (lambda body: body.pop("CustomerRef"), "2020"),
    (lambda body: body.update(CustomerRef={"value": "999"}), "2500"),
    (lambda body: body["Line"][0]["SalesItemLineDetail"].update(ItemRef={"value": "999"}), "2500"),
    (lambda body: body["Line"][0]["SalesItemLineDetail"].update(TaxCodeRef={"value": "VAT"}), "2500"),
    (lambda body: body["Line"][0].update(Amount=149.99), "6070"),
    (lambda body: body.update(Line=[]), "6000"),
    (lambda body: body.update(DocNumber="X" * 22), "2050"),
])
def test_invalid_invoices_are_refused_with_qbo_fault_codes(qbo: httpx.Client, change: Any, code: str) -> None:
    body = invoice(new_customer(qbo, "Acme"), "WO-1")
    change(body)
    assert fault(create(qbo, "invoice", body))["code"] == code


def test_a_repeated_requestid_replays_the_first_answer_exactly(qbo: httpx.Client, admin: httpx.Client) -> None:
    customer = new_customer(qbo, "Acme")
    first = create(qbo, "invoice", invoice(customer, "WO-1"), requestid="key-1")
    again = create(qbo, "invoice", invoice(customer, "WO-2", ("4", 1, 75.0)), requestid="key-1")
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert admin.get("/stats").json()["invoices"] == 1


def test_a_duplicate_doc_number_is_fault_6140_unless_duplicates_are_allowed(qbo: httpx.Client,
                                                                           admin: httpx.Client) -> None:
    customer = new_customer(qbo, "Acme")
    assert create(qbo, "invoice", invoice(customer, "WO-7")).status_code == 200
    error = fault(create(qbo, "invoice", invoice(customer, "WO-7")))
    assert (error["code"], error["Message"]) == ("6140", "Duplicate Document Number Error")
    assert "DocNumber=WO-7" in error["Detail"] and error["element"] == ""
    assert admin.get("/stats").json()["duplicate_doc_numbers"] == []
    assert create(qbo, "invoice", invoice(customer, "WO-7"), include="allowduplicatedocnum").status_code == 200
    assert admin.get("/stats").json()["duplicate_doc_numbers"] == ["WO-7"]


def test_a_duplicate_display_name_is_fault_6240(qbo: httpx.Client) -> None:
    new_customer(qbo, "Acme Plumbing")
    error = fault(create(qbo, "customer", {"DisplayName": "acme plumbing "}))
    assert (error["code"], error["Message"]) == ("6240", "Duplicate Name Exists Error")


def test_an_update_with_a_stale_sync_token_is_fault_5010(qbo: httpx.Client) -> None:
    ident = new_customer(qbo, "Acme")
    updated = create(qbo, "customer", {"Id": ident, "SyncToken": 0, "DisplayName": "Acme Inc"})
    assert updated.json()["Customer"]["SyncToken"] == "1"
    assert fault(create(qbo, "customer", {"Id": ident, "SyncToken": "0", "DisplayName": "Acme Ltd"}))["code"] == "5010"
    assert fault(create(qbo, "customer", {"Id": "77", "SyncToken": "0", "DisplayName": "Ghost"}))["code"] == "610"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer"}, {"Authorization": "Basic dTpw"},
                                     {"Authorization": "Bearer expired-abc"}])
def test_a_missing_or_refused_bearer_token_gets_intuits_401(sandbox_url: str, realm: str, headers: dict) -> None:
    response = httpx.post(f"{sandbox_url}/v3/company/{realm}/query", content="SELECT * FROM Item",
                          headers={"Content-Type": "application/text", **headers}, trust_env=False)
    assert response.status_code == 401
    assert response.json()["fault"]["error"][0]["code"] == "3200"


def test_injected_faults_throttle_fail_and_delay_the_next_calls(qbo: httpx.Client, admin: httpx.Client) -> None:
    admin.post("/faults", json={"kind": "throttle", "count": 1}).raise_for_status()
    admin.post("/faults", json={"kind": "server_error"}).raise_for_status()
    throttled = sql(qbo, "SELECT * FROM Item")
    assert throttled.status_code == 429 and "ThrottleExceeded" in throttled.text and throttled.text.startswith("<?xml")
    failed = sql(qbo, "SELECT * FROM Item")
    assert failed.status_code == 500 and failed.json()["Fault"]["type"] == "SystemFault"
    assert sql(qbo, "SELECT * FROM Item").status_code == 200
    assert admin.post("/faults", json={"kind": "meteor"}).status_code == 400


def test_stats_count_invoices_customers_and_requests(qbo: httpx.Client, admin: httpx.Client) -> None:
    assert admin.get("/stats").json()["exists"] is False
    customer = new_customer(qbo, "Acme")
    create(qbo, "invoice", invoice(customer, "WO-1"))
    stats = admin.get("/stats").json()
    assert {k: stats[k] for k in ("invoices", "customers", "requests", "duplicate_doc_numbers", "invoice_total")} == {
        "invoices": 1, "customers": 1, "requests": 2, "duplicate_doc_numbers": [], "invoice_total": "150.00"}


def _client(url: str, realm: str) -> httpx.Client:
    return httpx.Client(base_url=f"{url}/v3/company/{realm}", headers={"Authorization": f"Bearer {TOKEN}"},
                        trust_env=False)


def test_state_survives_a_restart_of_the_sandbox(tmp_path: Path) -> None:
    with running_sandbox(tmp_path) as url, _client(url, "42") as qbo:
        create(qbo, "invoice", invoice(new_customer(qbo, "Acme"), "WO-1"), requestid="k")
    with running_sandbox(tmp_path) as url, _client(url, "42") as qbo:
        assert [r["DocNumber"] for r in rows(qbo, "SELECT * FROM Invoice", "Invoice")] == ["WO-1"]
        assert create(qbo, "invoice", invoice("1", "WO-2"), requestid="k").json()["Invoice"]["DocNumber"] == "WO-1"
        assert fault(create(qbo, "customer", {"DisplayName": "Acme"}))["code"] == "6240"


def _serve_in_a_process(state_dir: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = ("from pathlib import Path; from sandbox.server import serve_sandbox; "
            f"serve_sandbox(port={port}, state_dir=Path({str(state_dir)!r}))")
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen([sys.executable, "-c", code], cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    return process, f"http://127.0.0.1:{port}"


def _wait_until_up(url: str) -> None:
    deadline = time.monotonic() + 15
    while True:
        try:
            if httpx.get(f"{url}/_sandbox/health", trust_env=False).status_code == 200:
                return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.05)


def test_two_processes_on_one_fresh_state_file_accept_a_doc_number_once(tmp_path: Path) -> None:
    servers = [_serve_in_a_process(tmp_path) for _ in range(2)]
    try:
        clients = []
        for _, url in servers:
            _wait_until_up(url)
            clients.append(_client(url, "7"))
        customer = new_customer(clients[0], "Acme")
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(
                lambda i: create(clients[i % 2], "invoice", invoice(customer, "WO-1")).status_code, range(16)))
        assert sorted(statuses) == [200] + [400] * 15
        assert httpx.get(f"{servers[1][1]}/_sandbox/qbo/7/stats", trust_env=False).json()["invoices"] == 1
        for client in clients:
            client.close()
    finally:
        for process, _ in servers:
            process.terminate()
            process.wait(timeout=10)


_OPEN_WHEN_TOLD = """
import sys, time
from pathlib import Path
go = Path(sys.argv[1])
while not go.exists():
    time.sleep(0.001)
from sandbox.qbo_oauth import QboTokens
from sandbox.qbo_store import QboStore
QboTokens(QboStore(Path(sys.argv[2])))
"""


def test_four_processes_opening_one_fresh_state_file_at_once_all_start(tmp_path: Path) -> None:
    # Each process imports first and then waits for the go file, so their schema steps meet on the fresh file:
    # before the look-and-ALTER shared one write lock, about one opening in four failed with "duplicate column".
    root = Path(__file__).resolve().parents[2]
    for round_ in range(6):
        go, state = tmp_path / f"go-{round_}", tmp_path / f"state-{round_}"
        processes = [subprocess.Popen([sys.executable, "-c", _OPEN_WHEN_TOLD, str(go), str(state)], cwd=root,
                                      env={**os.environ, "PYTHONPATH": str(root)}, stderr=subprocess.PIPE,
                                      text=True) for _ in range(4)]
        time.sleep(1.0)  # the imports are done before the go
        go.touch()
        errors = [process.communicate(timeout=60)[1] for process in processes]
        assert [process.returncode for process in processes] == [0] * 4, "\n".join(errors)
