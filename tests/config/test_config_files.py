"""A config or mapping file that is not one (a folder, a device, binary, huge) is one clear error, never a traceback."""

from __future__ import annotations

import pytest

from closeout.config import MAX_CONFIG_BYTES, load_config
from services.config import ConfigError

COMPANY = """[[companies]]
id = "acme"
name = "Acme"
timezone = "America/Chicago"
currency = "USD"
mappings_file = "{mappings}"

[companies.ledger]
kind = "quickbooks"
api_url = "sandbox"
realm_id = "1"
"""


@pytest.mark.parametrize(("make", "says"), [
    (lambda tmp: str(tmp), "is not a file"),
    (lambda tmp: "/dev/zero", "is not a file"),
    (lambda tmp: _write(tmp / "binary.toml", bytes(range(256)) * 10), "is not UTF-8 text"),
    (lambda tmp: _write(tmp / "huge.toml", b"# " + b"x" * MAX_CONFIG_BYTES), f"is over {MAX_CONFIG_BYTES} bytes"),
    (lambda tmp: str(tmp / "missing.toml"), "does not exist"),
], ids=["a folder", "/dev/zero", "binary", "huge", "missing"])
def test_a_mappings_file_that_is_not_a_toml_file_is_one_config_error_naming_it(tmp_path, make, says):
    mappings = make(tmp_path)
    config = tmp_path / "closeout.toml"
    config.write_text(COMPANY.format(mappings=mappings), encoding="utf-8")
    with pytest.raises(ConfigError, match=says) as refused:
        load_config(config)
    assert str(mappings).split("/")[-1] in str(refused.value)


def test_a_mappings_file_that_is_not_a_name_and_companies_that_are_not_tables_are_config_errors(tmp_path):
    config = tmp_path / "closeout.toml"
    config.write_text(COMPANY.replace('mappings_file = "{mappings}"', "mappings_file = 3"), encoding="utf-8")
    with pytest.raises(ConfigError, match="mappings_file must be a file name"):
        load_config(config)
    config.write_text("companies = [1, 2]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="problem"):
        load_config(config)


def _write(path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)
