"""``cxsim report`` opened in headless Chromium (selenium + Debian's chromedriver).

The report of a comparison and of a run is opened from ``file://`` as a reader would open
an e-mail attachment: the title, the headline table's rows, every figure decoded, no request
leaving the file, a page that fits a laptop's width, a screenshot and a printout (PDF).

Skips with the reason when chromium, chromedriver or selenium is missing.  Environment:
``CXSIM_CHROMIUM`` / ``CXSIM_CHROMEDRIVER`` override the binaries; ``CXSIM_REPORT_SHOTS``
names a folder to keep the screenshots and printouts in (default: the test's temporary
folder).
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from conftest import CHROMEDRIVER, CHROMIUM, NEEDS_BROWSER, call

from cxsim import report

pytestmark = NEEDS_BROWSER
pytest.importorskip("selenium", reason="selenium not installed (pip install selenium)")

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

WIDTH = 1366  # a common laptop screen


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    """The reports (figures embedded) of a comparison of two strategies and of a run."""
    root = tmp_path_factory.mktemp("report-browser")
    made = {}
    for kind, argv in (
            ("compare", ["compare", "--strategies", "fix_courier,recover_detractors",
                         "--reps", "3", "--customers", "1000", "--days", "40", "--workers",
                         "1"]),
            ("run", ["run", "--customers", "1000", "--days", "20"])):
        folder = root / kind
        code, _, err = call([*argv, "--quiet", "--out", folder])
        assert code == 0, err
        code, _, err = call(["report", folder, "--quiet"])
        assert code == 0, err
        made[kind] = folder / "report.html"
    return made


@pytest.fixture(scope="module")
def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={WIDTH},900", "--disable-extensions",
                "--disable-background-networking", "--no-first-run",
                "--disable-component-update", "--disable-sync"):
        opts.add_argument(arg)
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    except Exception as exc:  # e.g. a driver/browser version mismatch
        pytest.skip(f"cannot start headless chromium: {exc}")
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _keep(tmp_path: Path) -> Path:
    where = os.environ.get("CXSIM_REPORT_SHOTS")
    folder = Path(where) if where else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _open(driver, path: Path) -> None:
    driver.set_window_size(WIDTH, 900)
    driver.get(path.resolve().as_uri())
    assert driver.execute_script("return document.readyState") == "complete"


def _check_page(driver, path: Path, title: str) -> None:
    assert driver.title == title
    images = driver.find_elements(By.TAG_NAME, "img")
    assert images
    for img in images:
        assert driver.execute_script("return arguments[0].complete && "
                                     "arguments[0].naturalWidth", img) > 0, img.get_attribute(
                                         "alt")
    # nothing was fetched from outside the file: every resource is the file or data
    urls = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    assert all(u.startswith("data:") for u in urls), urls
    text = path.read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text
    # readable on a laptop: the page does not scroll sideways
    assert driver.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth")


def _snapshots(driver, name: str, tmp_path: Path) -> None:
    """A screenshot of the whole page and its printout as PDF."""
    folder = _keep(tmp_path)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(WIDTH, min(height + 120, 16_000))
    shot = folder / f"{name}.png"
    assert driver.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pdf = base64.b64decode(driver.print_page())
    assert pdf[:5] == b"%PDF-"
    (folder / f"{name}.pdf").write_bytes(pdf)


def test_a_comparison_report_in_the_browser(reports, browser, tmp_path):
    path = reports["compare"]
    _open(browser, path)
    _check_page(browser, path, "cxsim compare report: Omnichannel retailer")
    table = browser.find_element(By.ID, "headline")
    groups = [e.text for e in table.find_elements(By.CSS_SELECTOR, "tbody tr.group th")]
    assert groups == ["fix_courier − baseline (from day 30)",
                      "recover_detractors − baseline (from day 30)"]
    rows = table.find_elements(By.CSS_SELECTOR, "tbody tr:not(.group)")
    assert len(rows) == 2 * len(report.COMPARE_ROWS)
    first = [c.text for c in rows[0].find_elements(By.CSS_SELECTOR, "th, td")]
    assert first[0] == "Active customers\ncustomers"
    # an interval, or none when every replication gave the same difference
    assert " to " in first[4] or first[4] == "none: the same in every replication"
    texts = [[c.text for c in r.find_elements(By.CSS_SELECTOR, "td")] for r in rows]
    assert any(" to " in t[3] for t in texts)  # some differences do vary
    assert len(browser.find_elements(By.TAG_NAME, "img")) == 2
    # the intervals column is right-aligned, the reading left-aligned
    cells = rows[0].find_elements(By.TAG_NAME, "td")
    assert cells[3].value_of_css_property("text-align") == "right"
    assert cells[4].value_of_css_property("text-align") in ("left", "start")
    _snapshots(browser, "report_compare", tmp_path)


def test_a_run_report_in_the_browser(reports, browser, tmp_path):
    path = reports["run"]
    _open(browser, path)
    _check_page(browser, path, "cxsim run report: Omnichannel retailer")
    rows = browser.find_elements(By.CSS_SELECTOR, "#headline tbody tr")
    assert [r.find_element(By.TAG_NAME, "th").text for r in rows][:3] == [
        "Active customers at the end", "New customers (total)", "Churned customers (total)"]
    assert len(rows) == len(report.RUN_ROWS)
    assert len(browser.find_elements(By.TAG_NAME, "img")) == 7  # with CLV by segment
    _snapshots(browser, "report_run", tmp_path)
