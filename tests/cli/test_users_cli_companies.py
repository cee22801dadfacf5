"""`closeout users add --company` on the demo: a user limited to harbour, whose `--as` decisions reach only
harbour's cases; a company or an assignment that does not fit is one line and exit 2."""

from __future__ import annotations

import json

PASSWORD = "a long enough password\n"


def _case_of(closeout, company: str) -> int:
    listed = closeout("cases", "list", "--company", company, "--json")
    assert listed.exit_code == 0, listed.output
    return json.loads(listed.stdout)[0]["id"]


def test_users_add_names_only_companies_of_the_config_and_users_list_shows_each_users_companies(closeout):
    wrong = closeout("users", "add", "hana", "--company", "nope", "--password-stdin", stdin=PASSWORD)
    added = closeout("users", "add", "hana", "--company", "harbour", "--password-stdin", stdin=PASSWORD)
    listed = closeout("users", "list")

    assert wrong.exit_code == 2 and wrong.lines == ["error: no company 'nope' in the config"], wrong.output
    assert added.exit_code == 0 and "on the cases of harbour" in added.output, added.output
    assert [line.split()[:3] for line in listed.lines] == [["hana", "coordinator", "harbour"]]
    again = closeout("users", "add", "hana", "--all-companies", "--password-stdin", stdin=PASSWORD)
    assert again.exit_code == 0 and "all companies" in closeout("users", "list").output


def test_a_decision_as_a_user_limited_to_another_company_answers_no_case_and_exit_2(closeout):
    assert closeout("users", "add", "hana", "--company", "harbour", "--password-stdin", stdin=PASSWORD).exit_code == 0
    theirs, own = _case_of(closeout, "northwind"), _case_of(closeout, "harbour")

    refused = closeout("cases", "comment", str(theirs), "-m", "peek", "--as", "hana")
    done = closeout("cases", "comment", str(own), "-m", "looked", "--as", "hana")
    not_hers = closeout("cases", "assign", str(theirs), "hana")

    assert refused.exit_code == 2 and refused.lines == [f"error: no case #{theirs}"], refused.output
    assert done.exit_code == 0, done.output
    assert not_hers.exit_code == 2, not_hers.output
    assert not_hers.lines == [f"error: hana works only on cases of harbour: case #{theirs} is northwind's"]
    shown = json.loads(closeout("cases", "show", str(theirs), "--json").stdout)
    assert [entry["actor"] for entry in shown["history"] if entry["action"] == "commented"] == []


def test_cases_list_and_show_as_a_user_limited_to_a_company_show_only_its_cases(closeout):
    assert closeout("users", "add", "hana", "--company", "harbour", "--password-stdin", stdin=PASSWORD).exit_code == 0
    theirs = _case_of(closeout, "northwind")

    listed = closeout("cases", "list", "--as", "hana", "--json")
    shown = closeout("cases", "show", str(theirs), "--as", "hana")
    nobody = closeout("cases", "list", "--as", "ghost")

    assert listed.exit_code == 0 and {case["company"] for case in json.loads(listed.stdout)} == {"harbour"}
    assert shown.exit_code == 2 and shown.lines == [f"error: no case #{theirs}"], shown.output
    assert nobody.exit_code == 2 and len(nobody.lines) == 1, nobody.output
