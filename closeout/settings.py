"""Process settings from the environment: where the workspace is, which database, which config file."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

BUNDLED_DEMO_CONFIG = Path(__file__).parent / "demo" / "closeout.toml"


class Settings(BaseSettings):
    """``CLOSEOUT_HOME``, ``CLOSEOUT_DATABASE_URL`` and ``CLOSEOUT_CONFIG``; nothing is read at import time."""

    model_config = SettingsConfigDict(env_prefix="CLOSEOUT_", extra="ignore")

    home: Path = Field(default=Path(".closeout"), description="the workspace folder: store, sandbox state, files")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite in the workspace when unset")
    config: Path | None = Field(default=None, description="the company config file (TOML)")
    sandbox_url: str | None = Field(default=None, description="a running ledger sandbox (`closeout sandbox`) that "
                                    "every worker shares, instead of one started in each process")

    def resolved_home(self) -> Path:
        home = self.home.expanduser().resolve()
        home.mkdir(parents=True, exist_ok=True)
        return home

    def store_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_home() / 'closeout.db'}"

    def config_path(self) -> Path | None:
        if self.config is not None:
            return self.config
        candidate = self.resolved_home() / "closeout.toml"
        return candidate if candidate.exists() else None
