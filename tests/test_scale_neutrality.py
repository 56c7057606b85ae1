"""Scale neutrality: per-customer results do not depend on ``--customers``.

Resizing a market scales the business with it (:func:`cxsim.runner.resize`): team capacity
is ``headcount x fte`` and is never rounded.  What may remain is genuine: a smaller contact
centre pools less (Erlang economies of scale).  The test separates the two with a third
run, the small market as a *sample* of the large one (``sample=True``), whose queues are
solved at the large market's volume and staffing:

* small sample vs large market: the same per-customer results within replication noise
  (nothing is lost to rounding or to the market size itself);
* small market vs small sample, paired seeds: the pooling effect (Erlang A at the two
  sizes: a smaller centre abandons more).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import cxsim
from cxsim.runner import resize
from cxsim.scenario import scenario_dir

#: per-customer figures compared across market sizes
FIGURES = ("churn_rate", "nps", "csat", "fcr", "contacts", "profit")


def per_customer(m: cxsim.CXModel) -> dict[str, float]:
    df = m.metrics
    active = df["active"].sum()
    tp = m.touchpoint_metrics
    return {"churn_rate": df["churned"].sum() / active, "nps": df["nps"].mean(),
            "csat": df["csat"].mean(), "fcr": df["fcr"].mean(),
            "contacts": tp["volume"].sum() / active, "profit": df["profit"].sum() / active}


def runs(sc, customers, seeds, sample=False):
    small = resize(sc, customers=customers, sample=sample)
    return [cxsim.CXModel(small, rng=s).run() for s in seeds]


def welch_ok(a, b, k=4.0):
    a, b = np.asarray(a, float), np.asarray(b, float)
    se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    return abs(a.mean() - b.mean()) <= k * se + 1e-9 * max(1.0, abs(a.mean()))


def check(sc, small: int, large: int, seeds) -> None:
    sc = resize(sc, customers=large)
    big = [per_customer(m) for m in runs(sc, large, seeds)]
    sampled = runs(sc, small, seeds, sample=True)  # a sample of the large market
    part = runs(sc, small, seeds)
    for name in FIGURES:
        a = [r[name] for r in big]
        b = [per_customer(m)[name] for m in sampled]
        assert welch_ok(a, b), (name, np.mean(a), np.mean(b))
    # what differs between the small market and its sample (paired seeds) is the queue's
    # size alone: a smaller contact centre abandons more, never less (Erlang pooling)
    for m_part, m_sample in zip(part, sampled, strict=True):
        a_part = m_part.queue_metrics["p_abandon"].mean()
        a_sample = m_sample.queue_metrics["p_abandon"].mean()
        assert a_part >= a_sample - 1e-12


def test_the_default_scenario_is_scale_neutral():
    sc = resize(cxsim.default_scenario(), days=90)
    check(sc, 5_000, 25_000, range(4))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(p.stem for p in scenario_dir().glob("*.toml")))
def test_every_shipped_scenario_is_scale_neutral(name):
    sc = resize(cxsim.load_scenario(scenario_dir() / f"{name}.toml"), days=365)
    check(sc, 20_000, 100_000, range(4))
