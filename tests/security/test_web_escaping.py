"""Text from outside (jobs, customers, email, ledger errors, notes, file names) is shown as text, never as markup."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import escape

from security_site import HOSTILE_FIELDS, hostile
from tests.served_ui import PASSWORD, serving

ACTIVE_TAGS = {"script", "img", "svg", "iframe", "object", "embed", "base", "meta"}
PAGE_FIELDS = {
    "job": ("customer_name", "site_name", "description", "notes", "po_number", "comment", "tag"),
    "email": ("case_summary", "email_from", "email_subject", "email_body", "email_why", "attachment_name", "comment",
              "tag"),
    "rejected": ("ledger_message", "ledger_detail", "comment", "tag"),
}


def shown_as_text(value: str, html: str) -> bool:
    """Escaped as HTML text, or as a JSON string inside an escaped <pre> (the evidence block)."""
    return str(escape(value)) in html or str(escape(json.dumps(value, ensure_ascii=False)[1:-1])) in html


class ActiveMarkup(HTMLParser):
    """Elements that could run or fetch something, and any on* event-handler attribute, as the browser parses them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag in ACTIVE_TAGS - {"meta"} or (tag == "meta" and any(k == "http-equiv" for k, _ in attrs)):
            self.found.append(tag)
        self.found += [f"{tag} {name}=" for name, _ in attrs if name.startswith("on")]


def assert_inert(html: str) -> None:
    assert ActiveMarkup(html).found == []
    for name in HOSTILE_FIELDS:
        assert hostile(name) not in html, name


@pytest.mark.parametrize("kind", list(PAGE_FIELDS))
def test_every_outside_field_on_a_case_page_is_escaped(site, kind):
    html = site.client("dana").get(f"/cases/{site.cases[kind]}").text
    assert_inert(html)
    for name in PAGE_FIELDS[kind]:
        assert shown_as_text(hostile(name), html), f"{name} is not on the page of the {kind} case"


def test_the_list_the_audit_trail_and_the_users_page_escape_what_they_show(site):
    admin = site.client("ada")
    listing = admin.get("/?status=all").text
    assert_inert(listing)
    assert shown_as_text(hostile("case_summary"), listing) and shown_as_text(hostile("tag"), listing)
    for path in ("/audit", "/users"):
        assert_inert(admin.get(path).text)


def test_hostile_query_parameters_and_sign_in_targets_come_back_escaped(site):
    attack = hostile("query")
    listing = site.client("dana").get("/", params={"tag": attack, "company": attack, "kind": attack}).text
    assert_inert(listing)
    assert attack not in listing
    assert str(escape(attack)) in listing
    login = site.client().get("/login", params={"next": "/" + attack}).text
    assert attack not in login
    assert_inert(login)


def test_json_answers_are_json_with_nosniff_so_a_browser_never_renders_them(site):
    answer = site.client().get(f"/api/cases/{site.cases['email']}",
                               headers={"Authorization": f"Bearer {site.tokens['vic']}"})
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.json()["case"]["summary"] == hostile("case_summary")


# ---- in a real browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served_site(site):
    with serving(site.web) as url:
        yield url


def test_in_chromium_no_injected_script_runs_and_the_policy_blocks_one_added_to_the_page(chromium, served_site, site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True,
                                             args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            page = browser.new_context().new_page()
            dialogs, violations = [], []
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.on("console", lambda message: violations.append(message.text)
                    if "Content Security Policy" in message.text else None)
            page.goto(served_site + "/login")
            page.fill("input[name=username]", "dana")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(served_site + "/")
            for kind in PAGE_FIELDS:
                page.goto(f"{served_site}/cases/{site.cases[kind]}")
                assert page.locator("script, img, svg").count() == 0
            page.goto(f"{served_site}/cases/{site.cases['email']}")
            assert page.inner_text(".email-subject") == hostile("email_subject")
            # The escaping held; now prove the policy would stop a script that got through anyway.
            page.evaluate("""() => {
                const inline = document.createElement('script');
                inline.textContent = 'window.inlineRan = true';
                document.body.appendChild(inline);
                const handler = document.createElement('div');
                handler.innerHTML = '<img src="x" onerror="window.handlerRan = true">';
                document.body.appendChild(handler);
            }""")
            page.wait_for_timeout(300)
            assert page.evaluate("[window.inlineRan, window.handlerRan]") == [None, None]
            assert violations, "Chromium reported no Content-Security-Policy violation"
            assert dialogs == []
        finally:
            browser.close()


def test_no_template_turns_escaping_off():
    folder = Path(__file__).resolve().parents[2] / "exceptions_queue" / "web" / "templates"
    found = [f"{path.name}: {word}" for path in sorted(folder.glob("*.html")) for word in ("|safe", "autoescape false",
                                                                                           "Markup(")
             if word in path.read_text(encoding="utf-8").replace(" | safe", "|safe")]
    assert found == []
