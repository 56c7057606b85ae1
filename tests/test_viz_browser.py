"""End-to-end test of the workshop app in headless Chromium (selenium + Debian's chromedriver).

Starts ``cxsim viz SCENARIO --port 0`` in a subprocess, waits for its "serving ... at URL"
line (printed once ``/readyz`` answers), then drives the page:
load -> 3 x Step -> head-count slider to its minimum -> Reset -> 3 x Step: the service level
shown must drop; then an invalid setting -> Reset shows the scenario's problem on the page.

KPI values are read from text elements of the KPI panel (``data-testid="kpi-<name>"``,
exact value in ``data-value``): Solara renders matplotlib figures as PNG images, so the panel is
the observable "plotted value" (it is computed from the same ``model.metrics`` rows).

Skips when chromium/chromedriver/selenium/solara are missing.  Environment:
``CXSIM_CHROMIUM`` / ``CXSIM_CHROMEDRIVER`` override the binaries; ``SOLARA_ASSETS_PROXY_CACHE_DIR``
(passed through) points Solara at front-end files when the machine cannot reach its CDN
(``python -m cxsim.viz_assets`` fills Solara's cache from npm).
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "retail.toml"
CHROMIUM = os.environ.get("CXSIM_CHROMIUM") or shutil.which("chromium") or shutil.which(
    "chromium-browser")
CHROMEDRIVER = os.environ.get("CXSIM_CHROMEDRIVER") or shutil.which("chromedriver")

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed "
                       "(apt-get install -y chromium chromium-driver)"),
    pytest.mark.skipif(CHROMEDRIVER is None, reason="chromedriver not installed "
                       "(apt-get install -y chromium-driver)"),
]
selenium = pytest.importorskip("selenium", reason="selenium not installed (pip install selenium)")
pytest.importorskip("solara", reason="the viz extra is not installed (pip install 'cxsim[viz]')")

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import (  # noqa: E402
    NoSuchElementException,
    StaleElementReferenceException,
)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

START_TIMEOUT = 180  # server start (imports numba, cxsim, mesa) on a busy machine
UI_TIMEOUT = 60


@pytest.fixture(scope="module")
def server():
    """``cxsim viz SCENARIO --port 0``; yields the URL once it says it is serving."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "cxsim.cli", "viz", str(SCENARIO),
                             "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, start_new_session=True)
    lines: queue.Queue[str] = queue.Queue()
    log: list[str] = []

    def pump():
        for line in proc.stdout:
            log.append(line)
            lines.put(line)
        lines.put("")

    threading.Thread(target=pump, daemon=True).start()
    url = None
    deadline = time.monotonic() + START_TIMEOUT
    while url is None and time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        if line == "" and proc.poll() is not None:
            break
        found = re.search(r"serving .* at (http://\S+/)", line)
        if found:
            url = found.group(1)
    try:
        if url is None:
            pytest.fail("the app server did not start:\n" + "".join(log[-40:]))
        _check_front_end(url)
        yield url
    finally:
        # cxsim viz terminates its solara child on SIGTERM; kill our session if it lingers
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


def _check_front_end(url: str) -> None:
    """Skip if Solara cannot serve its front end (no route to its CDN and no local copy)."""
    probe = url + "_solara/cdn/requirejs@2.3.6/require.js"
    try:
        with urllib.request.urlopen(probe, timeout=60) as r:
            ok = r.status == 200
    except (urllib.error.URLError, OSError):
        ok = False
    if not ok:
        pytest.skip("Solara's front-end files are unavailable (no route to cdn.jsdelivr.net): "
                    "run python -m cxsim.viz_assets, or set SOLARA_ASSETS_PROXY_CACHE_DIR to "
                    "a seeded folder")


@pytest.fixture(scope="module")
def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000", "--disable-extensions"):
        opts.add_argument(arg)
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    except Exception as exc:  # e.g. a driver/browser version mismatch
        pytest.skip(f"cannot start headless chromium: {exc}")
    driver.set_page_load_timeout(UI_TIMEOUT)
    yield driver
    driver.quit()


# --------------------------------------------------------------------------------------------
def _wait(driver, cond, what, timeout=UI_TIMEOUT):
    try:
        # Solara/Vue re-render elements: a stale one is just retried
        return WebDriverWait(driver, timeout, poll_frequency=0.1, ignored_exceptions=(
            NoSuchElementException, StaleElementReferenceException)).until(cond)
    except Exception:
        body = driver.find_element(By.TAG_NAME, "body").text[:2000]
        pytest.fail(f"timed out waiting for {what}; page text:\n{body}")


def _kpi(driver, key):
    """The exact value behind the KPI panel's ``key`` (None while not shown)."""
    els = driver.find_elements(By.CSS_SELECTOR, f'[data-testid="kpi-{key}"]')
    if not els:
        return None
    raw = els[0].get_attribute("data-value")
    return None if raw in (None, "", "nan") else float(raw)


def _button(driver, label):
    return driver.find_element(By.XPATH, f"//button[normalize-space(.)='{label}']")


def _click(driver, label):
    btn = _wait(driver, lambda d: (b := _button(d, label)).is_enabled() and b,
                f"an enabled {label} button")
    btn.click()


def _step(driver, times):
    start = int(_kpi(driver, "tick"))
    for i in range(1, times + 1):
        _click(driver, "Step")
        _wait(driver, lambda d, n=start + i: _kpi(d, "tick") == n, f"day {start + i}")


def _params_text(driver):
    els = driver.find_elements(By.CSS_SELECTOR, '[data-testid="model-params"]')
    return els[0].text if els else ""


def _slider(driver, label):
    return driver.find_element(
        By.XPATH, f"//label[normalize-space(.)='{label}']/following::*[@role='slider'][1]")


def _text_input(driver, label_start):
    return driver.find_element(
        By.XPATH, f"//label[starts-with(normalize-space(.), '{label_start}')]"
                  "/following::input[1]")


# --------------------------------------------------------------------------------------------
def test_slider_reset_and_steps_change_the_plotted_kpis(server, browser):
    t0 = time.monotonic()
    d = browser
    d.get(server)
    _wait(d, lambda d: _kpi(d, "tick") == 0, "the KPI panel at day 0", timeout=START_TIMEOUT)
    assert "head count 12 " in _params_text(d)
    assert _kpi(d, "service_level") is None  # nothing simulated yet

    _step(d, 3)
    base_sl, base_active = _kpi(d, "service_level"), _kpi(d, "active")
    assert 0.0 <= base_sl <= 1.0 and base_active > 0

    # head count to its minimum with the keyboard (works for Vuetify 2 and 3 sliders)
    slider = _slider(d, "Contact centre head count")
    assert slider.get_attribute("aria-valuenow") == "12"
    d.execute_script("arguments[0].focus()", slider)  # the thumb has zero size: no click
    ActionChains(d).send_keys(Keys.HOME).perform()
    _wait(d, lambda d: _slider(d, "Contact centre head count").get_attribute(
        "aria-valuenow") == "1", "the slider at 1")
    # SolaraViz rebuilds the model only on Reset
    time.sleep(0.3)
    _click(d, "Reset")
    _wait(d, lambda d: "head count 1 " in _params_text(d) and _kpi(d, "tick") == 0,
          "a new model with head count 1")

    _step(d, 3)
    sl, active = _kpi(d, "service_level"), _kpi(d, "active")
    # one agent instead of twelve for 100,000 customers: the queue collapses
    assert sl < base_sl - 0.2, (base_sl, sl)
    assert active > 0
    print(f"service level {base_sl:.3f} -> {sl:.3f}; active {base_active:.0f} -> {active:.0f}")

    # an invalid setting is shown on the page, not a crash
    box = _text_input(d, "More settings")
    box.click()
    box.send_keys("touchpoints.chat.quality=1.5", Keys.ENTER)
    time.sleep(0.3)
    _click(d, "Reset")
    problem = _wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="problem"]'),
                    "the scenario's problems")
    assert "touchpoints.chat.quality must be in [0, 1], got 1.5" in problem[0].text
    _click(d, "Step")  # a placeholder model does not step (and disables Step)
    _wait(d, lambda d: not _button(d, "Step").is_enabled(), "Step disabled")

    # fix it: back to a valid model
    box = _text_input(d, "More settings")
    box.click()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.BACKSPACE, Keys.ENTER)
    time.sleep(0.3)
    _click(d, "Reset")
    _wait(d, lambda d: _kpi(d, "tick") == 0, "a valid model again")
    _step(d, 1)
    print(f"browser part took {time.monotonic() - t0:.1f} s")


def test_play_runs_and_pauses_in_a_fresh_session(server, browser):
    d = browser
    d.get(server)  # a new session gets its own model (Page builds one per session)
    _wait(d, lambda d: _kpi(d, "tick") == 0, "a fresh model at day 0")
    assert "head count 12 " in _params_text(d)
    _click(d, "▶")
    _wait(d, lambda d: (_kpi(d, "tick") or 0) >= 5, "playing to day 5")
    _click(d, "❚❚")
    _wait(d, lambda d: _button(d, "Step").is_enabled(), "paused (Step enabled)")
    time.sleep(1.0)  # a step already under way when pausing still completes
    stopped = _kpi(d, "tick")
    time.sleep(1.5)
    assert _kpi(d, "tick") == stopped
    assert _kpi(d, "nps") is not None
