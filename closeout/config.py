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
    for company in raw.get("companies", []):
        mapping_file = company.pop("mappings_file", None)
        if mapping_file:
            company["mappings"] = _read_toml(base / mapping_file)
        for source in company.get("sources", []):
            if "path" in source:
                source["path"] = str((base / source["path"]).resolve())
        for mailbox in company.get("mailboxes", []):
            for key in ("path", "ca_file"):
                if mailbox.get(key):
                    mailbox[key] = str((base / mailbox[key]).resolve())
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
