from pathlib import Path

import pytest
from pydantic import ValidationError

from closeout.config import load_config

from services.config import ConfigError
from workorders.rules import RuleSettings

COMPANY = """
[[companies]]
id = "northwind"
name = "Northwind"
[companies.ledger]
realm_id = "1"
[companies.rules]
{rules}
"""


def config_with(tmp_path: Path, rules: str) -> Path:
    path = tmp_path / "closeout.toml"
    path.write_text(COMPANY.format(rules=rules), encoding="utf-8")
    return path


def test_rule_parameters_are_read_per_company_from_the_rules_own_table(tmp_path):
    rules = """
send_invoices_by_email = true
disabled = ["part_below_cost"]
[companies.rules.labour_from_time_entries]
rates = { normal = "125.00", after_hours = "187.50" }
increment_minutes = 6
[companies.rules.photos_before_after]
job_types = ["installation", "inspection"]
"""
    settings = load_config(config_with(tmp_path, rules)).company("northwind").rules
    labour = settings.labour_from_time_entries
    assert (str(labour.rates.normal), labour.rates.emergency, labour.increment_minutes) == ("125.00", None, 6)
    assert settings.send_invoices_by_email and settings.disabled == {"part_below_cost"}
    assert [t.value for t in settings.photos_before_after.job_types] == ["installation", "inspection"]


@pytest.mark.parametrize(("rules", "where", "message"), [
    ("[companies.rules.labour_from_time_entries]\nincrement_minutes = 0",
     "company northwind.rules.labour_from_time_entries.increment_minutes", "greater than or equal to 1"),
    ('[companies.rules.labour_from_time_entries]\nrates = { normal = "-5" }',
     "company northwind.rules.labour_from_time_entries.rates.normal", "must not be negative"),
    ("[companies.rules.labour_from_time_entries]\nrates = { normal = 125.5 }",
     "company northwind.rules.labour_from_time_entries.rates.normal", "must not be a float"),
    ('[companies.rules.job_note_present]\nenabled = "sometimes"',
     "company northwind.rules.job_note_present.enabled", "boolean"),
    ('[companies.rules.photos_before_after]\njob_types = ["install"]',
     "company northwind.rules.photos_before_after.job_types.0", "preventive"),
    ("[companies.rules.sign_off_required]\nthreshold = 5", "company northwind.rules.sign_off_required.threshold",
     "Extra inputs"),
    ('disabled = ["sign_of_required"]', "company northwind.rules.disabled", "unknown rule id(s) ['sign_of_required']"),
    ('[companies.rules.no_such_rule]\nenabled = false', "company northwind.rules.no_such_rule", "Extra inputs"),
])
def test_an_invalid_rule_config_is_refused_naming_company_rule_and_field(tmp_path, rules, where, message):
    with pytest.raises(ConfigError) as raised:
        load_config(config_with(tmp_path, rules))
    text = str(raised.value)
    assert f"{where}: " in text and message in text, text


def test_the_approval_threshold_may_not_be_negative():
    with pytest.raises(ValidationError, match="must not be negative"):
        RuleSettings(approval_threshold="-1")


def test_the_demo_config_configures_the_rate_card_and_email_invoices():
    demo = Path(__file__).parents[2] / "closeout" / "demo" / "closeout.toml"
    rules = load_config(demo).company("northwind").rules
    assert rules.send_invoices_by_email and str(rules.labour_from_time_entries.rates.after_hours) == "187.50"
