"""Run the benchmark scenarios, print one table, and write the numbers to bench/results/ (latest.json too).

    python -m bench.run [--size full|tiny] [--only NAME ...] [--results DIR]

Every ``bench/scenario_<name>.py`` that exists is run in name order; each exposes ``run(size) -> list[Measure]``.
A scenario that fails is reported in the table and the JSON (``error``) and the others still run. A scenario
that reports calls the sandbox refused (429) has them in the JSON (``refused``) and every target marked not met.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.measure import Measure, mark_refusals, refused_calls

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"


def scenario_names() -> list[str]:
    return sorted(path.stem.removeprefix("scenario_") for path in BENCH.glob("scenario_*.py"))


def machine() -> dict[str, Any]:
    """What the numbers ran on: CPU model, cores, Python, the git commit (and whether the tree was dirty)."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "usable_cores": len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity") else os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "commit": _git("rev-parse", "HEAD"),
            "dirty": bool(_git("status", "--porcelain", "--untracked-files=no"))}


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=BENCH.parent, capture_output=True, text=True, timeout=10)
        return done.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def run_scenarios(names: list[str], size: str) -> tuple[list[Measure], list[dict[str, Any]]]:
    measures: list[Measure] = []
    runs: list[dict[str, Any]] = []
    for name in names:
        started = time.perf_counter()
        entry: dict[str, Any] = {"scenario": name}
        try:
            module = importlib.import_module(f"bench.scenario_{name}")
            found = mark_refusals(list(module.run(size)))
            measures += found
            entry["measures"] = len(found)
            entry["refused"] = refused_calls(found)  # None: the scenario meets no rate limit
        except Exception as exc:  # noqa: BLE001 - one broken scenario must not hide the others' numbers
            entry["error"] = f"{type(exc).__name__}: {exc}"
            entry["traceback"] = traceback.format_exc()
        entry["seconds"] = round(time.perf_counter() - started, 2)
        runs.append(entry)
    return measures, runs


def table(measures: list[Measure], runs: list[dict[str, Any]], title: str) -> Table:
    grid = Table(title=title, show_lines=False)
    for column in ("scenario", "measure", "value", "floor / reference", "ratio", "target", "met"):
        grid.add_column(column, justify="left" if column in ("scenario", "measure", "target", "met") else "right")
    for m in measures:
        met = "—" if m.met is None else ("[green]yes[/]" if m.met else "[red]no[/]")
        reference = "" if m.reference is None else f"{_number(m.reference)} ({m.reference_label})"
        grid.add_row(m.scenario, m.measure, f"{_number(m.value)} {m.unit}", reference,
                     "" if m.ratio is None else _number(m.ratio), m.target, met)
    for run in runs:
        if "error" in run:
            grid.add_row(run["scenario"], "[red]failed[/]", run["error"][:120], "", "", "", "[red]no[/]")
    return grid


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.4g}"


def write_results(measures: list[Measure], runs: list[dict[str, Any]], size: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC)
    document = {"started": stamp.isoformat(), "size": size, "machine": machine(), "scenarios": runs,
                "measures": [asdict(m) for m in measures]}
    text = json.dumps(document, indent=2, default=str)
    path = folder / f"{stamp.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(text, encoding="utf-8")
    (folder / "latest.json").write_text(text, encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("full", "tiny"), default="full")
    parser.add_argument("--only", action="append", choices=scenario_names(), metavar="NAME",
                        help=f"run only this scenario (repeatable): {', '.join(scenario_names())}")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the JSON goes (default bench/results)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    measures, runs = run_scenarios(args.only or scenario_names(), args.size)
    path = write_results(measures, runs, args.size, args.results)
    console = Console(width=max(Console().width, 160))
    console.print(table(measures, runs, f"Closeout benchmarks ({args.size}), {time.perf_counter() - started:.0f} s"))
    console.print(f"results: {path} (and {path.parent / 'latest.json'})")
    return 1 if any("error" in run for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
