"""CSV drop faults: files that grow while the workers read them, a truncated last row, files renamed mid-read.

What the CSV source promises (``connectors.csv_drop``) and what each fault checks of it:

    growing     jobs are appended to a file in pieces, a row at times left without its line end for a
                moment: a row without a line end waits ``settle_seconds``, and the cursor resumes after
                the last delivered job, so every appended job lands once
    truncated   a file whose last row is cut mid-way and never finished (a writer that crashed): read
                once the file has settled, the cut job ends in a case or an invoice, never lost
    renamed     a finished file renamed while the workers may be reading it: the new name is a new file
                to the cursor, and its jobs are the same jobs again (no new version, no second invoice)

The fault files hold jobs of their own (``FIRST_FAULT_JOB`` on); the later changes never touch them.
"""

from __future__ import annotations

import csv
import io
import os
import random
import threading
from collections import Counter
from pathlib import Path

from reliability.workload import COLUMNS, csv_rows

FIRST_FAULT_OFFSET = 500_000
"""Fault-file jobs are numbered from here (job ids ``Q<10000 + n>``), apart from the drop's own."""
BIG_CELL = 200_000
"""One fault job carries a notes cell this long: over the csv module's default field limit (131,072)."""


def _job_text(n: int, rng: random.Random, *, big: bool = False) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
    rows = csv_rows(n - FIRST_FAULT_OFFSET, rng)  # dates and customers of a small job number, ids of this one
    for row in rows:
        row["job_id"], row["job_number"] = f"Q{10_000 + n}", str(10_000 + n)
    if big:
        rows[0]["notes"] = "oversized note " + "x" * BIG_CELL
    writer.writerows({key: row.get(key, "") for key in COLUMNS} for row in rows)
    return buffer.getvalue()


def _header() -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(COLUMNS)
    return buffer.getvalue()


class CsvFaults(threading.Thread):
    """Writes the fault files into the drop folder while the workers run; ``injected`` counts each fault."""

    def __init__(self, folder: Path, jobs: int, *, seed: int, growing_files: int = 2, pause: float = 0.3) -> None:
        super().__init__(name="csv_faults", daemon=True)
        self.folder, self.jobs, self.pause = folder, jobs, pause
        self.rng = random.Random(seed + 5)
        self.growing_files = max(1, growing_files)
        self.injected: Counter = Counter()
        self.job_ids: set[str] = set()
        self.finished = threading.Event()
        self._stop_event = threading.Event()
        self._renames = 0

    @property
    def numbers(self) -> range:
        return range(FIRST_FAULT_OFFSET, FIRST_FAULT_OFFSET + self.jobs)

    def run(self) -> None:
        try:
            self._write()
        finally:
            self.finished.set()

    def stop(self) -> None:
        """Write what is left at once (every job is counted by the campaign) and wait for the end."""
        self._stop_event.set()
        self.join(timeout=120)

    def _write(self) -> None:
        numbers = list(self.numbers)
        truncated, numbers = numbers[:3], numbers[3:]  # the last job of the truncated file is cut
        self._write_truncated(truncated)
        paths = [self.folder / f"grow-{i}.csv" for i in range(self.growing_files)]
        for path in paths:
            path.write_text(_header(), encoding="utf-8")
        for k, n in enumerate(numbers):
            i = k % len(paths)
            text = _job_text(n, self.rng, big=(k == len(numbers) // 2))
            self.job_ids.add(f"Q{10_000 + n}")
            with paths[i].open("a", encoding="utf-8", newline="") as handle:
                if self.rng.random() < 0.3:  # a row left without its end for a moment: the reader must wait
                    cut = self.rng.randrange(20, len(text.split("\r\n", 1)[0]))
                    handle.write(text[:cut])
                    handle.flush()
                    self.injected["csv_row_left_unfinished_while_read"] += 1
                    self._stop_event.wait(self.rng.uniform(0.05, self.pause))
                    handle.write(text[cut:])
                else:
                    handle.write(text)
            self.injected["csv_job_appended_while_read"] += 1
            if self.rng.random() < 0.04:
                paths[i] = self._rename(paths[i])
            self._stop_event.wait(self.rng.uniform(0.0, self.pause))
        for path in paths:  # finished files are renamed once more, as an exporter archiving them would
            self._rename(path)

    def _write_truncated(self, numbers: list[int]) -> None:
        text = "".join(_job_text(n, self.rng) for n in numbers)
        last_line = text.rstrip("\r\n").rsplit("\r\n", 1)[1]
        cut = len(text) - 2 - len(last_line) + len(last_line) // 2  # half of the last row, no line end
        (self.folder / "truncated.csv").write_text(_header() + text[:cut], encoding="utf-8", newline="")
        self.job_ids.update(f"Q{10_000 + n}" for n in numbers)
        self.injected["csv_last_row_truncated"] += 1

    def _rename(self, path: Path) -> Path:
        self._renames += 1
        target = path.with_name(f"{path.stem.split('.')[0]}.r{self._renames}.csv")
        os.rename(path, target)
        self.injected["csv_file_renamed_mid_read"] += 1
        return target
