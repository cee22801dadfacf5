"""The workspace folder: where the demo puts its config so later commands find it without flags."""

from __future__ import annotations

from pathlib import Path

from closeout.settings import BUNDLED_DEMO_CONFIG

DEMO_MARKER = "# closeout demo config"


def install_demo_config(home: Path) -> Path:
    """Write the demo config into the workspace (absolute paths to the bundled data) unless one is there.

    A workspace whose closeout.toml is the user's own is left alone and the bundled file is used directly.
    """
    target = home / "closeout.toml"
    if target.exists() and not target.read_text(encoding="utf-8").startswith(DEMO_MARKER):
        return BUNDLED_DEMO_CONFIG
    demo_dir = BUNDLED_DEMO_CONFIG.parent
    text = BUNDLED_DEMO_CONFIG.read_text(encoding="utf-8")
    text = text.replace('mappings_file = "mapping_tables.toml"', f'mappings_file = "{demo_dir / "mapping_tables.toml"}"')
    text = text.replace('path = "jobs"', f'path = "{demo_dir / "jobs"}"')
    text = text.replace('mappings_file = "xero_mapping_tables.toml"',
                        f'mappings_file = "{demo_dir / "xero_mapping_tables.toml"}"')
    text = text.replace('path = "jobs-harbour"', f'path = "{demo_dir / "jobs-harbour"}"')
    text = text.replace('path = "mail/northwind"', f'path = "{demo_dir / "mail" / "northwind"}"')
    target.write_text(f"{DEMO_MARKER} (written by `closeout demo`; edit freely)\n{text}", encoding="utf-8")
    return target
