"""The floors the normalisation and mail scenarios are measured against: the same input read with no Closeout code.

Each floor is the least any program must do with the same data on the same machine, in the same run:

- *normalisation floor*: fetch the same pages from the same fake source (``bench.fake_source``) with a plain
  ``httpx.Client``, ``json.loads`` each page, and insert one row per job (its raw JSON) into SQLite with
  ``executemany``, one transaction per page; the database has the pragmas Closeout's store sets (WAL,
  ``synchronous=NORMAL``), so both pay the same for a commit;
- *bare fetch floor*: a plain imapclient read of every message (login, EXAMINE, SEARCH, FETCH ``BODY.PEEK[]``
  500 at a time);
- *parse floor*: the same fetch with ``email.message_from_bytes`` (the standard library's parser, called bare:
  its ``compat32`` policy) on each message as it arrives.
"""

from __future__ import annotations

import email
import json
import sqlite3
import ssl
import tempfile
import time
from pathlib import Path

import httpx
from imapclient import IMAPClient

JOBS_QUERY = "query JobsChanged($first: Int!, $after: String) { jobs(first: $first, after: $after) { nodes { id } } }"
"""The fake answers every ``JobsChanged`` with whole jobs, whatever fields are asked for."""


def normalisation_floor_seconds(url: str, orders: int, *, page_size: int) -> tuple[float, float]:
    """Wall and CPU seconds (of this process) to fetch every page of ``url``'s jobs, parse them, and store each
    job's JSON in SQLite."""
    with tempfile.TemporaryDirectory(prefix="closeout-bench-floor-") as folder:
        database = sqlite3.connect(Path(folder) / "floor.db", isolation_level=None)
        database.execute("PRAGMA journal_mode=WAL")
        database.execute("PRAGMA synchronous=NORMAL")
        database.execute("CREATE TABLE jobs (id TEXT PRIMARY KEY, payload TEXT NOT NULL)")
        stored, after = 0, None
        started, cpu = time.perf_counter(), time.process_time()
        with httpx.Client(base_url=url, timeout=60, trust_env=False,
                          headers={"Authorization": "Bearer bench"}) as http:
            while True:
                answer = http.post("/api/graphql", json={"query": JOBS_QUERY,
                                                         "variables": {"first": page_size, "after": after}})
                page = json.loads(answer.content)["data"]["jobs"]
                database.execute("BEGIN")
                database.executemany("INSERT INTO jobs (id, payload) VALUES (?, ?)",
                                     [(node["id"], json.dumps(node)) for node in page["nodes"]])
                database.execute("COMMIT")
                stored += len(page["nodes"])
                if not page["pageInfo"]["hasNextPage"]:
                    break
                after = page["pageInfo"]["endCursor"]
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
        database.close()
    if stored != orders:
        raise RuntimeError(f"the normalisation floor stored {stored} of {orders} jobs")
    return seconds, cpu_seconds


def imap_fetch_seconds(host: str, port: int, ca_file: str, user: str, password: str, folder: str, count: int, *,
                       parse: bool = False) -> float:
    """A plain imapclient read of every message of ``folder``, 500 a command; with ``parse``, each message is
    also parsed by ``email.message_from_bytes`` as it arrives (the parse floor)."""
    started = time.perf_counter()
    with IMAPClient(host, port=port, ssl=True, timeout=60,
                    ssl_context=ssl.create_default_context(cafile=ca_file)) as client:
        client.login(user, password)
        client.select_folder(folder, readonly=True)
        uids = client.search(["ALL"])
        fetched = 0
        for start in range(0, len(uids), 500):
            answer = client.fetch(uids[start:start + 500], ["BODY.PEEK[]"])
            fetched += len(answer)
            if parse:
                for data in answer.values():
                    email.message_from_bytes(data[b"BODY[]"])
    seconds = time.perf_counter() - started
    if fetched != count:
        raise RuntimeError(f"the bare fetch read {fetched} of {count} messages")
    return seconds
