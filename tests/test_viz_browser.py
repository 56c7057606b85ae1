"""End-to-end test of the workshop app in headless Chromium (selenium + Debian's chromedriver).

Starts ``cxsim viz SCENARIO --port 0 --customers 20000`` in a subprocess, waits for its
"serving ... at URL" line (printed once ``/readyz`` answers and the front end is served), then
drives the page: load -> 3 x Step -> head-count slider to its minimum -> Reset -> 3 x Step: the
service level shown must drop; invalid settings -> Reset lists every problem, with Play and
Step disabled; the sliders show their values; none of Mesa's SolaraViz controls is on the page.

KPI values are read from text elements of the KPI panel (``data-testid="kpi-<name>"``,
exact value in ``data-value``): Solara renders matplotlib figures as PNG images, so the panel is
the observable "plotted value" (it is computed from the same ``model.metrics`` rows).

Skips when chromium/chromedriver/selenium/solara are missing.  Environment:
``CXSIM_CHROMIUM`` / ``CXSIM_CHROMEDRIVER`` override the binaries; ``SOLARA_ASSETS_PROXY_CACHE_DIR``
(passed through) points Solara at front-end files when the machine cannot reach its CDN
(``python -m cxsim.viz_assets`` fills Solara's cache from npm).  ``CXSIM_SCREENSHOTS``: a
folder to save screenshots of the page in (PNG).
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import CHROMEDRIVER, CHROMIUM, NEEDS_BROWSER

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "retail.toml"
pytestmark = NEEDS_BROWSER
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

CUSTOMERS = 20_000  # a fifth of the retailer's market: quick steps
START_TIMEOUT = 180  # server start (imports numba, cxsim, mesa) on a busy machine
UI_TIMEOUT = 60
#: what the app server printed (shown when a wait times out)
SERVER_LOG: list[str] = []


@pytest.fixture(scope="module")
def server():
    """``cxsim viz SCENARIO --port 0``; yields the URL once it says it is serving."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "cxsim.cli", "viz", str(SCENARIO),
                             "--port", "0", "--customers", str(CUSTOMERS)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, start_new_session=True)
    lines: queue.Queue[str] = queue.Queue()
    log = SERVER_LOG
    log.clear()

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
        pytest.fail(f"timed out waiting for {what}; page text:\n{body}\n\nserver output:\n"
                    + "".join(SERVER_LOG[-40:]))


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


def _slider(driver, key):
    return driver.find_element(
        By.XPATH, f"//*[@data-testid='value-{key}']/following::*[@role='slider'][1]")


def _shown_value(driver, key):
    """The value a slider's label shows."""
    return driver.find_element(By.CSS_SELECTOR, f'[data-testid="value-{key}"]').text


def _text_input(driver, label_start):
    return driver.find_element(
        By.XPATH, f"//label[starts-with(normalize-space(.), '{label_start}')]"
                  "/following::input[1]")


def _type(driver, label_start, text):
    """Replace a text box's content and commit it (Enter)."""
    box = _text_input(driver, label_start)
    box.click()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.BACKSPACE)
    box.send_keys(text, Keys.ENTER)
    time.sleep(0.3)


def _screenshot(driver, name):
    folder = os.environ.get("CXSIM_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(folder) / f"{name}.png"))


def _open(driver, url):
    """A fresh session (each gets its own model), at day 0."""
    driver.get(url)
    _wait(driver, lambda d: _kpi(d, "tick") == 0, "the KPI panel at day 0",
          timeout=START_TIMEOUT)


# --------------------------------------------------------------------------------------------
def test_slider_reset_and_steps_change_the_plotted_kpis(server, browser):
    t0 = time.monotonic()
    d = browser
    _open(d, server)
    assert "head count 12," in _params_text(d)
    assert f"market {CUSTOMERS:,} customers" in _params_text(d)
    assert _kpi(d, "service_level") is None  # nothing simulated yet

    _step(d, 3)
    base_sl, base_active = _kpi(d, "service_level"), _kpi(d, "active")
    assert 0.0 <= base_sl <= 1.0 and base_active > 0

    # head count to its minimum with the keyboard (works for Vuetify 2 and 3 sliders)
    slider = _slider(d, "headcount")
    assert slider.get_attribute("aria-valuenow") == "12"
    d.execute_script("arguments[0].focus()", slider)  # the thumb has zero size: no click
    ActionChains(d).send_keys(Keys.HOME).perform()
    _wait(d, lambda d: _slider(d, "headcount").get_attribute("aria-valuenow") == "1",
          "the slider at 1")
    _wait(d, lambda d: "press Reset" in d.find_element(By.TAG_NAME, "body").text,
          "a note that the settings changed")
    # the model is rebuilt only on Reset
    time.sleep(0.3)
    _click(d, "Reset")
    _wait(d, lambda d: "head count 1," in _params_text(d) and _kpi(d, "tick") == 0,
          "a new model with head count 1")

    _step(d, 3)
    sl, active = _kpi(d, "service_level"), _kpi(d, "active")
    # one agent instead of twelve: the queue collapses
    assert sl < base_sl - 0.2, (base_sl, sl)
    assert active > 0
    _screenshot(d, "head_count_1")
    print(f"service level {base_sl:.3f} -> {sl:.3f}; active {base_active:.0f} -> {active:.0f}")
    print(f"browser part took {time.monotonic() - t0:.1f} s")


def test_every_invalid_setting_is_listed_and_nothing_can_run(server, browser):
    d = browser
    _open(d, server)
    _type(d, "More settings", "touchpoints.chat.quality=1.5; teams.nope.headcount=3")
    _type(d, "Seed", "abc")
    _click(d, "Reset")
    _wait(d, lambda d: len(d.find_elements(By.CSS_SELECTOR, '[data-testid="problem"]')) == 3,
          "three problems")
    problems = [e.text for e in d.find_elements(By.CSS_SELECTOR, '[data-testid="problem"]')]
    assert any("Seed: must be a whole number of at least 0, got 'abc'" in p for p in problems)
    assert any("teams has no 'nope'" in p for p in problems)
    assert any("touchpoints.chat.quality must be in [0, 1], got 1.5" in p for p in problems)
    title = d.find_element(By.CSS_SELECTOR, '[data-testid="problems-title"]').text
    assert "3 settings are invalid" in title
    # no model: Step and Play are disabled at once, before anyone presses them
    assert not _button(d, "Step").is_enabled()
    assert not _button(d, "▶ Play").is_enabled()
    assert _button(d, "Reset").is_enabled()
    _screenshot(d, "invalid_settings")

    # fix them: back to a valid model that steps
    _type(d, "More settings", "")
    _type(d, "Seed", "0")
    _click(d, "Reset")
    _wait(d, lambda d: _kpi(d, "tick") == 0 and _button(d, "Step").is_enabled(),
          "a valid model again, Step enabled")
    _step(d, 1)


def test_sliders_show_their_values(server, browser):
    d = browser
    _open(d, server)
    for key, shown in (("headcount", "12"), ("quality", "0.925"), ("reliability", "0.950"),
                       ("customers", f"{CUSTOMERS:,}")):
        assert _shown_value(d, key) == shown
        assert _slider(d, key).is_displayed()
    slider = _slider(d, "quality")
    d.execute_script("arguments[0].focus()", slider)
    ActionChains(d).send_keys(Keys.ARROW_LEFT).perform()  # one step of 0.005 down
    _wait(d, lambda d: _shown_value(d, "quality") == "0.920", "the shown value to follow")
    assert float(_slider(d, "quality").get_attribute("aria-valuenow")) == pytest.approx(0.92)


def test_only_cxsims_controls_are_on_the_page(server, browser):
    d = browser
    _open(d, server)
    text = d.find_element(By.TAG_NAME, "body").text
    for mesa_control in ("Play Interval", "Render Interval", "Use Threads", "PAGE 0",
                         "Page 0", "Step:", "Model Parameters"):
        assert mesa_control not in text
    buttons = {b.text.strip() for b in d.find_elements(By.TAG_NAME, "button")
               if b.is_displayed() and b.text.strip()}
    assert {"RESET", "▶ PLAY", "STEP"} <= {b.upper() for b in buttons}, buttons
    # every input on the page is one of cxsim's settings (and the daily-survey switch)
    assert len(d.find_elements(By.CSS_SELECTOR, '[role="slider"]')) == 4
    assert len(d.find_elements(By.CSS_SELECTOR, 'input[type="checkbox"]')) == 1
    _screenshot(d, "start")


def test_play_runs_and_pauses_in_a_fresh_session(server, browser):
    d = browser
    _open(d, server)  # a new session gets its own model (Page builds one per session)
    assert "head count 12," in _params_text(d)
    _click(d, "▶ Play")
    _wait(d, lambda d: (_kpi(d, "tick") or 0) >= 5, "playing to day 5")
    assert not _button(d, "Step").is_enabled()  # no Step while playing
    _click(d, "❚❚ Pause")
    _wait(d, lambda d: _button(d, "Step").is_enabled(), "paused (Step enabled)")
    time.sleep(1.0)  # a step already under way when pausing still completes
    stopped = _kpi(d, "tick")
    time.sleep(1.5)
    assert _kpi(d, "tick") == stopped
    assert _kpi(d, "nps") is not None
    _screenshot(d, "played")
    # Reset while playing stops and starts again from day 0
    _click(d, "▶ Play")
    _wait(d, lambda d: (_kpi(d, "tick") or 0) > stopped, "playing on")
    _click(d, "Reset")
    _wait(d, lambda d: _kpi(d, "tick") == 0 and _button(d, "▶ Play").is_enabled(),
          "a new model at day 0, not playing")
    time.sleep(1.0)
    assert _kpi(d, "tick") == 0
