"""Unit and property tests of :class:`cxsim.CXModel`."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from conftest import minimal_dict, minimal_scenario
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cxsim
from cxsim import kernels as K
from cxsim.agents import Customer, Employee, Partner
from cxsim.kernels import Customers
from cxsim.model import CONTRACT_METRICS
from cxsim.queueing import erlang_a, erlang_c_stats
from cxsim.runner import resize
from cxsim.scenario import MONTH_DAYS, NETWORKS

HYP = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: the minimal scenario's touchpoints (conftest.minimal_dict), to build variants from
TP_MIN = minimal_dict()["touchpoints"]


@pytest.fixture(scope="module")
def minimal_run():
    return cxsim.CXModel(minimal_scenario(), rng=1).run()


def tp_series(model, touchpoint, column="volume") -> np.ndarray:
    t = model.touchpoint_metrics
    return t.loc[t.touchpoint == touchpoint, column].to_numpy()


# --------------------------------------------------------------------------------------------
# population
# --------------------------------------------------------------------------------------------


def test_population_structure(small_default):
    # the exponential tenure draw (the stationary one: tests/test_steady_state.py)
    sc = dataclasses.replace(small_default, market=dataclasses.replace(
        small_default.market, initial_tenure="exponential", initial_tenure_months=30.0))
    m = cxsim.CXModel(sc, rng=4)
    a = m.arrays
    n = sc.market.size
    assert m.n == n == 5000
    for name in Customers._fields:
        assert getattr(a, name).shape == (n,)
    assert a.status.dtype == np.uint8 and a.satisfaction.dtype == np.float32
    assert a.nbytes_per_customer == sum(getattr(a, name).itemsize for name in Customers._fields)
    # tick 0: customers and prospects only, exactly the initial customers
    assert set(np.unique(a.status)) <= {K.PROSPECT, K.CUSTOMER}
    assert (a.status == K.CUSTOMER).sum() == sc.market.initial_customers
    # segments in proportion to their shares
    shares = [s.share for s in sc.segments.values()]
    counts = np.bincount(a.segment, minlength=len(shares))
    assert counts.sum() == n
    for c, s in zip(counts, shares, strict=True):
        assert abs(c / n - s) < 4 * math.sqrt(s * (1 - s) / n)
    # customers' state is initialised, prospects' is not in use
    cust = a.status == K.CUSTOMER
    assert np.all((a.satisfaction >= 0) & (a.satisfaction <= 1))
    assert np.all((a.expectation >= 0) & (a.expectation <= 1))
    for s, spec in enumerate(sc.segments.values()):
        sel = cust & (a.segment == s)
        assert a.satisfaction[sel].mean() == pytest.approx(spec.initial_satisfaction, abs=0.01)
        assert a.expectation[sel].mean() == pytest.approx(spec.initial_expectation, abs=0.01)
        # individual churn propensities scatter around the base rate
        p_month = 1 - (1 - 1 / (1 + np.exp(-a.churn_logit[sel].astype(float)))) ** MONTH_DAYS
        assert np.median(p_month) < 2 * spec.base_churn
    assert np.all(np.isfinite(a.churn_logit[cust]))
    # initial tenure is exponential with the scenario's mean (in months)
    tenure_months = -a.join_tick[cust] / MONTH_DAYS
    assert np.all(a.join_tick[cust] <= 0)
    k = cust.sum()
    assert tenure_months.mean() == pytest.approx(sc.market.initial_tenure_months,
                                                 abs=4 * sc.market.initial_tenure_months
                                                 / math.sqrt(k) + 0.1)
    # response styles: N(0, nps_sd) for every agent
    assert a.nps_bias.std() == pytest.approx(sc.behaviour.nps_sd, rel=0.05)
    assert abs(a.nps_bias.mean()) < 4 * sc.behaviour.nps_sd / math.sqrt(n)
    assert not a.pending.any() and not a.events.any() and not a.exposure.any()


def test_population_all_customers_and_no_tenure():
    sc = minimal_scenario(market={"size": 1000, "initial_customers": 1000,
                                  "initial_tenure_months": 0.0, "network": "full"})
    m = cxsim.CXModel(sc, rng=0)
    assert np.all(m.arrays.status == K.CUSTOMER)
    assert np.all(m.arrays.join_tick == 0)
    assert m.network is None
    m.run(3)
    assert (m.metrics["prospects"] == 0).all()


def test_customer_view_matches_arrays():
    m = cxsim.CXModel(minimal_scenario(simulation={"ticks": 10}), rng=3).run()
    a = m.arrays
    indptr, indices = m.network
    checked = set()
    for i in [0, 1, 2, 17, 500, 999, 1000, 1999,
              *np.flatnonzero(a.status == K.CHURNED)[:3].tolist()]:
        c = m.customer(i)
        assert isinstance(c, Customer) and c.index == i
        assert c.status == ("prospect", "customer", "churned")[a.status[i]]
        checked.add(c.status)
        assert c.segment == m.segment_names[a.segment[i]]
        assert c.satisfaction == float(a.satisfaction[i])
        assert c.expectation == float(a.expectation[i])
        expected_tenure = m.time_tick - int(a.join_tick[i]) if a.status[i] == K.CUSTOMER else 0
        assert c.tenure == expected_tenure
        latent = 10 * float(a.satisfaction[i]) + float(a.nps_bias[i])
        assert c.nps_score == min(max(math.floor(latent + 0.5), 0), 10)
        assert c.contacts == indices[indptr[i]:indptr[i + 1]].tolist()
        assert m.customer(i) is c  # one view per agent
        assert c in m.agents
    assert checked == {"prospect", "customer", "churned"}


def test_customer_view_is_live_and_bounds_checked():
    m = cxsim.CXModel(minimal_scenario(), rng=3)
    i = int(np.flatnonzero(m.arrays.status == K.CUSTOMER)[0])
    c = m.customer(i)
    m.arrays.satisfaction[i] = 0.125
    assert c.satisfaction == 0.125
    t0 = c.tenure
    m.step()
    if m.arrays.status[i] == K.CUSTOMER:
        assert c.tenure == t0 + 1
    with pytest.raises(IndexError):
        m.customer(m.n)
    with pytest.raises(IndexError):
        m.customer(-1)


def test_employees_and_partners_are_mesa_agents():
    sc = minimal_scenario(teams={"cc": {"touchpoints": ["phone"], "headcount": 6},
                                 "back": {"touchpoints": [], "headcount": 3}})
    m = cxsim.CXModel(sc, rng=2)
    employees = list(m.agents_by_type[Employee])
    partners = list(m.agents_by_type[Partner])
    assert len(employees) == 9
    assert len(partners) == 1
    assert Customer not in m.agents_by_type  # numba engine: customers live in arrays
    assert {e.team for e in employees} == {"cc", "back"}
    assert [len(m.teams[t]) for t in ("cc", "back")] == [6, 3]
    assert set(m.teams["cc"]) | set(m.teams["back"]) == set(employees)
    for e in employees:
        assert e in m.agents
        assert 0 <= e.skill <= 1 and 0 <= e.engagement <= 1 and e.tenure >= 0
    assert m.partners["courier"] is partners[0]
    assert m.partners["courier"].reliability == 0.95
    tenure0 = [e.tenure for e in employees]
    m.run(5)
    assert [e.tenure for e in employees] == pytest.approx([t + 5.0 for t in tenure0])


def test_partner_overload_lowers_reliability():
    sc = minimal_scenario(partners={"courier": {"touchpoints": ["delivery"],
                                                "reliability": 0.9, "capacity": 5.0}})
    m = cxsim.CXModel(sc, rng=2)
    p = m.partners["courier"]
    m.step()
    assert p.effective_reliability == 0.9  # no jobs yesterday
    for _ in range(5):
        jobs = tp_series(m, "delivery")[-1]
        m.step()
        assert p.effective_reliability == pytest.approx(0.9 * min(1.0, 5.0 / jobs))
        assert jobs > 5
    on_time = m.metrics["partner_on_time"].to_numpy()
    assert on_time[1:].mean() < 0.5 < on_time[0]


def test_touchpoint_space_has_one_cell_per_touchpoint(small_default):
    for sc in (minimal_scenario(), small_default):
        m = cxsim.CXModel(sc, rng=0)
        space = m.touchpoint_space
        assert len(space.all_cells) == len(sc.touchpoints)
        names = {space.G.nodes[j]["name"] for j in space.G.nodes}
        assert names == set(sc.touchpoints)
        for j, name in enumerate(m.touchpoint_names):
            assert space.G.nodes[j]["channel"] == sc.touchpoints[name].channel
            assert space.G.nodes[j]["stage"] == sc.touchpoints[name].stage
        pairs = {(m.touchpoint_index[p.from_], m.touchpoint_index[p.to]) for p in sc.pathways}
        assert set(space.G.edges) == pairs
    # default scenario: the web shop hands off to delivery, a neighbouring cell
    ws = m.touchpoint_index["web_shop"]
    assert m.touchpoint_index["delivery"] in {c.coordinate for c in space[ws].neighborhood}
    assert space.G.nodes[ws]["name"] == "web_shop"


# --------------------------------------------------------------------------------------------
# metric tables
# --------------------------------------------------------------------------------------------


def test_metrics_contract_columns_in_order(minimal_run):
    df = minimal_run.metrics
    assert list(df.columns[:len(CONTRACT_METRICS)]) == list(CONTRACT_METRICS)
    for extra in ("nps_se", "nps_population", "nps_promoters", "nps_detractors", "prospects",
                  "lost", "won_back", "episodes", "failure_demand", "systems_down"):
        assert extra in df.columns
    assert len(df) == 30
    # row k is the state after tick k + 1
    assert df["tick"].tolist() == list(range(1, 31))
    assert df["profit"].to_numpy() == pytest.approx((df["revenue"] - df["cost"]).to_numpy())


def test_metrics_before_any_tick_has_contract_columns():
    m = cxsim.CXModel(minimal_scenario(), rng=0)
    assert list(m.metrics.columns) == list(CONTRACT_METRICS)
    assert m.metrics.empty
    assert m.summary() == {"ticks": 0}


def test_tables_asked_for_mid_run_are_the_first_rows_of_the_final_ones():
    # the tables are computed when asked for, from what each tick kept: asking early changes
    # nothing, and gives the final tables' first rows exactly
    sc = resize(cxsim.default_scenario(), customers=1500, days=70)
    m = cxsim.CXModel(sc, rng=4, strategy=list(sc.strategies))
    names = ("metrics", "touchpoint_metrics", "segment_metrics", "queue_metrics",
             "partner_metrics")
    m.run(35)
    early = {name: getattr(m, name) for name in names}
    m.run(35)
    for name, df in early.items():
        late = getattr(m, name)
        assert len(late) == 2 * len(df)
        pd.testing.assert_frame_equal(late.iloc[:len(df)], df, check_exact=True)


def test_other_tables_have_one_row_per_tick_and_item(minimal_run):
    m = minimal_run
    t = m.touchpoint_metrics
    assert len(t) == 30 * 3 and set(t.touchpoint) == {"web", "phone", "delivery"}
    assert {"volume", "experience", "resolved", "failures", "queued", "mean_wait",
            "episodes_ended", "episodes_ended_unresolved"} <= set(t.columns)
    s = m.segment_metrics
    assert len(s) == 30
    assert (s["active"].to_numpy() == m.metrics["active"].to_numpy()).all()
    assert (s["new"].to_numpy() == m.metrics["new"].to_numpy()).all()
    assert (s["churned"].to_numpy() == m.metrics["churned"].to_numpy()).all()
    q = m.queue_metrics
    assert len(q) == 30 and set(q.team) == {"cc"}
    assert {"p_wait", "service_level", "asa", "occupancy", "agents", "offered",
            "traffic"} <= set(q.columns)
    summ = m.summary()
    assert summ["market"] == 2000 and summ["ticks"] == 30
    assert summ["new"] == m.metrics["new"].sum()
    assert summ["episodes"] == m.metrics["episodes"].sum()


def test_segment_tables_add_up(small_default):
    sc = cxsim.runner.resize(small_default, customers=3000, days=20)
    m = cxsim.CXModel(sc, rng=8).run()
    seg = m.segment_metrics
    assert set(seg.segment) == set(sc.segments) and len(seg) == 20 * len(sc.segments)
    totals = seg.groupby("tick")[["active", "new", "churned"]].sum()
    df = m.metrics.set_index("tick")
    for col in ("active", "new", "churned"):
        assert (totals[col] == df[col]).all()
    a = m.arrays
    last = seg[seg.tick == 20].set_index("segment")
    for s, name in enumerate(m.segment_names):
        assert last.loc[name, "active"] == ((a.status == K.CUSTOMER) & (a.segment == s)).sum()
    rev = sum(last.loc[name, "active"] * spec.revenue_per_day
              for name, spec in sc.segments.items())
    assert df["revenue"].iloc[-1] == pytest.approx(rev)


def test_revenue_and_cost_accounting(minimal_run):
    df = minimal_run.metrics
    assert (df["revenue"] == df["active"] * 1.0).all()  # 1.0 per customer per day
    assert (df["staff_cost"] == 6 * 150.0).all()
    phone = tp_series(minimal_run, "phone")
    assert df["contact_cost"].to_numpy() == pytest.approx(4.0 * phone)


def test_queue_offered_is_todays_expected_demand(minimal_run):
    m = minimal_run
    q = m.queue_metrics
    sc = minimal_scenario()  # what minimal_run was built from
    team = sc.teams["cc"]
    seg = sc.segments["all"]
    # first contacts at the phone: the active customers at the start of the day, times their
    # expected support needs (Poisson, rate x tick_days), half of which start at the phone
    p_support = seg.need_rates["support"] * sc.simulation.tick_days
    active = np.concatenate([[1000], m.segment_metrics["active"].to_numpy()[:-1]])
    entries = active * p_support * 0.5
    # web -> phone escalations come on top (before any are seen, the share the touchpoint
    # graph implies: Queues.start)
    backlog_before = np.concatenate([[0.0], q["backlog"].to_numpy()[:-1]])
    moves = q["offered"].to_numpy() - backlog_before - entries
    assert (moves >= -1e-9).all()
    assert moves[0] == pytest.approx(moves[1:].mean(), rel=0.3)
    flows = m.flow_metrics.set_index(["source", "target"])["episodes"]
    assert moves.sum() == pytest.approx(flows[("web", "phone")], rel=0.25)
    # the forecast is unbiased: realised contacts equal it within Poisson noise
    realised = tp_series(m, "phone").sum()
    forecast = (q["offered"] - q["backlog"].shift(fill_value=0.0)).sum()
    assert abs(realised - forecast) < 4 * math.sqrt(forecast)
    # every contact is accounted for: served + abandoned + backlog = offered
    assert (q["served"] + q["abandoned"] + q["backlog"]).to_numpy() == pytest.approx(
        q["offered_actual"].to_numpy())
    # agents on shift: the head count's share of the open hours, not rounded (6 x 8 / 12)
    assert (q["agents"] == team.headcount * team.shift_hours / team.open_hours).all()
    # handle time follows the team's skill (workforce dynamics); traffic uses today's
    traffic = q["offered"] / (team.open_hours * 60.0) * q["handle_time"]
    assert q["traffic"].to_numpy() == pytest.approx(traffic.to_numpy())
    patience = seg.queue_patience  # one segment: the contact-weighted mean patience
    for _, row in q.head(5).iterrows():
        ref = erlang_a(row.offered / (team.open_hours * 60.0), row.handle_time, patience,
                       4, team.service_target / 60)  # 6 x 8 / 12 = 4 agents
        assert row.p_wait == pytest.approx(ref.p_wait)
        assert row.p_abandon == pytest.approx(ref.p_abandon)
        assert row.asa == pytest.approx(ref.mean_wait * 60)
        assert row.service_level == pytest.approx(ref.service_level)


# --------------------------------------------------------------------------------------------
# touchpoint volumes
# --------------------------------------------------------------------------------------------


def _no_handoff_scenario(**behaviour):
    """web -> phone escalation only, phone a dead end: episodes visit at most two nodes."""
    return minimal_scenario(
        touchpoints={"web": {**TP_MIN["web"], "resolution": 0.5},
                     "phone": {**TP_MIN["phone"], "resolution": 0.6}},
        pathways=[{"from": "web", "to": "phone"}],
        needs={"buy": {"entry": ["web"]}, "support": {"entry": ["web", "phone"]}},
        partners={}, behaviour={"max_steps": 20, **behaviour})


def test_volume_sums_to_total_visits():
    sc = _no_handoff_scenario()
    m = cxsim.CXModel(sc, rng=6).run()
    t, df = m.touchpoint_metrics, m.metrics
    per_tick = t.groupby("tick")
    volume = per_tick["volume"].sum().to_numpy()
    assert volume.sum() > 0 and df["escalations"].sum() > 0
    # each episode makes one visit plus one per escalation (no hand-offs here)
    assert (volume == (df["episodes"] + df["escalations"]).to_numpy()).all()
    # each episode ends once, at a touchpoint it visited
    assert (per_tick["episodes_ended"].sum().to_numpy() == df["episodes"].to_numpy()).all()
    assert (per_tick["episodes_ended_unresolved"].sum().to_numpy()
            == df["abandoned"].to_numpy()).all()
    assert (t["episodes_ended"] <= t["volume"]).all()
    assert (t["resolved"] <= t["volume"]).all()
    assert (df["resolved"] + df["abandoned"] == df["episodes"]).all()


def test_step_limit_ends_episode_at_last_visited_touchpoint():
    sc = _no_handoff_scenario(max_steps=1)
    m = cxsim.CXModel(sc, rng=6).run(10)
    t, df = m.touchpoint_metrics, m.metrics
    assert (t["episodes_ended"] <= t["volume"]).all()
    volume = t.groupby("tick")["volume"].sum().to_numpy()
    assert (volume == (df["episodes"] + df["escalations"]).to_numpy()).all()


def test_volume_sum_equals_contact_count_with_handoffs(small_default):
    """With every contact costing 1, contact cost is the total of touchpoint volumes."""
    sc = dataclasses.replace(small_default, touchpoints={
        k: dataclasses.replace(v, cost_per_contact=1.0) for k, v in
        small_default.touchpoints.items()})
    sc = cxsim.runner.resize(sc, customers=3000, days=20)
    m = cxsim.CXModel(sc, rng=2).run()
    t, df = m.touchpoint_metrics, m.metrics
    volume = t.groupby("tick")["volume"].sum().to_numpy()
    assert df["contact_cost"].to_numpy() == pytest.approx(volume)
    # hand-offs add visits: at least one visit per episode plus escalations
    assert (volume >= df["episodes"] + df["escalations"]).all()
    assert (tp_series(m, "delivery") > 0).any()


def test_closed_touchpoint_is_never_visited():
    sc = minimal_scenario(
        touchpoints={**TP_MIN,
                     "chat": {"channel": "chat", "stage": "support", "quality": 0.99,
                              "resolution": 0.99, "enabled": False}},
        pathways=[{"from": "web", "to": "chat", "weight": 10.0},
                  {"from": "web", "to": "phone"},
                  {"from": "chat", "to": "phone"},
                  {"from": "web", "to": "delivery", "kind": "handoff", "weight": 0.8,
                   "needs": ["buy"]}],
        needs={"buy": {"entry": ["web", "chat"]}, "support": {"entry": ["chat", "web", "phone"]}},
        segments={"all": {"share": 1.0, "channel_preference": {"chat": 50.0},
                          "need_rates": {"buy": 0.1, "support": 0.1}}},
        teams={"cc": {"touchpoints": ["phone", "chat"], "headcount": 6}})
    m = cxsim.CXModel(sc, rng=5).run()
    t = m.touchpoint_metrics
    chat = t[t.touchpoint == "chat"]
    assert (chat[["volume", "queued", "episodes_ended", "resolved"]] == 0).all().all()
    # the other touchpoints, including the escalation target, are used
    assert tp_series(m, "web").sum() > 0 and tp_series(m, "phone").sum() > 0
    assert m.metrics["escalations"].sum() > 0


# --------------------------------------------------------------------------------------------
# partners, failure demand, outages, queue figures
# --------------------------------------------------------------------------------------------


def _partner_scenario(reliability):
    return minimal_scenario(partners={"courier": {"touchpoints": ["delivery"],
                                                  "reliability": reliability}},
                            segments={"all": {"share": 1.0,
                                              "need_rates": {"buy": 0.1, "support": 0.01}}})


def test_partner_failures_create_failure_demand():
    m = cxsim.CXModel(_partner_scenario(0.3), rng=7)
    pending_before = []
    for _ in range(20):
        pending_before.append(int(m.arrays.pending.sum()))
        m.step()
    df = m.metrics
    fd = df["failure_demand"].to_numpy()
    failures = tp_series(m, "delivery", "failures")
    assert fd.sum() > 0 and failures.sum() > 0
    assert fd[0] == 0
    # every failure demand contact is one of the previous tick's pending failures
    assert fd.tolist() == pending_before
    assert (fd[1:] <= failures[:-1]).all()
    on_time = df["partner_on_time"].to_numpy()
    assert on_time == pytest.approx(1 - failures / tp_series(m, "delivery"))
    assert on_time.mean() == pytest.approx(0.3, abs=0.1)


def test_reliable_partner_creates_no_failure_demand():
    m = cxsim.CXModel(_partner_scenario(1.0), rng=7).run(20)
    df = m.metrics
    assert (df["failure_demand"] == 0).all()
    assert (tp_series(m, "delivery", "failures") == 0).all()
    assert tp_series(m, "delivery").sum() > 0
    assert (df["partner_on_time"] == 1.0).all()
    assert not m.arrays.pending.any()


def test_system_outage_closes_its_touchpoints():
    sc = minimal_scenario(systems={"platform": {"touchpoints": ["web"],
                                                "outage_probability": 1.0}})
    m = cxsim.CXModel(sc, rng=1).run()
    assert (m.metrics["systems_down"] == 1).all()
    assert (tp_series(m, "web") == 0).all()
    assert (tp_series(m, "delivery") == 0).all()  # only reached from the web shop
    assert tp_series(m, "phone").sum() > 0  # support still starts at the phone
    assert m.systems_down == ["platform"]


def test_intermittent_outages_close_touchpoints_only_while_down():
    # outages start and end within ticks: a tick counts the share of it a system was down,
    # and the web takes episodes only for the part of the tick it is up
    sc = minimal_scenario(systems={"platform": {"touchpoints": ["web"],
                                                "outage_probability": 0.15,
                                                "outage_days": 2.0},
                                   "never": {"touchpoints": ["phone"]}},
                          simulation={"ticks": 200})
    m = cxsim.CXModel(sc, rng=3).run()
    down = m.metrics["systems_down"].to_numpy()
    web = tp_series(m, "web")
    full, none, part = down >= 1.0, down == 0.0, (down > 0.0) & (down < 1.0)
    assert full.sum() > 5 and none.sum() > 5 and part.sum() > 5
    assert (web[full] == 0).all()
    assert (web[none] > 0).all()
    # partly down ticks: the web's volume in proportion to the time it was up
    up_share = 1.0 - down[part]
    typical = web[none].mean()
    assert web[part].sum() == pytest.approx(typical * up_share.sum(), rel=0.15)
    assert (tp_series(m, "phone") > 0).sum() > 0  # a system that never fails closes nothing


def test_idle_unstaffed_team_does_not_poison_asa():
    sc = minimal_scenario(
        touchpoints={**TP_MIN, "video": {"channel": "video", "stage": "support",
                                         "enabled": False}},
        teams={"cc": {"touchpoints": ["phone"], "headcount": 6},
               "video_team": {"touchpoints": ["video"], "headcount": 0}})
    m = cxsim.CXModel(sc, rng=1).run(3)
    q = m.queue_metrics
    cc = q[q.team == "cc"]
    assert m.metrics["asa"].to_numpy() == pytest.approx(cc["asa"].to_numpy())


def test_unstaffed_team_with_callers_queues_everyone():
    sc = minimal_scenario(teams={"cc": {"touchpoints": ["phone"], "headcount": 0}},
                          segments={"all": {"share": 1.0,
                                            "need_rates": {"buy": 0.01, "support": 0.2}}})
    m = cxsim.CXModel(sc, rng=1).run(5)
    q = m.queue_metrics
    assert (q["agents"] == 0).all() and (q["p_wait"] == 1.0).all()
    # Erlang A: with no agents every caller waits out their patience and hangs up
    assert np.allclose(m.metrics["asa"], sc.segments["all"].queue_patience * 60.0)
    phone = tp_series(m, "phone")
    assert (tp_series(m, "phone", "queued") == phone).all()
    assert (tp_series(m, "phone", "queue_abandoned") == phone).all()
    assert (m.metrics["abandonment"] == 1.0).all()


# --------------------------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------------------------


@st.composite
def scenarios(draw, win_back=None):
    size = draw(st.integers(1000, 2000))
    net = draw(st.sampled_from(NETWORKS))
    d = minimal_dict(
        simulation={"ticks": 25, "tick_days": draw(st.sampled_from([1.0, 1.0, 0.5, 7.0]))},
        market={"size": size,
                "initial_customers": draw(st.integers(0, size)),
                "network": net, "mean_degree": draw(st.floats(1.0, 12.0)),
                "rewiring": draw(st.floats(0, 1)),
                "p": draw(st.floats(0, 1)), "q": draw(st.floats(0, 3)),
                "referral_from": draw(st.sampled_from(["promoters", "customers"])),
                "win_back": draw(st.floats(0, 1)) if win_back is None else win_back},
        segments={"all": {"share": 1.0, "revenue_per_day": 1.0,
                          "base_churn": draw(st.floats(0, 0.6)),
                          "churn_concentration": draw(st.sampled_from([0.0, 5.0, 40.0])),
                          "patience": draw(st.floats(0.1, 3.0)),
                          "initial_satisfaction": draw(st.floats(0, 1)),
                          "initial_expectation": draw(st.floats(0, 1)),
                          "need_rates": {"buy": draw(st.floats(0, 0.5)),
                                         "support": draw(st.floats(0, 0.5))}}},
        touchpoints={"web": {**TP_MIN["web"], "quality": draw(st.floats(0, 1)),
                             "resolution": draw(st.floats(0, 1)),
                             "effort": draw(st.floats(0, 1))},
                     "phone": {**TP_MIN["phone"], "quality": draw(st.floats(0, 1)),
                               "variability": draw(st.floats(0, 1))},
                     "delivery": TP_MIN["delivery"]},
        teams={"cc": {"touchpoints": ["phone"], "headcount": draw(st.integers(0, 20))}},
        partners={"courier": {"touchpoints": ["delivery"],
                              "reliability": draw(st.floats(0, 1))}},
        survey={"nps_sample_rate": draw(st.sampled_from([0.05, 0.5, 1.0]))},
    )
    return cxsim.Scenario.from_dict(d), draw(st.integers(0, 2**31))


@HYP
@given(case=scenarios())
def test_invariants_every_tick(case):
    sc, seed = case
    m = cxsim.CXModel(sc, rng=seed)
    a = m.arrays
    n = sc.market.size
    prev = a.status.copy()
    cohort = []
    for t in range(25):
        due = int(a.pending[a.status == K.CUSTOMER].sum())  # failure demands due this tick
        m.step()
        cur = a.status
        row = m.metrics.iloc[-1]
        assert row["tick"] == t + 1
        # state bounds
        assert np.all((a.satisfaction >= 0) & (a.satisfaction <= 1))
        assert np.all((a.expectation >= 0) & (a.expectation <= 1))
        assert np.all(a.exposure >= 0)
        assert np.all(np.isfinite(a.churn_logit))
        # score ranges
        for col, lo, hi in [("csat", 1, 5), ("ces", 1, 7), ("nps", -100, 100),
                            ("nps_population", -100, 100), ("satisfaction", 0, 1),
                            ("fcr", 0, 1), ("churn_rate", 0, 1), ("retention", 0, 1),
                            ("abandonment", 0, 1), ("occupancy", 0, 1),
                            ("service_level", 0, 1), ("partner_on_time", 0, 1)]:
            v = row[col]
            assert math.isnan(v) or lo <= v <= hi, (col, v)
        if row["episodes"] > 0:
            assert not math.isnan(row["csat"]) and not math.isnan(row["ces"])
        # conservation of the market and consistency with the arrays
        assert row["prospects"] + row["active"] + row["lost"] == n
        assert row["active"] == (cur == K.CUSTOMER).sum()
        assert row["prospects"] == (cur == K.PROSPECT).sum()
        assert row["lost"] == (cur == K.CHURNED).sum()
        # transitions: 0 -> 1 (new), 1 -> 2 (churned), 2 -> 1 (won back), nothing else
        assert row["new"] == ((prev == K.PROSPECT) & (cur == K.CUSTOMER)).sum()
        assert row["churned"] == ((prev == K.CUSTOMER) & (cur == K.CHURNED)).sum()
        assert row["won_back"] == ((prev == K.CHURNED) & (cur == K.CUSTOMER)).sum()
        assert not ((prev == K.PROSPECT) & (cur == K.CHURNED)).any()
        assert not ((prev != K.PROSPECT) & (cur == K.PROSPECT)).any()
        # at most MAX_EPISODES needs per customer who was active at the start of the tick,
        # and the failure demands they had due (one per partner failure of the tick before)
        assert row["failure_demand"] == due
        assert row["episodes"] <= (prev == K.CUSTOMER).sum() * K.MAX_EPISODES + due
        # rate x tick_days answers per customer, the fraction by chance
        per_customer = math.ceil(sc.survey.nps_sample_rate * sc.simulation.tick_days)
        assert row["nps_respondents"] <= row["active"] * per_customer
        # the survey's promoters and detractors are among its respondents, and make its NPS
        assert row["nps_promoters"] + row["nps_detractors"] <= row["nps_respondents"]
        if row["nps_respondents"] > 0:
            assert row["nps"] == pytest.approx(
                100.0 * (row["nps_promoters"] - row["nps_detractors"])
                / row["nps_respondents"])
        assert row["promoters"] + row["detractors"] <= row["active"]
        # stock figures recomputed from the arrays
        act = cur == K.CUSTOMER
        if prev_active := int((prev == K.CUSTOMER).sum()):
            assert row["churn_rate"] == pytest.approx(row["churned"] / prev_active)
        if act.any():
            assert row["satisfaction"] == pytest.approx(float(a.satisfaction[act].mean()),
                                                        rel=1e-5)
        if sc.market.initial_customers:
            assert row["retention"] == pytest.approx(
                (act & (a.join_tick <= 0)).sum() / sc.market.initial_customers)
        score = np.clip(np.floor(10.0 * a.satisfaction.astype(np.float64)
                                 + a.nps_bias.astype(np.float64) + 0.5), 0, 10)
        promoter = act & (score >= 9)
        assert row["promoters"] == promoter.sum()
        assert row["detractors"] == (act & (score <= 6)).sum()
        referrer = promoter if sc.market.referral_from == "promoters" else act
        assert row["referrers"] == referrer.sum()
        answers = sc.survey.nps_sample_rate * sc.simulation.tick_days
        if answers == round(answers):  # whole answers per customer: the census, repeated
            assert row["nps_respondents"] == row["active"] * round(answers)
            assert row["nps_promoters"] == row["promoters"] * round(answers)
            assert row["nps_detractors"] == row["detractors"] * round(answers)
            assert row["nps"] == pytest.approx(row["nps_population"]) or math.isnan(row["nps"])
        # every agent's count of referring contacts is current (social phase)
        if m.network is not None:
            indptr, indices = m.network
            src = np.repeat(np.arange(n), np.diff(indptr))
            counts = np.bincount(src, weights=referrer[indices], minlength=n)
            assert np.array_equal(a.referrer_nbrs, counts.astype(np.int32))
        cohort.append(row["retention"])
        prev = cur.copy()
    if sc.market.initial_customers > 0:  # the initial cohort only shrinks
        assert all(b <= a_ for a_, b in zip(cohort, cohort[1:], strict=False))
    df = m.metrics
    assert df["revenue"].to_numpy() == pytest.approx(
        df["active"].to_numpy() * sc.simulation.tick_days)
    assert df["profit"].to_numpy() == pytest.approx((df["revenue"] - df["cost"]).to_numpy())


@HYP
@given(case=scenarios(win_back=0.0))
def test_no_win_back_and_no_acquisition_means_churn_is_final(case):
    """Former customers come back only through marketing, referrals or win-back offers."""
    sc, seed = case
    sc = dataclasses.replace(
        sc, market=dataclasses.replace(sc.market, p=0.0, q=0.0),
        segments={"all": dataclasses.replace(
            sc.segments["all"], base_churn=max(sc.segments["all"].base_churn, 0.3))})
    m = cxsim.CXModel(sc, rng=seed)
    prev = m.arrays.status.copy()
    for _ in range(25):
        m.step()
        cur = m.arrays.status
        assert np.all(cur[prev == K.CHURNED] == K.CHURNED)
        prev = cur.copy()
    assert (m.metrics["won_back"] == 0).all()
    lost = m.metrics["lost"].to_numpy()
    assert np.all(np.diff(lost) >= 0)


def test_marketing_reaches_former_customers_as_it_reaches_prospects():
    """A former customer is a rival's customer again: Bass acquisition wins them back too.

    With no win-back offers, former customers return at the prospects' rate (full mixing,
    marketing only, so both face the same probability per tick).
    """
    sc = cxsim.Scenario.from_dict(minimal_dict(
        simulation={"ticks": 60, "tick_days": 1.0},
        market={"size": 20_000, "initial_customers": 10_000, "network": "full", "p": 1.0,
                "q": 0.0, "win_back": 0.0},
        segments={"all": {"share": 1.0, "base_churn": 0.5, "need_rates": {}}}))
    m = cxsim.CXModel(sc, rng=4).run()
    df = m.metrics
    assert df["won_back"].sum() > 100
    prospects = np.concatenate([[sc.market.size - sc.market.initial_customers],
                                df["prospects"].to_numpy()[:-1]])
    lost = np.concatenate([[0], df["lost"].to_numpy()[:-1]])
    rate_new = df["new"].sum() / prospects.sum()
    rate_back = df["won_back"].sum() / lost.sum()
    assert rate_back == pytest.approx(rate_new, rel=0.1)
    assert rate_new == pytest.approx(1.0 / 365.0, rel=0.1)


@HYP
@given(h=st.integers(0, 12), k=st.integers(1, 10), support=st.floats(0.01, 1.0),
       handle=st.floats(1.0, 30.0), size=st.integers(1000, 2000), seed=st.integers(0, 2**31))
def test_more_staff_never_lengthens_waits(h, k, support, handle, size, seed):
    def first_tick(headcount):
        sc = minimal_scenario(
            market={"size": size, "initial_customers": size // 2},
            segments={"all": {"share": 1.0, "need_rates": {"buy": 0.05, "support": support}}},
            teams={"cc": {"touchpoints": ["phone"], "headcount": headcount,
                          "handle_time": handle}})
        m = cxsim.CXModel(sc, rng=seed)
        m.step()
        return m.queue_metrics.iloc[0], m.touchpoint_metrics
    q_few, t_few = first_tick(h)
    q_many, t_many = first_tick(h + k)
    assert q_many["agents"] >= q_few["agents"]
    assert q_many["offered"] == q_few["offered"]  # same forecast for tick 1
    assert q_many["p_wait"] <= q_few["p_wait"] + 1e-12
    assert q_many["asa"] <= q_few["asa"] * (1 + 1e-12) + 1e-12 or np.isinf(q_few["asa"])
    assert q_many["service_level"] >= q_few["service_level"] - 1e-12
    # same draws, lower P(wait): the callers who queue are a subset
    phone = lambda t, c: t.loc[t.touchpoint == "phone", c].iloc[0]  # noqa: E731
    assert phone(t_many, "volume") == phone(t_few, "volume")
    assert phone(t_many, "queued") <= phone(t_few, "queued")


@HYP
@given(traffic=st.floats(0.0, 60.0), handle=st.floats(0.5, 20.0), target=st.floats(0.0, 2.0))
def test_erlang_c_stats_monotone_in_agents(traffic, handle, target):
    prev = erlang_c_stats(traffic, 0, handle, target)
    for c in range(1, 90):
        q = erlang_c_stats(traffic, c, handle, target)
        assert q.p_wait <= prev.p_wait + 1e-12
        assert q.asa <= prev.asa * (1 + 1e-12) + 1e-15
        assert q.mean_wait_if_waiting <= prev.mean_wait_if_waiting * (1 + 1e-12)
        assert q.service_level >= prev.service_level - 1e-12
        assert q.occupancy <= prev.occupancy + 1e-12
        assert 0 <= q.p_wait <= 1 and 0 <= q.service_level <= 1
        prev = q


def test_flows_conserve_episodes():
    """Every episode enters once and ends once; every visit is an entry or a move."""
    sc = resize(cxsim.default_scenario(), customers=5000, days=40)
    m = cxsim.CXModel(sc, rng=4).run()
    f = m.flow_metrics
    episodes = int(m.metrics["episodes"].sum())
    assert f.loc[f["source"] == "need", "episodes"].sum() == episodes
    assert f.loc[f["target"].isin(["resolved", "unresolved"]), "episodes"].sum() == episodes
    visits = m.touchpoint_metrics.groupby("touchpoint")["volume"].sum()
    inflow = f[f["target"].isin(visits.index)].groupby("target")["episodes"].sum()
    assert (inflow.reindex(visits.index, fill_value=0) == visits).all()
    moves = f[f["source"].isin(visits.index) & f["target"].isin(visits.index)]
    # hand-offs (web orders to the courier) and escalations (help centre to chat) both show
    pairs = set(zip(moves["source"], moves["target"], strict=True))
    assert ("web_shop", "delivery") in pairs and ("help_centre", "chat") in pairs
    assert (f["episodes"] > 0).all()


def test_a_slow_start_says_what_it_is_doing_and_a_quick_one_says_nothing(monkeypatch, capsys):
    # the first run after installing compiles the kernels for a while: run(notice=True)
    # says so on stderr when set-up and the first tick pass NOTICE_AFTER_S; the results are
    # the same either way
    import pandas as pd

    from cxsim import runner

    sc = minimal_scenario(simulation={"ticks": 3})
    runner.run(sc, 5)  # compiled (or loaded from the cache) before the quick case
    capsys.readouterr()
    quiet = runner.run(sc, 5, notice=True)
    assert capsys.readouterr().err == ""
    import time

    real = runner.CXModel

    def slow_build(*a, **kw):  # as a cold cache's compilation would be
        time.sleep(0.5)
        return real(*a, **kw)

    monkeypatch.setattr(runner, "NOTICE_AFTER_S", 0.05)
    monkeypatch.setattr(runner, "CXModel", slow_build)
    slow = runner.run(sc, 5, notice=True)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "compiles its kernels" in err
    pd.testing.assert_frame_equal(quiet.metrics, slow.metrics)
    assert len(slow.metrics) == 3
