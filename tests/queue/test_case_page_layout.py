"""The case page in headless Chromium, at phone (360x740) and desktop (1280x800) sizes, on every case kind of the demo:
nothing wider than the screen, the decision that clears the case first, look-alike jobs, e-mails and invoices as links."""

from __future__ import annotations

import pytest

from services.case_links import invoice_page
from services.config import LedgerConfig
from tests.queue.case_page_site import DESKTOP, PHONE, served_demo, sign_in

# the first card of the page's main column, per case kind: (CSS selector it matches, a form or link it holds)
LEADS = {
    "duplicate_job": (".lead-rule", "form.resolve-outcome"),
    "missing_mapping": (".decide", "form.mapping"),
    "unmatched_email": (".decide", "form.link-email"),
    "changed_after_invoiced": (".lead-correction", "ol.plan"),
    "line_items_priced": (".lead-rule", "form.approve-override"),
}

# every element of the page that ends right of the screen, outside the wrappers that scroll on purpose
SPILLS = """(width) => [...document.querySelectorAll('body *')]
  .filter(e => !e.closest('.scroll') && e.getBoundingClientRect().right > width + 0.5
               && getComputedStyle(e).visibility !== 'hidden' && e.getClientRects().length)
  .map(e => e.tagName.toLowerCase() + '.' + e.className + ': ' + (e.innerText || '').slice(0, 40))"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with served_demo(tmp_path_factory.mktemp("case-page") / "workspace") as served:
        yield served


@pytest.fixture(scope="module")
def phone(browser, site):
    context, page = sign_in(browser, site["url"], PHONE)
    yield page
    context.close()


@pytest.fixture(scope="module")
def desktop(browser, site):
    context, page = sign_in(browser, site["url"], DESKTOP)
    yield page
    context.close()


def test_every_case_kind_of_the_demo_fits_a_360_px_phone_with_nothing_cut_off(site, phone):
    assert len(site["cases"]) >= 10, site["cases"]  # the demo's kinds and rules, each with a page of its own
    too_wide = {}
    for kind, case_id in site["cases"].items():
        assert phone.goto(f"{site['url']}/cases/{case_id}").status == 200
        width = phone.evaluate("document.documentElement.scrollWidth")
        spills = phone.evaluate(SPILLS, PHONE["width"])
        if width > PHONE["width"] or spills:
            too_wide[kind] = (width, spills[:3])
    assert too_wide == {}


def test_the_case_page_fits_a_desktop_screen_with_the_decisions_beside_the_case(site, desktop):
    for case_id in site["cases"].values():
        desktop.goto(f"{site['url']}/cases/{case_id}")
        assert desktop.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
    side = desktop.locator(".col-side").bounding_box()
    main = desktop.locator(".col-main").bounding_box()
    assert side["x"] > main["x"] + main["width"] - 1  # two columns at this size


@pytest.mark.parametrize("kind", list(LEADS))
def test_each_case_kind_leads_with_the_decision_that_clears_it_at_phone_and_desktop_sizes(site, phone, desktop, kind):
    selector, holds = LEADS[kind]
    for page in (phone, desktop):
        page.goto(f"{site['url']}/cases/{site['cases'][kind]}")
        first = page.locator(".col-main > .card").first
        assert first.evaluate("(card, selector) => card.matches(selector)", selector), first.inner_html()[:300]
        assert first.locator(holds).count() >= 1
        first_top = first.bounding_box()["y"]
        rules = page.locator("details.rules-all")
        if rules.count():  # the full rule list comes after, collapsed
            assert rules.get_attribute("open") is None and rules.bounding_box()["y"] > first_top


def test_a_duplicate_job_case_leads_with_the_duplicate_rule_and_its_outcomes_not_a_line_price(site, desktop):
    desktop.goto(f"{site['url']}/cases/{site['cases']['duplicate_job']}")
    lead = desktop.locator(".col-main > .card").first
    assert "duplicate_job" in lead.locator("h2").inner_text()
    assert "looks like job" in lead.locator(".rule-reason").inner_text()
    assert lead.locator("form.resolve-outcome button[name=outcome]").count() == 3
    assert lead.locator("form.approve-override").count() == 1
    assert desktop.locator("form.fix-price").count() == 0
    assert desktop.locator("form.resolve-outcome").count() == 1  # led with, not repeated at the side


def test_a_look_alike_job_is_a_link_to_the_other_jobs_read_only_page_which_fits_a_phone(site, phone):
    phone.goto(f"{site['url']}/cases/{site['cases']['duplicate_job']}")
    link = phone.locator(".lead-rule a.look-alike").first
    number = link.inner_text().removeprefix("job ")
    link.click()
    phone.wait_for_url("**/work-orders/**")
    assert phone.locator("h1").inner_text().startswith(f"Job {number}")
    assert "pushed" in phone.inner_text(".work-order-ending")  # the first of the two was invoiced
    assert phone.locator("form").count() == 1  # sign-out only: the page decides nothing
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert phone.goto(f"{site['url']}/work-orders/no-such-job").status == 404


def test_an_unmatched_emails_candidate_jobs_are_links_to_their_pages(site, desktop):
    desktop.goto(f"{site['url']}/cases/{site['cases']['unmatched_email']}")
    candidates = desktop.locator("form.link-email a.candidate")
    assert candidates.count() == 2
    number = candidates.first.inner_text().removeprefix("see job ")
    candidates.first.click()
    desktop.wait_for_url("**/work-orders/**")
    assert desktop.locator("h1").inner_text().startswith(f"Job {number}")


def test_once_linked_an_emails_message_id_leads_to_its_job_and_the_jobs_note_back_to_the_email_case(site, desktop):
    case_id = site["cases"]["unmatched_email_alone"]
    desktop.goto(f"{site['url']}/cases/{case_id}")
    assert desktop.locator("dd.message-id a").count() == 0  # placed nowhere yet: nothing to lead to
    desktop.fill("form.link-email input[name=job_number]", "1037")
    desktop.click("form.link-email button[type=submit]")
    assert "linked to job 1037" in desktop.inner_text(".flash.ok")
    desktop.locator("dd.message-id a.message").click()
    desktop.wait_for_url("**/work-orders/**")
    assert desktop.locator("h1").inner_text().startswith("Job 1037")


def test_a_sandbox_ledgers_invoices_are_not_links_while_a_real_ledgers_open_its_own_invoice_page(site, desktop):
    desktop.goto(f"{site['url']}/cases/{site['cases']['changed_after_invoiced']}")
    assert desktop.locator(".ledger-id").count() >= 1 and desktop.locator("a.ledger-link").count() == 0
    qbo = {"kind": "quickbooks", "realm_id": "1"}
    assert invoice_page(LedgerConfig(**qbo), "30") is None  # the sandbox
    assert invoice_page(LedgerConfig(**qbo, api_url="http://127.0.0.1:8765"), "30") is None
    assert invoice_page(LedgerConfig(**qbo, api_url="https://quickbooks.api.intuit.com"), "30") == \
        "https://app.qbo.intuit.com/app/invoice?txnId=30"
    assert invoice_page(LedgerConfig(**qbo, api_url="https://sandbox-quickbooks.api.intuit.com/"), "30") == \
        "https://app.sandbox.qbo.intuit.com/app/invoice?txnId=30"
    assert invoice_page(LedgerConfig(kind="xero", tenant_id="t", api_url="https://api.xero.com"), "a b/c") == \
        "https://go.xero.com/AccountsReceivable/View.aspx?InvoiceID=a%20b%2Fc"
    assert invoice_page(LedgerConfig(**qbo, api_url="https://quickbooks.api.intuit.com"), None) is None


def test_a_coordinator_limited_to_another_company_finds_no_such_work_order_page(browser, site):
    from exceptions_queue.users import Role
    from services.users import add_user
    from tests.queue.case_page_site import PASSWORD

    add_user(site["app"].store, "hana", Role.coordinator, PASSWORD, actor="test", companies=("harbour",))
    context, page = sign_in(browser, site["url"], DESKTOP, username="hana")
    with site["app"].store.unit_of_work() as uow:
        northwind_job = uow.cases.get(site["cases"]["duplicate_job"]).work_order_id
    assert page.goto(f"{site['url']}/work-orders/{northwind_job}").status == 404
    context.close()
