"""The company config file: which companies, their sources, ledger, rules and mapping tables."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mappings.company_tables import MappingTables
from workorders.rules import RuleSettings

SANDBOX = "sandbox"


class ConfigError(Exception):
    """The config file is missing or says something Closeout cannot use; the message says where."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceConfig(_Strict):
    kind: Literal["csv"]
    name: str = "csv"
    path: Path = Field(description="the drop folder; relative paths are relative to the config file")


class LedgerConfig(_Strict):
    kind: Literal["quickbooks"] = "quickbooks"
    api_url: str = Field(default=SANDBOX, description='the API root, or "sandbox" for the local ledger sandbox')
    realm_id: str
    create_customers: bool = Field(default=False, description="create a customer the ledger does not know")

    @property
    def uses_sandbox(self) -> bool:
        return self.api_url == SANDBOX


class CompanyConfig(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    timezone: str = "UTC"
    currency: str = "USD"
    ledger: LedgerConfig
    sources: tuple[SourceConfig, ...] = ()
    rules: RuleSettings = RuleSettings()
    mappings: MappingTables = MappingTables()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class CloseoutConfig(_Strict):
    companies: tuple[CompanyConfig, ...]

    def company(self, company_id: str) -> CompanyConfig:
        for company in self.companies:
            if company.id == company_id:
                return company
        raise ConfigError(f"no company {company_id!r} in the config")


def load_config(path: Path) -> CloseoutConfig:
    """Read and validate the config; relative paths become relative to the file. Errors name the field."""
    raw = _read_toml(path)
    base = path.parent.resolve()
    for company in raw.get("companies", []):
        mapping_file = company.pop("mappings_file", None)
        if mapping_file:
            company["mappings"] = _read_toml(base / mapping_file)
        for source in company.get("sources", []):
            if "path" in source:
                source["path"] = str((base / source["path"]).resolve())
    try:
        return CloseoutConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(path, raw, exc)) from None


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None


def describe_validation_error(path: Path, raw: dict, exc: ValidationError) -> str:
    """One line per problem, naming the company by its id rather than by list position."""
    lines = [f"{path} has {exc.error_count()} problem(s):"]
    for error in exc.errors():
        location = list(error["loc"])
        if len(location) >= 2 and location[0] == "companies" and isinstance(location[1], int):
            companies = raw.get("companies", [])
            index = location[1]
            name = companies[index].get("id", f"#{index + 1}") if index < len(companies) else f"#{index + 1}"
            location = [f"company {name}"] + location[2:]
        lines.append(f"  - {'.'.join(str(part) for part in location)}: {error['msg']}")
    return "\n".join(lines)
