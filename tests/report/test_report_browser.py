"""report.html in a real browser: headless Chromium driven by selenium.

Checks the DOM (headings, every root sign-in, table numbers equal to what the store answers),
that no script runs (no ``<script>`` element, no alert dialog, hostile names shown as text) and
that the page makes no request but its own file:// load (Chrome's performance log, CDP Network
events). A screenshot is saved beside the report as a test artifact.

Skipped with the reason when Debian's ``chromium`` and ``chromium-driver`` are not installed
(``bash .ci/chromium`` installs them).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from signin_monitor.report.page import SECTIONS
from tests.report.support import (
    HOSTILE_ATTRIBUTE,
    HOSTILE_CHANNEL,
    HOSTILE_SCRIPT,
    SINCE,
    UNTIL,
    run_report,
    store_rows,
)

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="headless Chromium not found: needs Debian's chromium and chromium-driver "
    "(bash .ci/chromium installs them)",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1200,1000",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


@pytest.fixture
def page(browser: Any, mixed_day_db: Path, tmp_path: Path) -> Any:
    out = tmp_path / "report"
    argv = ["--db", str(mixed_day_db), "--since", SINCE, "--until", UNTIL, "--out", str(out)]
    assert run_report([*argv, "--no-progress"]) == 0
    browser.get_log("performance")  # forget what came before this page
    browser.get((out / "report.html").as_uri())
    return browser


def _cells(driver: Any, table_id: str) -> list[list[str]]:
    rows = driver.find_elements(By.CSS_SELECTOR, f"#{table_id} tbody tr")
    return [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")] for row in rows]


def test_the_page_shows_every_section_and_every_root_sign_in(
    page: Any, mixed_day_db: Path, tmp_path: Path
) -> None:
    headings = [h.text for h in page.find_elements(By.TAG_NAME, "h2")]
    assert headings == list(SECTIONS.values())
    # every root event the store holds is a row of the timeline, with its id, MFA and IP
    root = store_rows(
        mixed_day_db,
        "SELECT event_id, mfa_used, source_ip FROM activity WHERE identity_type = 'Root'"
        " ORDER BY event_time, event_id",
    )
    rows = _cells(page, "root-table")
    assert [row[-1] for row in rows] == [event_id for event_id, _, _ in root]
    assert [row[3] for row in rows] == ["yes" if mfa else "no" for _, mfa, _ in root]
    assert [row[5] for row in rows] == [ip for _, _, ip in root]
    assert "root-sign-in" in {row[7] for row in rows}
    page.save_screenshot(str(tmp_path / "report.png"))
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_table_numbers_equal_what_the_store_answers(page: Any, mixed_day_db: Path) -> None:
    per_day = {
        day: (int(ok), int(failed))
        for day, ok, failed in store_rows(
            mixed_day_db,
            "SELECT substr(event_time, 1, 10), SUM(result = 'Success'), SUM(result = 'Failure')"
            " FROM activity WHERE event_name = 'ConsoleLogin' GROUP BY 1",
        )
    }
    shown = {row[0]: (int(row[1]), int(row[2])) for row in _cells(page, "per-day-table")}
    assert shown == per_day
    no_mfa = store_rows(
        mixed_day_db,
        "SELECT principal, COUNT(*) FROM activity WHERE event_name = 'ConsoleLogin'"
        " AND result = 'Success' AND mfa_used = 0 AND identity_type = 'IAMUser' GROUP BY 1",
    )
    assert {(r[0], int(r[2])) for r in _cells(page, "no-mfa-table")} == set(no_mfa)
    failing = store_rows(
        mixed_day_db,
        "SELECT source_ip, COUNT(*) FROM activity WHERE event_name = 'ConsoleLogin'"
        " AND result = 'Failure' GROUP BY 1",
    )
    assert {(r[0], int(r[1])) for r in _cells(page, "failing-ips-table")} == set(failing)
    (alerts,) = store_rows(mixed_day_db, "SELECT COUNT(*) FROM alert_claims")[0]
    total = page.find_element(By.CSS_SELECTOR, "#alerts-table tfoot td:last-child").text
    assert int(total) == alerts
    (events,) = store_rows(mixed_day_db, "SELECT COUNT(*) FROM activity")[0]
    assert page.find_element(By.CSS_SELECTOR, "#total-events b").text == f"{events:,}"


def test_no_script_runs_and_hostile_names_are_shown_as_text(page: Any) -> None:
    assert page.find_elements(By.TAG_NAME, "script") == []
    assert page.find_elements(By.TAG_NAME, "img") == []
    with pytest.raises(NoAlertPresentException):
        page.switch_to.alert.text  # noqa: B018 (reading it is the check)
    text = page.find_element(By.TAG_NAME, "body").text
    for hostile in (HOSTILE_SCRIPT, HOSTILE_CHANNEL, HOSTILE_ATTRIBUTE):
        assert hostile in text
    names = {row[0] for row in _cells(page, "no-mfa-table")}
    assert {HOSTILE_SCRIPT, HOSTILE_ATTRIBUTE} <= names


def test_no_request_leaves_the_page(page: Any) -> None:
    messages = [json.loads(entry["message"])["message"] for entry in page.get_log("performance")]
    requested = [
        m["params"]["request"]["url"]
        for m in messages
        if m["method"] == "Network.requestWillBeSent"
    ]
    assert len(requested) == 1, requested
    assert requested[0].startswith("file://")
    assert requested[0].endswith("/report.html")


def test_the_page_prints_to_pdf(page: Any, tmp_path: Path) -> None:
    import base64

    from selenium.webdriver.common.print_page_options import PrintOptions

    options = PrintOptions()
    options.background = True
    pdf = base64.b64decode(page.print_page(options))
    (tmp_path / "report.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF")
    assert len(pdf) > 10_000
