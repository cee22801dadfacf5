"""Refresh docs/screenshots/: the case page per kind at phone and desktop sizes, over a fresh demo, in headless Chromium.

Run by hand (``make test`` never writes into the repository): ``python -m tests.queue.take_screenshots [FOLDER]``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from tests.conftest import CHROMIUM_ARGS
from tests.queue.case_page_site import DESKTOP, PHONE, served_demo, sign_in

SHOTS = {"duplicate_job": "case-rule-blocked-duplicate-job", "missing_mapping": "case-missing-mapping",
         "unmatched_email": "case-unmatched-email", "changed_after_invoiced": "case-changed-after-invoiced"}
"""Case kind (or blocking rule) of the demo → the file name's stem; ``-phone.png`` and ``-desktop.png`` follow."""

DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def take_screenshots(folder: Path) -> list[Path]:
    """Every screenshot of ``SHOTS`` (the first screen, as a person sees it) and the look-alike job's page; the
    paths written."""
    from playwright.sync_api import sync_playwright

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with tempfile.TemporaryDirectory() as home, served_demo(Path(home) / "workspace") as site, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
            context, page = sign_in(browser, site["url"], viewport)
            for kind, stem in SHOTS.items():
                page.goto(f"{site['url']}/cases/{site['cases'][kind]}")
                written.append(folder / f"{stem}-{size}.png")
                page.screenshot(path=str(written[-1]))
            page.goto(f"{site['url']}/cases/{site['cases']['duplicate_job']}")
            page.click(".lead-rule a.look-alike")
            page.wait_for_url("**/work-orders/**")
            written.append(folder / f"work-order-{size}.png")
            page.screenshot(path=str(written[-1]))
            context.close()
        browser.close()
    return written


if __name__ == "__main__":
    for path in take_screenshots(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_FOLDER):
        print(path)
