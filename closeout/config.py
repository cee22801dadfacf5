"""Loading the company config file: TOML in, the validated ``services.config.CloseoutConfig`` out."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import ValidationError

from services.config import CloseoutConfig, ConfigError


def load_config(path: Path) -> CloseoutConfig:
    """Read and validate the config; relative paths become relative to the file. Errors name the field."""
    raw = _read_toml(path)
    base = path.parent.resolve()
    companies = raw.get("companies", [])
    for company in companies if isinstance(companies, list) else []:
        if not isinstance(company, dict):
            continue  # the validation below names it
        mapping_file = company.pop("mappings_file", None)
        if mapping_file is not None and not isinstance(mapping_file, str):
            raise ConfigError(f"{path}: company {company.get('id', '?')}: mappings_file must be a file name")
        if mapping_file:
            company["mappings"] = _read_toml(base / mapping_file)
        for source in company.get("sources", []):
            if "path" in source:
                source["path"] = str((base / source["path"]).resolve())
            if isinstance(source.get("ca_file"), str) and source["ca_file"]:
                source["ca_file"] = str((base / source["ca_file"]).resolve())
        ledger = company.get("ledger")
        if isinstance(ledger, dict) and isinstance(ledger.get("ca_file"), str) and ledger["ca_file"]:
            ledger["ca_file"] = str((base / ledger["ca_file"]).resolve())
        for mailbox in company.get("mailboxes", []):
            for key in ("path", "ca_file"):
                if mailbox.get(key):
                    mailbox[key] = str((base / mailbox[key]).resolve())
    try:
        return CloseoutConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(path, raw, exc)) from None


MAX_CONFIG_BYTES = 5_000_000
"""A config or mapping table far beyond any real one (the demo's are 3 kB): refused before it is read whole."""


def _read_toml(path: Path) -> dict:
    """A TOML file that is a regular file of at most ``MAX_CONFIG_BYTES``; anything else is one ConfigError."""
    try:
        if not path.is_file():  # a folder, a device such as /dev/zero, a socket: never read
            raise ConfigError(f"config file {path} does not exist" if not path.exists() else f"{path} is not a file")
        with path.open("rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path} cannot be read: {exc.strerror or type(exc).__name__}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path} is over {MAX_CONFIG_BYTES} bytes: not a config file")
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text: not a config file") from None
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
            found = companies[index] if isinstance(companies, list) and index < len(companies) else None
            name = found.get("id", f"#{index + 1}") if isinstance(found, dict) else f"#{index + 1}"
            location = [f"company {name}"] + location[2:]
        lines.append(f"  - {'.'.join(str(part) for part in location)}: {error['msg']}")
    return "\n".join(lines)
