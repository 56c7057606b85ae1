"""The workshop app's model and settings (:mod:`cxsim.viz`), without a browser.

The page itself is tested end to end in ``test_viz_browser.py``.
"""

from __future__ import annotations

import importlib
import inspect

import pytest
from conftest import call

import cxsim
from cxsim.params import get_value
from cxsim.scenario import scenario_dir

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
    ({"rng": "abc"}, "seed must be a whole number"),
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
    assert code == 0 and "--port" in out and "SolaraViz" in out


@pytest.mark.parametrize("argv, words", [
    (["--port", "99999"], "--port must be in 0..65535"),
    (["--port", "http"], "--port must be a whole number"),
    (["nowhere.toml"], "nowhere.toml: no such file"),
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
