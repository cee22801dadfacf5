"""The company config file: refused with a message naming the company and the field, never a traceback."""

from __future__ import annotations

import pytest

from closeout.config import load_config

from services.config import ConfigError
from closeout.settings import BUNDLED_DEMO_CONFIG

GOOD = """
[[companies]]
id = "acme"
name = "Acme Mechanical"
timezone = "America/Denver"
[companies.ledger]
realm_id = "1"
[[companies.sources]]
kind = "csv"
path = "drop"
"""


def write(tmp_path, text):
    path = tmp_path / "closeout.toml"
    path.write_text(text)
    return path


def test_the_bundled_demo_config_loads_with_its_mapping_tables_and_absolute_paths():
    config = load_config(BUNDLED_DEMO_CONFIG)

    company = config.company("northwind")
    assert company.mappings.items
    assert all(source.path.is_absolute() for source in company.sources)


def test_a_relative_source_path_is_read_relative_to_the_config_file(tmp_path):
    config = load_config(write(tmp_path, GOOD))

    assert config.company("acme").sources[0].path == (tmp_path / "drop").resolve()


def test_an_unknown_time_zone_is_refused_naming_the_company_and_field(tmp_path):
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, GOOD.replace("America/Denver", "Mars/Olympus")))

    assert "company acme" in str(error.value)
    assert "timezone" in str(error.value) and "Mars/Olympus" in str(error.value)


def test_a_misspelt_setting_is_refused_rather_than_ignored(tmp_path):
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, GOOD.replace('realm_id = "1"', 'realm_id = "1"\ncreate_customer = true')))

    assert "company acme" in str(error.value) and "create_customer" in str(error.value)


def test_a_file_that_is_not_toml_is_refused_with_the_path(tmp_path):
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, "[[companies]\nid="))

    assert "not valid TOML" in str(error.value)


def test_a_missing_mapping_file_is_named(tmp_path):
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, GOOD + '\n[[companies]]\nid="b"\nname="B"\nmappings_file="nope.toml"\n'))

    assert "nope.toml" in str(error.value) and "does not exist" in str(error.value)
