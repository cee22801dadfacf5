"""``closeout doctor`` as a user runs it: each mapping code its ledger (the sandbox) lacks, per company, and exit 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CLOSEOUT = str(Path(sys.executable).with_name("closeout"))
COMPANIES = {
    "northwind": ('kind = "quickbooks"\napi_url = "sandbox"\nrealm_id = "9130355221"\n',
                  'taxable = "TAX"\nexempt = "NON"\n'),
    "harbour": ('kind = "xero"\napi_url = "sandbox"\ntenant_id = "6f1c2a8e-0b7d-4e55-9a31-harbour0doctor"\n',
                'exempt = "NONE"\n'),
}


def config(folder: Path, company: str, items: dict[str, str]) -> Path:
    """One company on the ledger sandbox, a CSV drop, and mapping tables whose items are ``items``."""
    ledger, tax = COMPANIES[company]
    (folder / "jobs").mkdir(parents=True, exist_ok=True)
    (folder / "tables.toml").write_text("due_days = 20\n[items]\n" + "".join(f'"{k}" = "{v}"\n' for k, v in items.items())
                                        + "\n[tax_codes]\n" + tax)
    path = folder / "closeout.toml"
    path.write_text(f'[[companies]]\nid = "{company}"\nname = "{company.title()}"\ntimezone = "UTC"\n'
                    f'currency = "USD"\nmappings_file = "tables.toml"\n\n[companies.ledger]\n{ledger}\n'
                    '[[companies.sources]]\nkind = "csv"\nname = "csv-drop"\npath = "jobs"\n')
    return path


def doctor(path: Path, home: Path) -> tuple[int, str]:
    env = {**os.environ, "CLOSEOUT_HOME": str(home), "COLUMNS": "200", "NO_COLOR": "1"}
    env.pop("CLOSEOUT_CONFIG", None)
    done = subprocess.run([CLOSEOUT, "doctor", "--config", str(path)], capture_output=True, text=True, env=env,
                          timeout=300)
    return done.returncode, done.stdout + done.stderr


@pytest.fixture
def home(workspace: Path) -> Path:
    workspace.mkdir(parents=True, exist_ok=True)
    return workspace


def test_doctor_names_each_item_xero_lacks_with_the_one_meant_and_exits_1(tmp_path, home):
    code, output = doctor(config(tmp_path, "harbour", {"LAB-ELEC": "LABOUR", "RCD-40A": "Parts",
                                                       "LED-DL10": "Parts"}), home)

    assert code == 1, output
    assert "FAILED  harbour / mappings (xero): 2 of 4 mapping entries name codes Xero does not have" in output
    assert ("items[RCD-40A], items[LED-DL10] = 'Parts': Xero has no item 'Parts'; did you mean PARTS (Parts)?"
            in output)


def test_doctor_passes_a_company_whose_every_mapping_code_is_in_xero(tmp_path, home):
    code, output = doctor(config(tmp_path, "harbour", {"LAB-ELEC": "LABOUR", "RCD-40A": "PARTS"}), home)

    assert code == 0, output
    assert "ok  harbour / mappings (xero): all 3 mapping entries name codes Xero has" in output


def test_doctor_names_each_item_quickbooks_lacks_with_the_one_meant_and_exits_1(tmp_path, home):
    code, output = doctor(config(tmp_path, "northwind", {"LAB-STD": "1", "FLT-16X25": "Parts"}), home)

    assert code == 1, output
    assert ("FAILED  northwind / mappings (quickbooks): 1 of 4 mapping entries name codes QuickBooks does not have"
            in output)
    assert "items[FLT-16X25] = 'Parts': QuickBooks has no item 'Parts'; did you mean 2 (Parts)?" in output
