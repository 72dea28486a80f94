"""Regenerate docs/report.png: the audit report of the README's sample store, in headless Chromium.

Usage (from the repository root, after ``make demo`` wrote build/demo.db; without it the
samples are replayed into a temporary store)::

    .venv/bin/python scripts/report_screenshot.py [--db build/demo.db] [--out docs/report.png]

Needs Debian's ``chromium`` and ``chromium-driver`` (``bash .ci/chromium`` installs them) and
selenium (the test extras).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from signin_monitor import cli
from signin_monitor.cli import report as command
from signin_monitor.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def _report(db: Path, out: Path, since: str, until: str) -> None:
    parser = cli.common.Parser(prog="signin-monitor")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=cli.common.Parser)
    command.add_parser(commands)
    argv = ["report", "--db", str(db), "--since", since, "--until", until, "--out", str(out)]
    if command.run(parser.parse_args([*argv, "--no-progress"]), Settings.from_env({})) != 0:
        raise SystemExit("report failed")


def _screenshot(page: Path, png: Path, *, width: int) -> None:
    chromium, driver_binary = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver_binary:
        raise SystemExit("chromium and chromedriver are needed: bash .ci/chromium")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        "--blink-settings=preferredColorScheme=1",  # light
        f"--window-size={width},1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_binary), options=options)
    try:
        driver.get(page.resolve().as_uri())
        height = int(driver.execute_script("return document.documentElement.scrollHeight"))
        driver.set_window_size(width, height + 40)
        driver.get(page.resolve().as_uri())
        png.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(png))
    finally:
        driver.quit()


def main() -> int:
    """Build the sample report in a temporary folder and save its screenshot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=ROOT / "build" / "demo.db")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "report.png")
    parser.add_argument("--since", default="2026-11-02")
    parser.add_argument("--until", default="2026-11-03T23:59:59Z")
    parser.add_argument("--width", type=int, default=1200)
    args = parser.parse_args()
    db, png = args.db.resolve(), args.out.resolve()
    os.chdir(ROOT)  # the page names the store as given: build/demo.db, not a home folder
    if db.is_relative_to(ROOT):
        db = db.relative_to(ROOT)
    with tempfile.TemporaryDirectory() as work:
        if not db.is_file():
            db = Path(work) / "demo.db"
            status = cli.main(["replay", "--db", str(db), "--no-progress", str(ROOT / "samples")])
            if status != 0:
                raise SystemExit("replay of samples/ failed")
        _report(db, Path(work) / "report", args.since, args.until)
        _screenshot(Path(work) / "report" / "report.html", png, width=args.width)
    print(f"wrote {png}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
