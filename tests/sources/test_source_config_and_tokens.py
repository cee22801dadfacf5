"""Source config per kind (errors name the field) and the 0600 token file that holds Jobber's rotating tokens."""

from __future__ import annotations

import stat

import pytest

from closeout.config import load_config

from services.config import ConfigError, JobberSourceConfig, ServiceTitanSourceConfig
from closeout.credentials.vaults import FileTokenVault
from connectors.oauth import TokenPair

CONFIG = """
[[companies]]
id = "acme"
name = "Acme"
[companies.ledger]
realm_id = "1"
[[companies.sources]]
{source}
"""


def test_each_source_kind_reads_its_own_settings(tmp_path):
    path = tmp_path / "closeout.toml"
    path.write_text(CONFIG.format(source='kind = "jobber"\napi_version = "2026-05-12"') +
                    '[[companies.sources]]\nkind = "servicetitan"\ntenant = "1234567"\n')
    jobber, titan = load_config(path).companies[0].sources
    assert isinstance(jobber, JobberSourceConfig) and jobber.api_version == "2026-05-12"
    assert isinstance(titan, ServiceTitanSourceConfig) and titan.tenant == "1234567"


@pytest.mark.parametrize(("source", "named"), [
    ('kind = "jobber"\nclient_secret = "oops"', "client_secret"),
    ('kind = "servicetitan"', "tenant"),
    ('kind = "hubspot"', "kind"),
])
def test_a_wrong_source_entry_is_refused_naming_the_company_and_the_field(tmp_path, source, named):
    path = tmp_path / "closeout.toml"
    path.write_text(CONFIG.format(source=source))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "company acme" in str(caught.value) and named in str(caught.value)


def test_the_token_file_starts_from_the_configured_refresh_token_and_keeps_each_rotation_private(tmp_path):
    path = tmp_path / "tokens" / "acme-jobber.json"
    store = FileTokenVault(path, first_refresh_token=lambda: "first-refresh")
    assert store.load() == TokenPair(access_token="", refresh_token="first-refresh")
    store.save(TokenPair(access_token="a2", refresh_token="r2"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert FileTokenVault(path, first_refresh_token=lambda: "never used").load() == TokenPair("a2", "r2")
