"""Switching cost acts in the churn hazard, relative to a reference (docs/architecture.md).

A segment's ``base_churn`` is quoted at ``behaviour.switching_cost_reference``; its own
``switching_cost`` shifts the churn log-odds by ``switching_cost_effect`` per unit.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import minimal_scenario

import cxsim
from cxsim import tables
from cxsim.kernels import logit

SCENARIOS = sorted((Path(__file__).parent.parent / "scenarios").glob("*.toml"))


def with_switching_cost(sc, value):
    segs = {n: dataclasses.replace(s, switching_cost=value) for n, s in sc.segments.items()}
    return sc.with_changes(segments=segs)


def test_at_the_reference_base_churn_is_as_stated():
    sc = minimal_scenario()
    ref = sc.behaviour.switching_cost_reference
    sc = with_switching_cost(sc, ref)
    got = tables.base_churn_month(sc)
    assert list(got) == [s.base_churn for s in sc.segments.values()]


@pytest.mark.parametrize("cost", [0.0, 0.2, 0.55, 1.0])
def test_switching_cost_shifts_the_log_odds_by_its_effect(cost):
    sc = with_switching_cost(minimal_scenario(), cost)
    b = sc.behaviour
    got = tables.base_churn_month(sc)
    for h, s in zip(got, sc.segments.values(), strict=True):
        want = logit(s.base_churn) + b.switching_cost_effect * (cost - b.switching_cost_reference)
        assert logit(h) == pytest.approx(want, abs=1e-12)


def test_higher_switching_cost_fewer_churn():
    """Same seed, everything else equal: a costlier exit loses fewer customers."""
    sc = cxsim.runner.resize(cxsim.default_scenario(), customers=6000, days=120)
    low = cxsim.CXModel(with_switching_cost(sc, 0.1), rng=5).run()
    high = cxsim.CXModel(with_switching_cost(sc, 0.9), rng=5).run()
    c_low, c_high = low.metrics["churned"].sum(), high.metrics["churned"].sum()
    # log-odds -1.6 apart: about 0.2x the hazard; Poisson noise on ~hundreds is far smaller
    assert c_high < 0.5 * c_low


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_shipped_scenarios_keep_their_calibrated_churn(path):
    """Each shipped base_churn is quoted at the reference; its comment gives the calibrated
    monthly churn at the segment's own switching cost, which the model reproduces."""
    sc = cxsim.load_scenario(path)
    text = path.read_text()
    calibrated = [float(m) for m in re.findall(r"^base_churn = [0-9.]+\s+# ([0-9.]+) at "
                                               r"switching cost", text, re.M)]
    assert len(calibrated) == len(sc.segments)
    got = tables.base_churn_month(sc)
    np.testing.assert_allclose(got, calibrated, rtol=2e-4)

