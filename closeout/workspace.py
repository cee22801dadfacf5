"""The workspace folder: private to its user, and where the demo puts its config so later commands find it."""

from __future__ import annotations

import os
from pathlib import Path

from closeout.settings import BUNDLED_DEMO_CONFIG

DEMO_MARKER = "# closeout demo config"
PRIVATE_UMASK = 0o077
"""Files Closeout creates are 0600 and folders 0700: the store, kept mail and attachments hold customers' data."""


def keep_private(home: Path) -> None:
    """From here on everything this process creates is its user's alone, and so is the workspace folder.

    Closing the folder (0700) also covers what an older version left 0644 inside it. A folder someone else
    owns (a shared mount set up by an administrator) is left as it is.
    """
    os.umask(PRIVATE_UMASK)
    try:
        if home.stat().st_uid == os.getuid():
            home.chmod(0o700)
    except OSError:  # not ours to change: the umask still keeps what we write private
        pass


def install_demo_config(home: Path) -> Path:
    """Write the demo config into the workspace (absolute paths to the bundled data, or to the workspace's
    copies of the job files once `closeout demo-corrections` made them), over an earlier demo config.

    A workspace whose closeout.toml is the user's own (its first line no longer the demo's marker) is left alone
    and the bundled file is used directly.
    """
    keep_private(home)
    target = home / "closeout.toml"
    if target.exists() and not target.read_text(encoding="utf-8").startswith(DEMO_MARKER):
        return BUNDLED_DEMO_CONFIG
    demo_dir = BUNDLED_DEMO_CONFIG.parent
    text = BUNDLED_DEMO_CONFIG.read_text(encoding="utf-8")
    text = text.replace('mappings_file = "mapping_tables.toml"', f'mappings_file = "{demo_dir / "mapping_tables.toml"}"')
    # `closeout demo-corrections` copies the job files into the workspace to change them: keep reading the copies
    jobs = {folder: home / "demo-jobs" / folder if (home / "demo-jobs" / folder).is_dir() else demo_dir / folder
            for folder in ("jobs", "jobs-harbour")}
    text = text.replace('path = "jobs"', f'path = "{jobs["jobs"]}"')
    text = text.replace('mappings_file = "xero_mapping_tables.toml"',
                        f'mappings_file = "{demo_dir / "xero_mapping_tables.toml"}"')
    text = text.replace('path = "jobs-harbour"', f'path = "{jobs["jobs-harbour"]}"')
    text = text.replace('path = "mail/northwind"', f'path = "{demo_dir / "mail" / "northwind"}"')
    target.write_text(f"{DEMO_MARKER} (written by `closeout demo`; edit freely)\n{text}", encoding="utf-8")
    return target
