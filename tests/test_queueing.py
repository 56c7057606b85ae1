"""Tests for :mod:`cxsim.queueing` (Erlang B, C and A).

References are recomputed here independently of the implementation: Erlang B/C by exact
rational factorial sums (small ``c``) or a log-gamma sum (large ``c``), Erlang A by solving
the truncated birth-death generator with a linear solver and the tagged-caller chain with a
matrix exponential, and by docking against the discrete-event simulator ``ciw``.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import expm

from cxsim.queueing import (
    ErlangAResult,
    ErlangCResult,
    average_speed_of_answer,
    erlang_a,
    erlang_b,
    erlang_c,
    erlang_c_stats,
    occupancy,
    service_level,
)

# --------------------------------------------------------------------------------------------
# Independent references
# --------------------------------------------------------------------------------------------


def _exact_terms(traffic: float, agents: int) -> list[Fraction]:
    a = Fraction(traffic)
    return [a**k / math.factorial(k) for k in range(agents + 1)]


def ref_erlang_b(traffic: float, agents: int) -> float:
    """``(A^c / c!) / sum_k A^k / k!`` in exact rational arithmetic."""
    terms = _exact_terms(traffic, agents)
    return float(terms[-1] / sum(terms))


def ref_erlang_c(traffic: float, agents: int) -> float:
    """Textbook Erlang C formula in exact rational arithmetic (requires ``A < c``)."""
    terms = _exact_terms(traffic, agents)
    a = Fraction(traffic)
    top = terms[-1] * agents / (agents - a)
    return float(top / (sum(terms[:-1]) + top))


def ref_erlang_b_log(traffic: float, agents: int) -> float:
    """Erlang B for large loads from ``log(A^k / k!)`` terms, via ``math.lgamma``."""
    logs = [k * math.log(traffic) - math.lgamma(k + 1) for k in range(agents + 1)]
    top = max(logs)
    log_sum = top + math.log(math.fsum(math.exp(x - top) for x in logs))
    return math.exp(logs[-1] - log_sum)


def ref_erlang_a(lam, aht, patience, agents, target, extra_states=400):
    """Erlang A via the truncated generator (linear solve) and a matrix exponential.

    Returns ``(p_wait, p_abandon, mean_wait, service_level)``.
    """
    mu, theta = 1.0 / aht, 1.0 / patience
    size = agents + extra_states + 1
    gen = np.zeros((size, size))
    for n in range(size):
        if n + 1 < size:
            gen[n, n + 1] = lam
        if n > 0:
            gen[n, n - 1] = min(n, agents) * mu + max(n - agents, 0) * theta
        gen[n, n] = -gen[n].sum()
    # pi Q = 0 with sum(pi) = 1: replace one balance equation by the normalisation.
    lhs = gen.T.copy()
    lhs[-1, :] = 1.0
    rhs = np.zeros(size)
    rhs[-1] = 1.0
    pi = np.linalg.solve(lhs, rhs)
    assert abs(pi[-1]) < 1e-15  # truncation below the linear solver's round-off
    queue = np.maximum(np.arange(size) - agents, 0)
    mean_queue = float(pi @ queue)
    p_wait = float(pi[agents:].sum())

    # Tagged caller: states 0..M = callers still ahead in queue, M+1 answered, M+2 abandoned.
    m_max = extra_states
    tag = np.zeros((m_max + 3, m_max + 3))
    answered, abandoned = m_max + 1, m_max + 2
    for k in range(m_max + 1):
        if k == 0:
            tag[k, answered] = agents * mu
        else:
            tag[k, k - 1] = agents * mu + k * theta
        tag[k, abandoned] = theta
        tag[k, k] = -tag[k].sum()
    p_answer_by_target = expm(tag * target)[: m_max + 1, answered]
    sl = float(pi[:agents].sum() + pi[agents:] @ p_answer_by_target)
    return p_wait, theta * mean_queue / lam, mean_queue / lam, sl


def within_printed(value: float, printed: str) -> bool:
    """True if ``value`` rounds to ``printed`` at the printed number of decimals."""
    decimals = len(printed.split(".")[1])
    return abs(value - float(printed)) <= 0.5 * 10.0**-decimals + 1e-15


# --------------------------------------------------------------------------------------------
# Erlang B / C: exact references and the validation table
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("traffic", [0.1, 0.5, 1.0, 2.5, 7.3, 10.0, 19.9, 42.0])
@pytest.mark.parametrize("agents", [1, 2, 5, 11, 14, 30, 60])
def test_erlang_b_matches_exact_factorial_sum(traffic, agents):
    assert erlang_b(traffic, agents) == pytest.approx(ref_erlang_b(traffic, agents), rel=1e-12)


@pytest.mark.parametrize(
    ("traffic", "agents"),
    [(0.5, 1), (1.0, 2), (2.5, 3), (7.3, 9), (10.0, 11), (10.0, 14), (19.9, 25), (42.0, 45)],
)
def test_erlang_c_matches_exact_formula(traffic, agents):
    assert erlang_c(traffic, agents) == pytest.approx(ref_erlang_c(traffic, agents), rel=1e-12)


@pytest.mark.parametrize(
    ("traffic", "agents"), [(1000.0, 1010), (2000.0, 2050), (5000.0, 4990), (5000.0, 5200)]
)
def test_erlang_b_large_traffic(traffic, agents):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        b = erlang_b(traffic, agents)
        c = erlang_c(traffic, agents)
    assert b == pytest.approx(ref_erlang_b_log(traffic, agents), rel=1e-9)
    assert 0.0 < b < 1.0
    assert 0.0 < c <= 1.0


# Validation doc: 100 calls per 30 min, AHT 180 s -> A = 10 Erlangs, target 20 s.
TABLE_TRAFFIC = 100 / (30 * 60) * 180
ERLANG_C_TABLE = [
    (11, "0.6821", "0.3896"),
    (12, "0.4494", "0.6402"),
    (13, "0.2853", "0.7956"),
    (14, "0.174132", "0.88835"),
    (15, "0.1020", "0.9415"),
    (16, "0.0573", "0.9706"),
]


@pytest.mark.parametrize(("agents", "p_wait", "sl"), ERLANG_C_TABLE)
def test_erlang_c_validation_table(agents, p_wait, sl):
    assert pytest.approx(10.0) == TABLE_TRAFFIC
    assert within_printed(erlang_c(TABLE_TRAFFIC, agents), p_wait)
    assert within_printed(service_level(TABLE_TRAFFIC, agents, 180.0, 20.0), sl)


def test_erlang_c_table_asa_and_occupancy_at_14_agents():
    assert within_printed(average_speed_of_answer(TABLE_TRAFFIC, 14, 180.0), "7.836")
    assert within_printed(occupancy(TABLE_TRAFFIC, 14), "0.714286")
    stats = erlang_c_stats(TABLE_TRAFFIC, 14, 180.0, 20.0)
    assert isinstance(stats, ErlangCResult)
    assert stats.p_wait == erlang_c(TABLE_TRAFFIC, 14)
    assert stats.service_level == service_level(TABLE_TRAFFIC, 14, 180.0, 20.0)
    assert stats.asa == average_speed_of_answer(TABLE_TRAFFIC, 14, 180.0)
    assert stats.occupancy == occupancy(TABLE_TRAFFIC, 14)
    assert stats.mean_wait_if_waiting == pytest.approx(180.0 / (14 - TABLE_TRAFFIC))
    assert stats.asa == pytest.approx(stats.p_wait * stats.mean_wait_if_waiting)


@pytest.mark.parametrize(("traffic", "agents"), [(10.0, 10), (10.0, 9), (12.5, 3), (5.0, 0)])
def test_unstable_erlang_c(traffic, agents):
    assert erlang_c(traffic, agents) == 1.0
    assert average_speed_of_answer(traffic, agents, 3.0) == math.inf
    assert service_level(traffic, agents, 3.0, 1.0) == 0.0
    assert occupancy(traffic, agents) == 1.0
    stats = erlang_c_stats(traffic, agents, 3.0, 1.0)
    assert (stats.p_wait, stats.service_level, stats.asa, stats.occupancy) == (
        1.0,
        0.0,
        math.inf,
        1.0,
    )
    assert stats.mean_wait_if_waiting == math.inf


def test_erlang_b_c_edge_cases():
    assert erlang_b(3.0, 0) == 1.0
    assert erlang_b(0.0, 0) == 1.0
    assert erlang_b(0.0, 4) == 0.0
    assert erlang_c(3.0, 0) == 1.0
    assert erlang_c(0.0, 4) == 0.0
    assert service_level(0.0, 4, 3.0, 0.0) == 1.0
    assert average_speed_of_answer(0.0, 4, 3.0) == 0.0
    assert occupancy(0.0, 0) == 0.0
    assert occupancy(0.0, 3) == 0.0
    assert occupancy(2.0, 0) == 1.0
    # target 0 -> SL = 1 - P(wait); infinite target -> everyone answered eventually
    assert service_level(10.0, 14, 3.0, 0.0) == pytest.approx(1.0 - erlang_c(10.0, 14))
    assert service_level(10.0, 14, 3.0, math.inf) == 1.0
    # numpy and integral-float agent counts are accepted
    assert erlang_c(10.0, np.int64(14)) == erlang_c(10.0, 14) == erlang_c(10.0, 14.0)


# --------------------------------------------------------------------------------------------
# Erlang A
# --------------------------------------------------------------------------------------------

LAM, AHT, PATIENCE, TARGET = 100 / 30, 3.0, 5.0, 1 / 3  # per minute; target 20 s


def test_erlang_a_validation_values():
    r = erlang_a(LAM, AHT, PATIENCE, 13, TARGET)
    assert isinstance(r, ErlangAResult)
    assert within_printed(r.p_wait, "0.2258")
    assert within_printed(r.p_abandon, "0.02496")
    assert within_printed(r.mean_wait, "0.1248")
    assert within_printed(r.service_level, "0.8582")
    assert within_printed(r.occupancy, "0.7500")
    assert r.mean_queue == pytest.approx(LAM * r.mean_wait)
    assert r.carried_load == pytest.approx(LAM * AHT * (1 - r.p_abandon))


@pytest.mark.parametrize(
    ("lam", "aht", "patience", "agents", "target"),
    [
        (LAM, AHT, PATIENCE, 13, TARGET),
        (LAM, AHT, PATIENCE, 8, TARGET),  # overloaded: only abandonment keeps it stable
        (LAM, AHT, 0.5, 11, 0.1),
        (LAM, AHT, 50.0, 10, 1.0),
        (2.0, 1.0, 3.0, 1, 0.5),
        (1.0, 1.0, 0.2, 0, 0.5),  # no agents: pure abandonment
        (12.0, 0.5, 2.0, 7, 0.0),
    ],
)
def test_erlang_a_matches_generator_and_expm(lam, aht, patience, agents, target):
    r = erlang_a(lam, aht, patience, agents, target)
    p_wait, p_abandon, mean_wait, sl = ref_erlang_a(lam, aht, patience, agents, target)
    assert r.p_wait == pytest.approx(p_wait, rel=1e-9, abs=1e-13)
    assert r.p_abandon == pytest.approx(p_abandon, rel=1e-9, abs=1e-13)
    assert r.mean_wait == pytest.approx(mean_wait, rel=1e-9, abs=1e-13)
    assert r.service_level == pytest.approx(sl, rel=1e-9, abs=1e-13)


def test_erlang_a_identities():
    r = erlang_a(LAM, AHT, PATIENCE, 13, TARGET)
    # target 0: only callers who find a free agent are answered "within target"
    assert erlang_a(LAM, AHT, PATIENCE, 13, 0.0).service_level == pytest.approx(1 - r.p_wait)
    # infinite target: everyone who does not abandon is answered
    eventually = erlang_a(LAM, AHT, PATIENCE, 13, math.inf).service_level
    assert eventually == pytest.approx(1 - r.p_abandon, rel=1e-12)
    # carried load = mean number of busy agents
    assert r.occupancy == pytest.approx(r.carried_load / 13)


def test_erlang_a_infinite_patience_is_exactly_erlang_c():
    for agents in (11, 13, 14, 16):
        r = erlang_a(LAM, AHT, math.inf, agents, TARGET)
        a = LAM * AHT
        assert r.p_wait == erlang_c(a, agents)
        assert r.mean_wait == average_speed_of_answer(a, agents, AHT)
        assert r.service_level == service_level(a, agents, AHT, TARGET)
        assert r.occupancy == occupancy(a, agents)
        assert r.p_abandon == 0.0


@pytest.mark.parametrize("agents", [10, 9, 0])
def test_erlang_a_infinite_patience_unstable(agents):
    r = erlang_a(LAM, AHT, math.inf, agents, TARGET)
    assert (r.p_wait, r.p_abandon, r.mean_wait, r.service_level, r.occupancy) == (
        1.0,
        0.0,
        math.inf,
        0.0,
        1.0,
    )


@pytest.mark.parametrize("agents", [11, 13, 14, 16])
def test_erlang_a_very_large_patience_tends_to_erlang_c(agents):
    r = erlang_a(LAM, AHT, 1e9, agents, TARGET)
    a = LAM * AHT
    assert r.p_wait == pytest.approx(erlang_c(a, agents), rel=1e-7)
    assert r.mean_wait == pytest.approx(average_speed_of_answer(a, agents, AHT), rel=1e-7)
    assert r.service_level == pytest.approx(service_level(a, agents, AHT, TARGET), rel=1e-7)
    assert r.p_abandon < 1e-8


@pytest.mark.parametrize("agents", [1, 2, 7, 40])
@pytest.mark.parametrize("patience", [1e-12, 1e-17, 1e-19, 1e-100, 1e-307, 5e-324])
def test_erlang_a_very_short_patience_tends_to_erlang_b(agents, patience):
    """Patience -> 0 is the loss system: whoever waits abandons at once, so P(wait) and
    P(abandon) both equal Erlang B, with no overflow at subnormal patience."""
    lam, aht = 0.9 * agents / 6.0, 6.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = erlang_a(lam, aht, patience, agents, 20 / 60)
    b = erlang_b(lam * aht, agents)
    assert r.p_wait == pytest.approx(b, rel=1e-9)
    assert r.p_abandon == pytest.approx(b, rel=1e-9)
    assert r.service_level == pytest.approx(1 - b, rel=1e-9)
    assert r.mean_wait <= patience * 1.000001
    assert r.carried_load == pytest.approx(lam * aht * (1 - b), rel=1e-9)


def ref_erlang_a_log(lam, aht, patience, agents, max_queue):
    """Large-scale Erlang A p_wait and p_abandon from a plain log-space product."""
    mu, theta = 1.0 / aht, 1.0 / patience
    logs = [0.0]
    for n in range(1, agents + max_queue + 1):
        death = min(n, agents) * mu + max(n - agents, 0) * theta
        logs.append(logs[-1] + math.log(lam / death))
    top = max(logs)
    weights = [math.exp(x - top) for x in logs]
    total = math.fsum(weights)
    p_wait = math.fsum(weights[agents:]) / total
    mean_queue = math.fsum(j * w for j, w in enumerate(weights[agents:])) / total
    return p_wait, theta * mean_queue / lam


@pytest.mark.parametrize(
    ("lam", "agents", "patience"), [(2000.0, 2050, 10.0), (5000.0, 4990, 10.0), (5000.0, 4900, 1.0)]
)
def test_erlang_a_large_traffic(lam, agents, patience):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = erlang_a(lam, 1.0, patience, agents, 0.1)
    for name in ("p_wait", "p_abandon", "service_level", "occupancy"):
        value = getattr(r, name)
        assert 0.0 <= value <= 1.0, name
    assert 0.0 <= r.mean_wait < math.inf
    p_wait, p_abandon = ref_erlang_a_log(lam, 1.0, patience, agents, max_queue=3000)
    assert r.p_wait == pytest.approx(p_wait, rel=1e-8)
    assert r.p_abandon == pytest.approx(p_abandon, rel=1e-8)
    eventually = erlang_a(lam, 1.0, patience, agents, math.inf).service_level
    assert eventually == pytest.approx(1 - r.p_abandon, rel=1e-10)


def test_erlang_a_edge_cases():
    no_agents = erlang_a(LAM, AHT, PATIENCE, 0, TARGET)
    assert no_agents.p_wait == 1.0
    assert no_agents.p_abandon == pytest.approx(1.0)
    assert no_agents.mean_wait == pytest.approx(PATIENCE)
    assert no_agents.service_level == 0.0
    idle = erlang_a(0.0, AHT, PATIENCE, 5, TARGET)
    assert (idle.p_wait, idle.p_abandon, idle.mean_wait, idle.service_level) == (0, 0, 0, 1)
    assert idle.occupancy == 0.0


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"arrival_rate": -1.0}, "arrival_rate"),
        ({"arrival_rate": math.nan}, "arrival_rate"),
        ({"handle_time": -3.0}, "handle_time"),
        ({"handle_time": 0.0}, "handle_time"),
        ({"patience": 0.0}, "patience"),
        ({"patience": -5.0}, "patience"),
        ({"agents": -1}, "agents"),
        ({"agents": 2.5}, "agents"),
        ({"target": -0.1}, "target"),
    ],
)
def test_erlang_a_rejects_invalid_input(kwargs, name):
    args = {
        "arrival_rate": LAM,
        "handle_time": AHT,
        "patience": PATIENCE,
        "agents": 13,
        "target": TARGET,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        erlang_a(**args)


@pytest.mark.parametrize(
    ("func", "args", "name"),
    [
        (erlang_b, (-1.0, 3), "traffic"),
        (erlang_b, (1.0, -3), "agents"),
        (erlang_c, (1.0, 3.5), "agents"),
        (erlang_c, (math.inf, 3), "traffic"),
        (service_level, (1.0, 3, -1.0, 1.0), "handle_time"),
        (service_level, (1.0, 3, 1.0, -1.0), "target"),
        (average_speed_of_answer, (1.0, 3, 0.0), "handle_time"),
        (occupancy, (-0.5, 3), "traffic"),
        (erlang_c_stats, (1.0, 3, 1.0, -2.0), "target"),
    ],
)
def test_erlang_c_rejects_invalid_input(func, args, name):
    with pytest.raises(ValueError, match=name):
        func(*args)


def test_non_numeric_input_is_a_type_error():
    with pytest.raises(TypeError):
        erlang_c("10", 14)
    with pytest.raises(TypeError):
        erlang_c(10.0, True)


# --------------------------------------------------------------------------------------------
# Hypothesis properties
# --------------------------------------------------------------------------------------------

EPS = 1e-12
traffic_st = st.floats(0.0, 150.0)
agents_st = st.integers(0, 200)
aht_st = st.floats(0.01, 100.0)
target_st = st.floats(0.0, 500.0)


@given(traffic_st, agents_st, aht_st, target_st)
def test_prop_erlang_c_ranges(traffic, agents, aht, target):
    s = erlang_c_stats(traffic, agents, aht, target)
    for p in (erlang_b(traffic, agents), s.p_wait, s.service_level, s.occupancy):
        assert 0.0 <= p <= 1.0
    assert s.asa >= 0.0
    assert erlang_b(traffic, agents) <= s.p_wait + EPS


@given(traffic_st, agents_st, aht_st, target_st)
def test_prop_monotone_in_agents(traffic, agents, aht, target):
    assert erlang_b(traffic, agents + 1) <= erlang_b(traffic, agents) + EPS
    assert erlang_c(traffic, agents + 1) <= erlang_c(traffic, agents) + EPS
    more = service_level(traffic, agents + 1, aht, target)
    assert more >= service_level(traffic, agents, aht, target) - EPS
    more_asa = average_speed_of_answer(traffic, agents + 1, aht)
    assert more_asa <= average_speed_of_answer(traffic, agents, aht) * (1 + EPS)


@given(traffic_st, agents_st, aht_st, target_st, st.floats(0.0, 500.0))
def test_prop_service_level_monotone_in_target(traffic, agents, aht, target, extra):
    longer = service_level(traffic, agents, aht, target + extra)
    assert longer >= service_level(traffic, agents, aht, target) - EPS


erlang_a_args = st.tuples(
    st.floats(0.0, 40.0),  # arrival rate
    st.floats(0.05, 10.0),  # handle time
    st.floats(0.05, 200.0),  # patience
    st.integers(0, 120),  # agents
    st.floats(0.0, 20.0),  # target
)


@settings(deadline=None)
@given(erlang_a_args)
def test_prop_erlang_a_ranges(args):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = erlang_a(*args)
    for p in (r.p_wait, r.p_abandon, r.service_level, r.occupancy):
        assert 0.0 <= p <= 1.0
    assert r.mean_wait >= 0.0
    assert r.mean_queue >= 0.0
    assert r.service_level <= 1.0 - r.p_abandon + 1e-9
    assert r.p_abandon <= r.p_wait + 1e-9


@settings(deadline=None)
@given(erlang_a_args, st.floats(1.0, 10.0))
def test_prop_erlang_a_abandonment_falls_with_patience(args, factor):
    lam, aht, patience, agents, target = args
    short = erlang_a(lam, aht, patience, agents, target)
    long = erlang_a(lam, aht, patience * factor, agents, target)
    assert long.p_abandon <= short.p_abandon + 1e-10


@settings(deadline=None)
@given(erlang_a_args)
def test_prop_erlang_a_monotone_in_agents_and_target(args):
    lam, aht, patience, agents, target = args
    base = erlang_a(lam, aht, patience, agents, target)
    more = erlang_a(lam, aht, patience, agents + 1, target)
    later = erlang_a(lam, aht, patience, agents, target + 1.0)
    assert more.p_wait <= base.p_wait + 1e-10
    assert more.service_level >= base.service_level - 1e-10
    assert later.service_level >= base.service_level - 1e-10


# --------------------------------------------------------------------------------------------
# Docking against the discrete-event simulator ciw
# --------------------------------------------------------------------------------------------

WARM_UP = 100.0  # minutes discarded at the start of each replication
DRAIN = 120.0  # extra simulated minutes so every counted arrival has left the system


def _ciw_replication(seed, agents, patience, horizon):
    """One M/M/c(+M) replication; statistics over arrivals in [WARM_UP, WARM_UP + horizon)."""
    ciw = pytest.importorskip("ciw")
    kwargs = {
        "arrival_distributions": [ciw.dists.Exponential(LAM)],
        "service_distributions": [ciw.dists.Exponential(1.0 / AHT)],
        "number_of_servers": [agents],
    }
    if patience is not None:
        kwargs["reneging_time_distributions"] = [ciw.dists.Exponential(1.0 / patience)]
    ciw.seed(seed)
    sim = ciw.Simulation(ciw.create_network(**kwargs))
    sim.simulate_until_max_time(WARM_UP + horizon + DRAIN)
    records = [r for r in sim.get_all_records() if WARM_UP <= r.arrival_date < WARM_UP + horizon]
    wait = np.array([r.waiting_time for r in records])
    reneged = np.array([r.record_type == "renege" for r in records])
    return {
        "n": len(records),
        "p_wait": float(np.mean(wait > 0.0)),
        "mean_wait": float(wait.mean()),
        "p_abandon": float(reneged.mean()),
        "service_level": float(np.mean(~reneged & (wait <= TARGET))),
    }


def _dock(agents, patience, replications, horizon, expected, max_rel_band):
    """Compare replication means with analytic values within 4 standard errors.

    The tolerance is 4 standard errors of the mean over independent replications (seeds
    1000, 1001, ...).  ``max_rel_band`` only guards against a vacuous test: the band must be
    narrower than that fraction of the analytic value.
    """
    pytest.importorskip("ciw")
    reps = [_ciw_replication(1000 + i, agents, patience, horizon) for i in range(replications)]
    assert sum(r["n"] for r in reps) >= 0.9 * LAM * horizon * replications
    report = {}
    for name, analytic in expected.items():
        values = np.array([r[name] for r in reps])
        mean = float(values.mean())
        tol = 4.0 * float(values.std(ddof=1)) / math.sqrt(replications)
        report[name] = (mean, analytic, tol)
        # the band must be informative (sanity guard, not the tolerance itself)
        assert tol < max_rel_band * analytic, (name, mean, analytic, tol)
        assert abs(mean - analytic) <= tol, (name, mean, analytic, tol)
    for name, (mean, analytic, tol) in report.items():
        print(f"{name}: simulated {mean:.5f} analytic {analytic:.5f} tolerance {tol:.5f}")
    return report


def _erlang_c_expected():
    a = LAM * AHT
    return {"p_wait": erlang_c(a, 14), "mean_wait": average_speed_of_answer(a, 14, AHT)}


def _erlang_a_expected():
    r = erlang_a(LAM, AHT, PATIENCE, 13, TARGET)
    return {
        "p_wait": r.p_wait,
        "p_abandon": r.p_abandon,
        "mean_wait": r.mean_wait,
        "service_level": r.service_level,
    }


QUICK = {"replications": 15, "horizon": 600.0, "max_rel_band": 0.6}  # ~30k customers
SLOW = {"replications": 40, "horizon": 900.0, "max_rel_band": 0.25}  # ~120k customers


def test_ciw_docking_erlang_c_quick():
    _dock(14, None, expected=_erlang_c_expected(), **QUICK)


def test_ciw_docking_erlang_a_quick():
    _dock(13, PATIENCE, expected=_erlang_a_expected(), **QUICK)


@pytest.mark.slow
def test_ciw_docking_erlang_c_slow():
    _dock(14, None, expected=_erlang_c_expected(), **SLOW)


@pytest.mark.slow
def test_ciw_docking_erlang_a_slow():
    _dock(13, PATIENCE, expected=_erlang_a_expected(), **SLOW)
