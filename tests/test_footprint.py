"""Memory a run needs: predicted from the scenario, checked against measured peaks, and a run
that would not fit refused before anything is allocated."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time

import pytest
from conftest import call

import cxsim
from cxsim import footprint
from cxsim.runner import resize
from cxsim.scenario import ScenarioError

_PEAK = """
import json, sys
import cxsim
from cxsim import footprint
from cxsim.runner import resize
n, days, engine = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
sc = resize(cxsim.default_scenario(), customers=n, days=days)
m = cxsim.CXModel(sc, rng=1, engine=engine).run()
tables = (m.metrics, m.touchpoint_metrics, m.segment_metrics, m.queue_metrics,
          m.partner_metrics, m.flow_metrics)
# VmHWM, this program's own peak (ru_maxrss would keep a forking parent's size across exec)
with open("/proc/self/status") as fh:
    peak = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmHWM:"))
print(json.dumps({"peak": peak, "estimate": footprint.estimate_bytes(sc, engine)}))
"""


def measured(n: int, days: float, engine: str = "numba") -> dict:
    proc = subprocess.run([sys.executable, "-c", _PEAK, str(n), str(days), engine],
                          capture_output=True, text=True, timeout=600, check=True)
    return json.loads(proc.stdout)


def assert_covers(r: dict) -> None:
    # the estimate covers the peak and is not wildly above it (base costs are rounded up)
    assert r["peak"] <= r["estimate"] <= 2.5 * r["peak"] + 200 * 2**20, r


@pytest.mark.parametrize("n, days", [(2_000, 10), (200_000, 60)])
def test_estimate_covers_the_measured_peak(n, days):
    assert_covers(measured(n, days))


@pytest.mark.slow
@pytest.mark.parametrize("n, days, engine", [(1_000_000, 20, "numba"), (20_000, 3000, "numba"),
                                             (20_000, 20, "mesa")])
def test_estimate_covers_the_measured_peak_at_scale(n, days, engine):
    assert_covers(measured(n, days, engine))


def test_estimate_grows_with_what_costs_memory():
    sc = resize(cxsim.default_scenario(), customers=10_000, days=100)
    base = footprint.estimate_bytes(sc)
    assert footprint.estimate_bytes(resize(sc, customers=1_000_000)) > base
    assert footprint.estimate_bytes(resize(sc, days=10_000)) > base
    assert footprint.estimate_bytes(sc, engine="mesa") > base


def test_check_refuses_in_one_line_naming_the_sizes():
    sc = resize(cxsim.default_scenario(), customers=10_000, days=100)
    assert footprint.check(sc, available=2**40) == footprint.estimate_bytes(sc)
    with pytest.raises(ScenarioError) as info:
        footprint.check(sc, available=2**20)
    (line,) = info.value.problems
    assert "needs about" in line and "10,000 agents" in line and "100 ticks" in line


def test_a_run_that_cannot_fit_is_refused_before_allocating():
    """50 million agents with 500 contacts each: refused at once, not after gigabytes."""
    sc = cxsim.default_scenario()
    sc = sc.with_changes(market=dataclasses.replace(sc.market, size=50_000_000,
                                                    mean_degree=500.0),
                         simulation=dataclasses.replace(sc.simulation, ticks=100_000))
    t0 = time.perf_counter()
    with pytest.raises(ScenarioError, match="needs about"):
        cxsim.CXModel(sc, rng=1)
    assert time.perf_counter() - t0 < 10.0


def test_cli_refuses_with_exit_2(tmp_path):
    code, out, err = call(["run", "--customers", "50000000", "--days", "36000",
                           "--set", "market.mean_degree=500", "--out", tmp_path / "r"])
    assert code == 2
    assert "needs about" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()
