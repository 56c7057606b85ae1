"""``cxsim show``: a scenario's values by the paths --set and --param take."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import call, subprocess_env

from cxsim.params import check_param, parse_param, parse_spec
from cxsim.runner import build_scenario
from cxsim.scenario import load_scenario, shipped_scenarios
from cxsim.show import parameters


def show(*argv):
    code, out, err = call(["show", *argv])
    assert (code, err) == (0, ""), err
    return out


def printed_paths(out: str) -> list[str]:
    return [line.split()[0] for line in out.splitlines() if line.startswith("    ")
            and not line.lstrip().startswith("intervention ")]


def test_show_groups_by_section():
    out = show("retail")
    assert out.startswith("retail: Omnichannel retailer")
    for heading in ("[scenario]", "[market]", "[segments]", "[touchpoints]", "[teams]",
                    "[strategies]"):
        assert heading in out.splitlines(), heading
    line = next(x for x in out.splitlines() if "touchpoints.chat.quality " in x)
    assert "number in [0, 1]" in line and "base quality of the experience" in line
    assert "intervention 0: " in out


def test_show_filter_by_prefix_and_section():
    out = show("retail", "segments.loyal")
    paths = printed_paths(out)
    assert paths and all(p.startswith("segments.loyal.") for p in paths)
    assert "segments.loyal.base_churn" in paths
    assert set(printed_paths(show("telco", "--section", "teams"))) == {
        r.path for r in parameters(load_scenario("telco")) if r.section == "teams"}
    # a path alone: the default scenario's values under it
    assert printed_paths(show("teams.contact_centre.headcount")) == [
        "teams.contact_centre.headcount"]


@pytest.mark.parametrize("argv, words", [
    (["retail", "segments.nosuch"], "no value under 'segments.nosuch'"),
    (["retail", "--section", "nosuch"], "--section: no section 'nosuch'"),
    (["retaill"], "retaill: no such file or shipped scenario"),
])
def test_show_bad_input(argv, words):
    code, out, err = call(["show", *argv])
    assert code == 2 and out == "" and words in err and len(err.splitlines()) == 1


def test_show_json():
    data = json.loads(show("bank", "--json"))
    sc = load_scenario("bank")
    assert data["scenario"] == sc.name
    assert set(data["strategies"]) == set(sc.strategies)
    row = next(r for r in data["parameters"] if r["path"] == "market.rewiring")
    assert row["lo"] == 0 and row["hi"] == 1 and row["type"] == "number"


@pytest.mark.parametrize("name", shipped_scenarios())
def test_every_listed_path_is_one_set_takes(name):
    """Each value shown, set to itself by path, leaves the scenario as it is."""
    sc = load_scenario(name)
    data = sc.to_dict()
    rows = parameters(sc)
    assert len({r.path for r in rows}) == len(rows)
    point = {}
    for r in rows:
        # numbers and true/false as typed; a text (it may hold ',' or ':') as one value
        text = "true" if r.value is True else "false" if r.value is False else r.value
        given = (parse_spec(r.path, [r.value]) if isinstance(r.value, str)
                 else parse_param(f"{r.path}={text}"))
        param = check_param(given, data, list(sc.strategies))
        point[param.path] = param.values[0]
    assert build_scenario(data, point) == sc


def test_printed_paths_set_on_a_run(tmp_path):
    out = show("telco")
    paths = printed_paths(out)
    wanted = ["teams.call_centre.headcount", "touchpoints.app.quality",
              "segments.postpaid.base_churn"]
    assert all(p in paths for p in wanted)
    code, _, err = call(["run", "telco", "--customers", "2000", "--days", "3", "--quiet",
                         "--set", f"{wanted[0]}=25", "--set", f"{wanted[1]}=0.5",
                         "--set", f"{wanted[2]}=0.02", "--out", tmp_path / "r"])
    assert code == 0, err
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["overrides"] == {wanted[0]: 25, wanted[1]: 0.5, wanted[2]: 0.02}


def test_show_imports_neither_numba_nor_the_model():
    code = ("import sys; from cxsim.cli import main; rc = main(['show', 'telco']); "
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('numba', 'mesa') "
            "or m in ('cxsim.model', 'cxsim.runner')); "
            "print('HEAVY', heavy, file=sys.stderr); sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=subprocess_env())
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stderr
    assert "[strategies]" in proc.stdout
