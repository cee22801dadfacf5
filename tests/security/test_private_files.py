"""What Closeout writes (store, kept mail, attachments, sandbox state) is its user's alone: files 0600, folders 0700."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

# Run in a child: the umask is process-wide, and this test must see what a fresh `closeout` process writes.
READ_MAIL = """
from closeout.settings import Settings
from closeout.wiring import open_app
from closeout.workspace import install_demo_config
from services.mail.ingest import ingest_mailbox

with open_app(config_path=install_demo_config(Settings().resolved_home())) as app:
    company = app.config.company("northwind")
    counts = ingest_mailbox(app, company, company.mailboxes[0])
    print("fetched", counts.fetched)
"""


def test_the_store_kept_mail_attachments_and_sandbox_files_are_private_even_under_a_permissive_umask(tmp_path):
    home = tmp_path / "workspace"
    home.mkdir(mode=0o755)
    child = subprocess.run(
        [sys.executable, "-c", f"import os; os.umask(0o022)\n{READ_MAIL}"], capture_output=True, text=True,
        timeout=300, env={**os.environ, "CLOSEOUT_HOME": str(home)}, cwd=Path(__file__).parents[2])
    assert child.returncode == 0, child.stderr
    assert "fetched 8" in child.stdout

    written = [path for path in home.rglob("*")]
    assert any(path.name == "closeout.db" for path in written)
    assert any(path.suffix == ".eml" for path in written) and any("attachments" in path.parts for path in written)
    assert any("sandbox" in path.parts for path in written)
    loose = [f"{path.relative_to(home)} {stat.filemode(path.stat().st_mode)}" for path in written
             if path.stat().st_mode & 0o077 and not path.is_symlink()]
    assert loose == []
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
