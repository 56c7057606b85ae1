"""The workshop app's model and settings (:mod:`cxsim.viz`), without a browser.

The page itself is tested end to end in ``test_viz_browser.py``.
"""

from __future__ import annotations

import importlib
import inspect

import numpy as np
import pandas as pd
import pytest
from conftest import call
from hypothesis import given
from hypothesis import strategies as st

import cxsim
from cxsim.params import get_value
from cxsim.scenario import scenario_dir
from cxsim.vocabulary import BY_NAME

pytest.importorskip("solara", reason="the viz extra is not installed (pip install 'cxsim[viz]')")
viz = importlib.import_module("cxsim.viz")


def test_levers_of_the_default_scenario():
    assert viz.LEVERS == {
        "headcount": ("teams.contact_centre.headcount", "contact centre head count"),
        "quality": ("touchpoints.phone.quality", "phone quality"),
        "reliability": ("partners.courier.reliability", "courier reliability"),
    }


@pytest.mark.parametrize("name", sorted(p.name for p in scenario_dir().glob("*.toml")))
def test_every_shipped_scenario_has_working_levers(name):
    sc = cxsim.load_scenario(scenario_dir() / name)
    levers = viz.scenario_levers(sc)
    assert set(levers) == {"headcount", "quality", "reliability"}
    data = sc.to_dict()
    for path, label in levers.values():
        assert get_value(data, path) is not None and label


def test_model_params_match_the_model():
    params = inspect.signature(viz.WorkshopModel).parameters
    assert set(viz.model_params) == set(params)
    assert viz.model_params["headcount"].value == 12
    assert viz.model_params["strategy"]["values"][0] == "baseline"
    assert set(viz.model_params["strategy"]["values"][1:]) == set(viz.BASE.strategies)


def test_every_invalid_setting_is_listed_at_once():
    """Seed, strategy, each bad PATH=VALUE item and each out-of-range value: all at once."""
    m = viz.WorkshopModel(**{**viz.initial_params(), "rng": "abc", "strategy": "zz",
                             "extra": "touchpoints.chat.quality=1.5; teams.nope.headcount=3; "
                                      "partners.courier.reliability=2; simulation.ticks=x"})
    expected = ["Seed: must be a whole number of at least 0, got 'abc'",
                "Strategy: unknown strategy 'zz'",
                "More settings: unknown parameter path 'teams.nope.headcount'",
                "More settings: parameter simulation.ticks=x: simulation.ticks is a whole "
                "number, got 'x'",
                "touchpoints.chat.quality must be in [0, 1], got 1.5",
                "partners.courier.reliability must be in [0, 1], got 2"]
    assert len(m.problems) == len(expected), m.problems
    for words in expected:
        assert sum(words in p for p in m.problems) == 1, (words, m.problems)
    assert not m.running


def test_a_valid_item_next_to_an_invalid_one_is_still_checked():
    m = viz.WorkshopModel(**{**viz.initial_params(),
                             "extra": "teams.nope.headcount=3; segments.loyal.base_churn=7"})
    assert len(m.problems) == 2
    assert any("segments.loyal.base_churn" in p for p in m.problems)


def test_the_model_steps_and_reports():
    m = viz.WorkshopModel(**viz.initial_params())
    assert not m.problems and m.running
    for _ in range(3):
        m.step()
    assert m.time_tick == 3 and len(m.metrics) == 3
    assert m.params["headcount"] == 12 and m.params["customers"] == 100_000


def test_sliders_and_settings_reach_the_scenario():
    m = viz.WorkshopModel(headcount=20, quality=0.7, reliability=0.8, customers=20_000,
                          strategy="fix_courier", extra="segments.loyal.base_churn=0.02",
                          rng="7")
    sc = m.spec
    assert sc.market.size == 20_000
    # the slider speaks the scenario's units: 20 people, each a fifth of a full-time
    # employee at a fifth of the market
    assert len(m.teams["contact_centre"]) == 20
    assert sc.teams["contact_centre"].fte == pytest.approx(0.2)
    assert sc.touchpoints["phone"].quality == 0.7
    assert sc.partners["courier"].reliability == 0.8
    assert sc.segments["loyal"].base_churn == 0.02
    assert m.strategy.interventions  # fix_courier applied
    assert m.params["rng"] == 7


@pytest.mark.parametrize("kwargs, words", [
    ({"extra": "touchpoints.chat.quality=1.5"},
     "touchpoints.chat.quality must be in [0, 1], got 1.5"),
    ({"extra": "teams.nope.headcount=3"}, "teams has no 'nope'"),
    ({"extra": "touchpoints.chat.quality=0.5,0.6"}, "give one value"),
    ({"rng": "abc"}, "Seed: must be a whole number"),
    ({"strategy": "teleport"}, "unknown strategy 'teleport'"),
])
def test_an_invalid_setting_is_reported_not_raised(kwargs, words):
    m = viz.WorkshopModel(**{**viz.initial_params(), **kwargs})
    assert any(words in p for p in m.problems), m.problems
    assert not m.running
    m.step()  # a placeholder does nothing
    assert m.time_tick == 0 and len(m.metrics) == 0


@pytest.mark.parametrize("kwargs, words", [
    ({"customers": 10_000_000}, "market size 10,000,000 is more than this app allows"),
    ({"extra": "simulation.ticks=20000"}, "ticks 20,000 is more than this app allows"),
    ({"extra": "teams.contact_centre.headcount=90000"}, "employees 90,000 is more than"),
])
def test_one_participant_cannot_exhaust_the_machine(kwargs, words):
    """Settings typed into the page obey per-session limits, checked before building."""
    m = viz.WorkshopModel(**{**viz.initial_params(), **kwargs})
    assert any(words in p for p in m.problems), m.problems
    assert not m.running and m.time_tick == 0


def test_session_limits_can_be_raised(monkeypatch):
    monkeypatch.setenv("CXSIM_VIZ_MAX_CUSTOMERS", "20000000")
    assert viz.session_limits()["CXSIM_VIZ_MAX_CUSTOMERS"] == 20_000_000
    monkeypatch.setenv("CXSIM_VIZ_MAX_CUSTOMERS", "lots")
    assert viz.session_limits()["CXSIM_VIZ_MAX_CUSTOMERS"] == 500_000


def test_the_scenario_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(viz.SCENARIO_ENV, str(scenario_dir() / "telco.toml"))
    try:
        module = importlib.reload(viz)
        assert module.BASE.name == cxsim.load_scenario(scenario_dir() / "telco.toml").name
        m = module.WorkshopModel(**module.initial_params())
        m.step()
        assert not m.problems and m.time_tick == 1
    finally:
        monkeypatch.delenv(viz.SCENARIO_ENV)
        importlib.reload(viz)


def test_an_invalid_scenario_file_is_shown_on_the_page(monkeypatch, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text((scenario_dir() / "retail.toml").read_text().replace(
        "reliability = 0.95", "reliability = 1.95"))
    monkeypatch.setenv(viz.SCENARIO_ENV, str(bad))
    try:
        module = importlib.reload(viz)
        m = module.WorkshopModel(**module.initial_params())
        assert any("partners.courier.reliability must be in [0, 1], got 1.95" in p
                   for p in m.problems)
    finally:
        monkeypatch.delenv(viz.SCENARIO_ENV)
        importlib.reload(viz)


# ---- cxsim viz: bad input before any server starts --------------------------------------------


def test_viz_help():
    code, out, _ = call(["viz", "--help"])
    assert code == 0 and "--port" in out and "--customers" in out
    assert "cxsim.viz_assets" in out  # how the front end gets onto the machine


@pytest.mark.parametrize("argv, words", [
    (["--port", "99999"], "--port must be in 0..65535"),
    (["--port", "http"], "--port must be a whole number"),
    (["nowhere.toml"], "nowhere.toml: no such file"),
    (["--customers", "10"], "--customers must be at least 1000"),
    (["--customers", "many"], "--customers must be a whole number"),
])
def test_viz_bad_input(argv, words):
    code, _, err = call(["viz", *argv])
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1


def test_viz_refuses_an_invalid_scenario_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text((scenario_dir() / "retail.toml").read_text().replace(
        "reliability = 0.95", "reliability = 1.95"))
    code, _, err = call(["viz", str(bad)])
    assert code == 2 and "partners.courier.reliability must be in [0, 1], got 1.95" in err


def test_viz_refuses_a_port_in_use():
    import socket

    with socket.socket() as s:
        s.bind(("localhost", 0))
        s.listen()
        port = s.getsockname()[1]
        code, _, err = call(["viz", "--port", str(port)])
    assert code == 2 and f"cannot serve on localhost:{port}" in err


# ---- what the page shows ------------------------------------------------------------------


def _small_model(**kwargs):
    return viz.WorkshopModel(**{**viz.initial_params(), "customers": 5000, **kwargs})


def test_window_ticks():
    assert viz.window_ticks(1.0) == 7
    assert viz.window_ticks(7.0) == 1
    assert viz.window_ticks(30.0) == 1
    assert viz.window_ticks(0.5) == 14


def test_smoothed_nps_pools_the_answers_of_the_window():
    df = pd.DataFrame({"nps_promoters": [10, 0, 5], "nps_detractors": [0, 10, 5],
                       "nps_respondents": [20, 10, 0]})
    # day 1: 10 of 20 promoters; days 1-2: (10 - 10) / 30; days 2-3: (5 - 15) / 10
    assert viz.smoothed_nps(df, 2).tolist() == pytest.approx([50.0, 0.0, -100.0])
    one = viz.smoothed_nps(df, 1)
    assert one.iloc[0] == 50.0 and one.iloc[1] == -100.0 and np.isnan(one.iloc[2])
    assert viz.smoothed_nps(df.iloc[:0], 7).empty


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50), st.integers(0, 50)),
                min_size=1, max_size=30), st.integers(1, 10))
def test_smoothed_nps_is_an_nps(days, window):
    """Pooled answers give a score in [-100, 100]; one tick's window is that tick's score."""
    df = pd.DataFrame([(p, d, p + d + o) for p, d, o in days],
                      columns=["nps_promoters", "nps_detractors", "nps_respondents"])
    s = viz.smoothed_nps(df, window)
    finite = s[np.isfinite(s)]
    assert ((finite >= -100 - 1e-9) & (finite <= 100 + 1e-9)).all()
    daily = 100.0 * (df.nps_promoters - df.nps_detractors) / df.nps_respondents.where(
        df.nps_respondents > 0)
    assert np.allclose(viz.smoothed_nps(df, 1), daily, equal_nan=True)


def test_plots_and_text_speak_the_same_units():
    m = _small_model()
    for _ in range(9):
        m.step()
    series = {col: (label, lines) for col, label, lines in viz.plot_series(m)}
    label, [(_, x, y)] = series["service_level"]
    assert label.endswith("(%)")
    assert x.tolist() == list(range(1, 10))
    last = float(m.metrics["service_level"].iloc[-1])
    assert y[-1] == pytest.approx(100 * last)  # the plot in %
    assert BY_NAME["service_level"].format(last) == f"{100 * last:.1f}%"  # the text in %
    # NPS: the plot and the panel show the same pooled value; the day's survey is optional
    label, lines = series["nps"]
    assert len(lines) == 1 and "7 days" in lines[0][0]
    assert viz._kpi_values(m)["nps"] == pytest.approx(lines[0][2][-1])
    assert lines[0][2][-1] == pytest.approx(viz.smoothed_nps(m.metrics, 7).iloc[-1])
    _, raw_lines = {c: (lb, ln) for c, lb, ln in viz.plot_series(m, raw_nps=True)}["nps"]
    assert [name for name, _x, _y in raw_lines] == ["pooled over 7 days", "each day's survey"]
    assert raw_lines[1][2].tolist() == pytest.approx(m.metrics["nps"].tolist())
    # the pooled series moves less from day to day than the daily survey
    assert np.nanstd(np.diff(lines[0][2])) < np.nanstd(np.diff(raw_lines[1][2]))


def test_an_invalid_model_plots_nothing():
    m = _small_model(rng="x")
    for _col, _label, lines in viz.plot_series(m, raw_nps=True):
        assert all(len(x) == 0 for _, x, _y in lines)
    assert viz._kpi_values(m) == dict.fromkeys(viz.KPIS)


def test_staff_in_words_after_leavers():
    m = _small_model(headcount=40, extra="teams.contact_centre.annual_attrition=1; "
                                         "teams.contact_centre.hiring_lag_days=90")
    for _ in range(30):
        m.step()
    now = len(m.teams["contact_centre"])
    gone = 40 - now
    assert gone > 0  # a year's attrition of 100 % over a month
    text = viz.staff_text(m)
    assert text.startswith(f"Contact centre: 40 people at the start; {now} on the roster "
                           f"today, {gone} left and not yet replaced.")
    assert "scenario units" not in text
    assert "each person stands for 0.05 of a full-time employee" in text


def test_per_day_and_settings_text():
    assert viz.per_day("Churned customers per tick", 1.0) == "Churned customers per day"
    assert viz.per_day("Churned customers per tick", 7.0) == "Churned customers per tick"
    text = viz.settings_text({**_small_model().params, "extra": "a.b=1"})
    assert text.startswith("contact centre head count 12, phone quality 0.925")
    assert "market 5,000 customers" in text and text.endswith("more settings: a.b=1")


def test_slider_values_as_shown():
    assert viz.slider_text("quality", 0.925) == "0.925"
    assert viz.slider_text("customers", 20000) == "20,000"


def test_the_start_market_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(viz.CUSTOMERS_ENV, "20000")
    try:
        module = importlib.reload(viz)
        assert module.initial_params()["customers"] == 20_000
        assert module.model_params["customers"].min <= 20_000
    finally:
        monkeypatch.delenv(viz.CUSTOMERS_ENV)
        importlib.reload(viz)
    assert viz.initial_params()["customers"] == 100_000



# ---- the app's front end (Solara's CDN cache) -------------------------------------------------

viz_assets = importlib.import_module("cxsim.viz_assets")

FAKE_NPM = """#!/bin/sh
# a stand-in for npm: "npm pack ... SPEC" writes SPEC's tarball (a package/ folder)
for spec; do :; done
if [ -n "$FAKE_NPM_FAIL" ]; then
  echo "npm error code ENOTFOUND" >&2
  echo "npm error FetchError: request failed, reason: getaddrinfo ENOTFOUND registry" >&2
  exit 1
fi
name=$(echo "$spec" | tr '/@' '__')
mkdir -p package/dist && echo "$spec" > package/dist/file.js
tar czf "$name.tgz" package && rm -r package
echo "$name.tgz"
"""


@pytest.fixture
def fake_npm(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text(FAKE_NPM)
    npm.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return npm


def test_the_app_needs_one_vue_app_requirejs_and_font_awesome():
    specs = viz_assets.needed_packages()
    names = [s.rsplit("@", 1)[0] for s in specs]
    assert sorted(names) == ["@widgetti/solara-vuetify-app", "font-awesome", "requirejs"]
    assert len(viz_assets.needed_packages(everything=True)) > len(specs)


def test_ensure_fetches_what_is_missing_once(fake_npm, tmp_path):
    cache = tmp_path / "cdn"
    lines = []
    fetched = viz_assets.ensure(cache, progress=lines.append)
    assert fetched == viz_assets.needed_packages()
    assert "fetching the app's front end once (3 npm packages" in lines[0]
    assert [ln.strip() for ln in lines[1:]] == [f"fetched {s}" for s in fetched]
    for spec in fetched:
        assert (cache / spec / "dist" / "file.js").read_text().strip() == spec
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no leftovers
    assert viz_assets.ensure(cache, progress=lines.append) == []  # present: nothing to do


def test_a_failed_fetch_leaves_no_half_package(fake_npm, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_NPM_FAIL", "1")
    cache = tmp_path / "cdn"
    with pytest.raises(viz_assets.AssetsError, match="failed: ENOTFOUND: getaddrinfo"):
        viz_assets.ensure(cache, progress=lambda _: None)
    assert viz_assets.missing_packages(cache) == viz_assets.needed_packages()
    assert not any(p for p in cache.rglob("*") if p.is_file())


def test_viz_assets_main(fake_npm, tmp_path, capsys):
    assert viz_assets.main([str(tmp_path / "c")]) == 0
    assert "the app's front end is in" in capsys.readouterr().out
    assert viz_assets.missing_packages(tmp_path / "c") == []


def test_viz_without_front_end_or_network_says_what_to_run(tmp_path, monkeypatch):
    """Never a blank page: no files, no npm, no CDN -> one line naming the fix, exit 2."""
    from cxsim import cli

    monkeypatch.setenv("PATH", str(tmp_path))  # no npm
    monkeypatch.setattr(viz_assets, "cache_dir", lambda: tmp_path / "empty")
    monkeypatch.setattr(cli, "_cdn_reachable", lambda timeout=5.0: False)
    code, out, err = call(["viz", "--port", "0"])
    assert code == 2 and "serving" not in out
    last = err.strip().splitlines()[-1]
    assert last.startswith("cxsim viz: the app's front end is missing and could not be "
                           "fetched (npm not found")
    assert last.endswith("run: python -m cxsim.viz_assets")


def test_experience_by_touchpoint():
    m = _small_model()
    assert np.isnan(viz.experience_by_touchpoint(m)).all()  # no visits yet
    for _ in range(3):
        m.step()
    exp = viz.experience_by_touchpoint(m)
    assert len(exp) == len(m.touchpoint_names)
    seen = exp[np.isfinite(exp)]
    assert len(seen) > 0 and ((seen >= 0) & (seen <= 1)).all()


def test_a_server_that_cannot_hand_out_its_front_end_is_not_called_serving():
    """Ready, but the page's first script is missing: stop with what to run, not serve."""
    import http.server
    import threading

    from cxsim import cli

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server name
            self.send_response(200 if self.path == "/readyz" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    class Running:
        returncode = None

        def poll(self):
            return None

    try:
        with pytest.raises(cli.UsageError, match="page would stay blank.*cxsim.viz_assets"):
            cli._wait_ready(f"http://127.0.0.1:{server.server_address[1]}/", Running())
    finally:
        server.shutdown()
        server.server_close()
