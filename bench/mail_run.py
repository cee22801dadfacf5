"""Where a mail ingest's time goes: the floors and the ingest side by side, with each process's CPU seconds.

``python -m bench.mail_run [--messages N] [--runs R]`` starts a private Dovecot, fills a folder as the mail
scenario does, then R times: both floors (``bench.floors``), then one ingest into a fresh SQLite store. Per run
it prints the wall seconds, the ratios, the main process's CPU seconds and the parse workers' user and kernel
(file creation) seconds. On a loaded machine wall times follow the load; CPU seconds move much less.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from bench.mail_data import load_mailbox
from bench.scenario_mail import FOLDER, _admin, _app, _check, _floors, _inbox
from sandbox.dovecot_server import USER, DovecotServer
from services.mail.ingest import ingest_mailbox
from services.mailbox_config import MailboxConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    jobs = max(1, args.messages // 5)
    server = DovecotServer().start()
    try:
        with _admin(server) as admin:
            load_mailbox(admin, FOLDER, args.messages, jobs)
            admin.folder_status(FOLDER, ["MESSAGES", "UIDNEXT"])
        for _ in range(args.runs):
            bare, parse = _floors(server, args.messages)
            with tempfile.TemporaryDirectory(prefix="closeout-bench-mail-") as folder:
                app = _app(Path(folder), jobs)
                try:
                    mailbox = MailboxConfig(kind="imap", name="bench", host="127.0.0.1", port=server.imaps_port,
                                            username=USER, ca_file=server.ca_file, folders=(FOLDER,))
                    workers = resource.getrusage(resource.RUSAGE_CHILDREN)  # the workers end with the ingest
                    cpu, started = time.process_time(), time.perf_counter()
                    counts = ingest_mailbox(app, app.config.companies[0], mailbox, inbox=_inbox(server))
                    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
                    after = resource.getrusage(resource.RUSAGE_CHILDREN)
                    _check(app, counts, args.messages)
                finally:
                    app.store.close()
            print(f"floors: bare {bare:.2f} s, parse {parse:.2f} s | ingest {wall:.2f} s: {parse / wall:.3f} of the "
                  f"parse floor, {bare / wall:.3f} of the bare fetch | CPU s: main {cpu:.2f}, workers user "
                  f"{after.ru_utime - workers.ru_utime:.2f} + kernel {after.ru_stime - workers.ru_stime:.2f}",
                  flush=True)
    finally:
        server.remove()


if __name__ == "__main__":
    main()
