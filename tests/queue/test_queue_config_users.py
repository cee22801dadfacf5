"""Users kept in the config file: `closeout users hash` makes the hash, `closeout ui` start syncs them in."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from closeout.cli import app as cli
from services.casework import StoreDesk
from closeout.config import load_config
from services.config import ConfigError
from closeout.settings import Settings
from closeout.ui import build_ui
from services.users import add_user
from closeout.wiring import open_app
from exceptions_queue.users import Role, hash_password, verify_password

runner = CliRunner()
PASSWORD = "correct horse battery"
COMPANY = '[[companies]]\nid = "acme"\nname = "Acme HVAC"\n[companies.ledger]\nrealm_id = "1"\n'


def config_with(tmp_path, users: str):
    path = tmp_path / "closeout.toml"
    path.write_text(COMPANY + users)
    return path


def entry(username: str, role: str, digest: str) -> str:
    return f'\n[[users]]\nusername = "{username}"\nrole = "{role}"\npassword_hash = "{digest}"\n'


def test_users_hash_prints_a_scrypt_hash_of_the_password_and_refuses_a_short_one():
    done = runner.invoke(cli, ["users", "hash", "--password-stdin"], input=PASSWORD + "\n")
    assert done.exit_code == 0
    digest = done.stdout.strip()
    assert digest.startswith("scrypt$") and PASSWORD not in digest and verify_password(PASSWORD, digest)
    short = runner.invoke(cli, ["users", "hash", "--password-stdin"], input="short\n")
    assert short.exit_code == 2 and "10 characters" in short.stdout


def test_config_users_are_synced_when_the_ui_starts_and_can_sign_in(tmp_path, monkeypatch):
    monkeypatch.setenv("CLOSEOUT_HOME", str(tmp_path / "workspace"))
    monkeypatch.delenv("CLOSEOUT_DATABASE_URL", raising=False)
    digest = hash_password(PASSWORD)
    config = config_with(tmp_path, entry("dana", "coordinator", digest) + entry("ada", "admin", digest))
    with open_app(settings=Settings(), config_path=config) as app:
        add_user(app.store, "kim", Role.viewer, PASSWORD, actor="test")
        build_ui(app)
        build_ui(app)  # a second start with the same config changes nothing
        with app.store.unit_of_work() as uow:
            people = {u.username: u.role for u in uow.users.all()}
            synced = [e for e in uow.audit.recent(limit=50) if "config file" in e.note]
        signed_in = StoreDesk(app).authenticate("dana", PASSWORD)
    assert people == {"dana": Role.coordinator, "ada": Role.admin, "kim": Role.viewer}
    assert sorted(e.subject for e in synced) == ["user:ada", "user:dana"]
    assert signed_in is not None and signed_in.role is Role.coordinator
    demoted = config_with(tmp_path, entry("dana", "viewer", digest))
    with open_app(settings=Settings(), config_path=demoted) as app:
        build_ui(app)
        with app.store.unit_of_work() as uow:
            assert uow.users.get("dana").role is Role.viewer and uow.users.get("ada").role is Role.admin


@pytest.mark.parametrize("users, words", [
    ('\n[[users]]\nusername = "dana"\npassword = "hunter2hunter2"\n', "plain password"),
    ('\n[[users]]\nusername = "dana"\npassword_hash = "hunter2hunter2"\n', "closeout users hash"),
    (entry("dana", "boss", "scrypt$16384$8$1$c2FsdA==$aGFzaA=="), "users.0.role"),
])
def test_a_plain_password_a_malformed_hash_or_an_unknown_role_in_the_config_is_a_clear_error(tmp_path, users, words):
    with pytest.raises(ConfigError) as raised:
        load_config(config_with(tmp_path, users))
    assert words in str(raised.value) and "hunter2" not in str(raised.value)
