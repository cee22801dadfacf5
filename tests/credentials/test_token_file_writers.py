"""Two writers saving rotated tokens at once (two workers refreshing together) never trip over each other.

Found by the fault campaign (make reliability): both workers refreshed the Jobber token at the same moment,
wrote the same ``.tmp`` file, and the second rename failed with FileNotFoundError, failing that pull.
"""

from __future__ import annotations

import json
import threading

from closeout.credentials.vaults import FileTokenVault
from connectors.oauth import TokenPair


def test_writers_saving_the_token_file_at_the_same_time_all_succeed_and_leave_a_whole_file(tmp_path):
    store = FileTokenVault(tmp_path / "tokens" / "acme-jobber.json", first_refresh_token=lambda: "first")
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(100):
                store.save(TokenPair(access_token=f"a-{n}-{i}", refresh_token=f"r-{n}-{i}"))
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    writers = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()

    assert errors == []
    saved = json.loads(store.path.read_text(encoding="utf-8"))
    assert saved["access_token"].startswith("a-") and saved["refresh_token"].startswith("r-")
    assert [path.name for path in store.path.parent.iterdir()] == ["acme-jobber.json"]
