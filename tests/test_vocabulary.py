"""The metric vocabulary: one declaration read by summaries, windows, tables and figures."""

import math

import numpy as np
import pandas as pd
import pytest

import cxsim
from cxsim import vocabulary as V
from cxsim.metrics import AGGREGATION, aggregate, summarise
from cxsim.runner import resize


@pytest.fixture(scope="module")
def small_run():
    sc = resize(cxsim.default_scenario(), customers=1500, days=60)
    model = cxsim.CXModel(sc, rng=3)
    model.run()
    return sc, model


def toy(tick_days=1.0):
    """Six ticks with round numbers, every aggregation rule computable by hand."""
    return pd.DataFrame({
        "tick": [1, 2, 3, 4, 5, 6],
        "active": [100, 98, 97, 99, 96, 95],
        "churned": [2, 3, 1, 4, 2, 1],
        "new": [0, 2, 3, 1, 1, 0],
        "csat": [4.0, np.nan, 3.0, 5.0, 4.0, 2.0],
        "episodes": [10, 0, 30, 10, 20, 40],
        "service_level": [0.8, np.nan, 0.6, 1.0, np.inf, 0.9],
        "nps": [10.0, 20.0, np.nan, 30.0, -10.0, 0.0],
        "nps_respondents": [5, 5, 0, 10, 10, 20],
        "profit": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    })


def test_declarations_are_unique_and_complete():
    names = [m.name for m in V.METRICS]
    assert len(names) == len(set(names))
    for m in V.METRICS:
        assert "_" not in m.label, m.name  # display labels are words, not column names
        assert m.label and m.short and m.unit and m.description
        if m.aggregation.weight:
            assert m.aggregation.weight in V.BY_NAME
    assert V.CONTRACT_COLUMNS[0] == "tick"
    assert set(V.HEADLINE) <= set(V.SUMMARY_METRICS)
    assert set(V.COMPARED) <= set(V.SUMMARY_METRICS)
    assert set(AGGREGATION) == set(V.SUMMARY_METRICS)
    assert "nps_respondents" in V.RUN_TICK_COLUMNS  # the weight of a compared metric


def test_bad_declarations_are_refused():
    with pytest.raises(ValueError, match="weight"):
        V.Aggregation("weighted")
    with pytest.raises(ValueError, match="rule must be one of"):
        V.Aggregation("median")
    with pytest.raises(ValueError, match="fmt must be one of"):
        V.Metric("x", "X", "x", "u", "flow", V.SUM, "fancy")


def test_the_model_writes_the_contract_columns_in_order(small_run):
    _, model = small_run
    cols = list(model.metrics.columns)
    assert cols[:len(V.CONTRACT_COLUMNS)] == list(V.CONTRACT_COLUMNS)
    declared = {m.name for m in V.METRICS if m.per_tick}
    assert set(cols) - {"tick"} == declared  # every per-tick column is declared


def test_summary_keys_follow_the_vocabulary(small_run):
    sc, model = small_run
    s = model.summary()
    descriptors = ["scenario", "ticks", "days", "market", "initial_customers"]
    assert list(s) == descriptors + list(V.SUMMARY_METRICS)
    for name in V.SUMMARY_METRICS:
        if V.BY_NAME[name].integer:
            assert isinstance(s[name], int), name


def test_aggregate_over_the_run_is_the_summary(small_run):
    sc, model = small_run
    s = model.summary()
    m = model.metrics
    dt = sc.simulation.tick_days
    for name in V.SUMMARY_METRICS:
        if V.BY_NAME[name].aggregation.window_days:
            continue
        got = aggregate(m, name, tick_days=dt, initial_customers=s["initial_customers"])
        assert got == pytest.approx(s[name], rel=0, abs=0, nan_ok=True) or (
            s[name] is None and math.isnan(got)), name
    last = int(m["tick"].max() * dt)
    assert aggregate(m, "nps", last - 29, last, tick_days=dt) == s["nps"]


def test_each_rule_by_hand():
    df = toy()
    assert aggregate(df, "profit") == 21.0
    assert aggregate(df, "profit", 2, 4) == 9.0
    assert aggregate(df, "active", 1, 3) == 97.0  # stock: the window's last tick
    # csat pooled over episodes: (4·10 + 3·30 + 5·10) / 50 over days 1-4
    assert aggregate(df, "csat", 1, 4) == pytest.approx((40 + 90 + 50) / 50)
    # service level: mean of the measured ticks (NaN and inf left out)
    assert aggregate(df, "service_level") == pytest.approx((0.8 + 0.6 + 1.0 + 0.9) / 4)
    # NPS pooled over respondents
    assert aggregate(df, "nps", 4, 6) == pytest.approx((300 - 100 + 0) / 40)
    # churn rate: churned / active at the start of each tick
    assert aggregate(df, "churn_rate", 2, 3) == pytest.approx(4 / (100 + 98))
    assert aggregate(df, "churn_rate", 1, 2, initial_customers=102) == pytest.approx(5 / 202)
    with pytest.raises(ValueError, match="initial_customers"):
        aggregate(df, "churn_rate", 1, 2)
    rate = aggregate(df, "churn_rate", 2, 6)
    assert aggregate(df, "monthly_churn", 2, 6) == pytest.approx(
        1 - (1 - rate) ** (365 / 12))
    assert math.isnan(aggregate(df, "profit", 10, 20))
    with pytest.raises(KeyError, match="unknown metric"):
        aggregate(df, "happiness")


def test_days_map_to_ticks_by_tick_days():
    df = toy()
    # weekly ticks: days 1-7 are tick 1, days 8-14 tick 2, ...
    assert aggregate(df, "profit", 1, 7, tick_days=7) == 1.0
    assert aggregate(df, "profit", 8, 21, tick_days=7) == 5.0
    assert aggregate(df, "profit", 7, 8, tick_days=7) == 3.0
    with pytest.raises(ValueError, match="before"):
        aggregate(df, "profit", 9, 8)


def test_summarise_on_a_toy_table():
    df = toy().assign(retention=1.0, ces=5.0, satisfaction=0.7, fcr=0.8, asa=10.0,
                      abandonment=0.05, occupancy=0.8, engagement=0.7, attrition=0.0,
                      partner_on_time=0.9, revenue=10.0, cost=5.0, nps_population=5.0,
                      intervention_cost=0.0, prospects=10, lost=5)
    sc = cxsim.default_scenario()
    s = summarise(df, sc, 102)
    assert s["churned"] == 13 and s["active"] == 95 and s["market"] == 110
    assert s["churn_rate"] == pytest.approx(13 / (102 + 100 + 98 + 97 + 99 + 96))
    assert s["nps"] == pytest.approx((50 + 100 + 300 - 100) / 50)  # the last 30 days
    assert summarise(df.iloc[:0], sc, 102) == {"ticks": 0}


@pytest.mark.parametrize("name, value, precise, signed, text", [
    ("active", 12345.4, True, False, "12,345"),
    ("churned", -0.3, True, True, "-0.3"),
    ("churned", -12.0, True, True, "-12"),
    ("monthly_churn", 0.0128, True, False, "1.280%"),
    ("monthly_churn", 0.0128, False, False, "1.28%"),
    ("churn_rate", 0.0004, True, True, "+0.0400%"),
    ("nps", 15.84, True, False, "+15.84"),
    ("nps", 15.84, False, False, "+15.8"),
    ("csat", 4.0912, True, False, "4.091"),
    ("csat", 4.0912, False, False, "4.09"),
    ("asa", 23.44, True, False, "23.4s"),
    ("profit", 1234567.8, False, True, "+1,234,568"),
    ("csat", None, False, False, "n/a"),
    ("undeclared", 1.23456, False, False, "1.235"),
])
def test_formats(name, value, precise, signed, text):
    assert V.format_value(name, value, precise=precise, signed=signed) == text


def test_titles_and_units():
    assert V.metric("churned").summary_title() == "Churned customers (total)"
    assert V.metric("churned").tick_unit() == "customers per tick"
    assert V.metric("active").summary_title() == "Active customers at the end"
    assert V.metric("nps").summary_title() == "Net Promoter Score (last 30 days)"
    assert V.metric("service_level").difference_unit() == "percentage points"
    assert V.metric("nps").difference_unit() == "NPS points"
    assert V.label("not_declared") == "not_declared"
    with pytest.raises(KeyError, match="unknown metric"):
        V.metric("happiness")


# --------------------------------------------------------------------------------------------
# the metrics of the model's parts
# --------------------------------------------------------------------------------------------


def test_part_declarations_match_the_part_tables(small_run):
    _, model = small_run
    tables = {"segment": model.segment_metrics, "touchpoint": model.touchpoint_metrics,
              "team": model.queue_metrics}
    assert set(V.PART_METRICS) == set(V.PART_KINDS) == set(tables)
    for kind, metrics in V.PART_METRICS.items():
        columns = set(tables[kind].columns)
        assert kind in columns
        for name, m in metrics.items():
            assert m.name == name and "_" not in m.label and m.description, (kind, name)
            agg = m.aggregation
            if agg.rule == "derived":
                assert agg.source in metrics
                continue
            computed = V.PART_COMPUTED.get((kind, name))
            assert (agg.rule == "ratio" or name in columns
                    or computed and set(computed) <= columns), (kind, name)
            for col in (agg.weight, agg.numerator, agg.measured):
                assert col is None or col in columns, (kind, name, col)
            assert agg.denominator in (None, "active_start") or agg.denominator in columns
            # a name the main table also has aggregates the same way
            main = V.BY_NAME.get(name)
            if main is not None and kind == "segment":
                assert main.aggregation == agg and main.fmt == m.fmt, name
            if main is not None:
                assert main.aggregation.rule == agg.rule, (kind, name)
    # every numeric column of the queues table is declared
    numeric = {c for c in tables["team"].columns
               if c != "tick" and pd.api.types.is_numeric_dtype(tables["team"][c])}
    assert numeric - {"traffic"} <= set(V.PART_METRICS["team"])
    assert V.part_metric("team", "asa").aggregation.describe() == (
        "mean over the ticks where offered > 0")
    with pytest.raises(KeyError, match="unknown segment metric"):
        V.part_metric("segment", "volume")
    with pytest.raises(ValueError, match="measured"):
        V.Aggregation("sum", measured="offered")


def toy_segments():
    """Two segments over four ticks; a starts with 100 customers, b with 50."""
    return pd.DataFrame({
        "tick": [1, 1, 2, 2, 3, 3, 4, 4],
        "segment": ["a", "b"] * 4,
        "active": [98, 50, 97, 49, 99, 47, 96, 47],
        "new": [0, 0, 1, 0, 3, 0, 0, 1],
        "churned": [2, 0, 2, 1, 1, 2, 3, 1],
        "retention": [0.98, 1.0, 0.96, 0.98, 0.95, 0.94, 0.92, 0.92],
    })


def test_aggregate_part_segments_by_hand():
    from cxsim.metrics import aggregate_part

    df = toy_segments()
    assert aggregate_part(df, "segment", "a", "churned") == 8
    assert aggregate_part(df, "segment", "b", "new", 2, 4) == 1
    assert aggregate_part(df, "segment", "a", "active", 1, 3) == 99  # final
    assert aggregate_part(df, "segment", "b", "retention") == 0.92
    # churn rate: churned / the segment's active at the start of each tick
    assert aggregate_part(df, "segment", "a", "churn_rate", 2, 4) == pytest.approx(
        (2 + 1 + 3) / (98 + 97 + 99))
    assert aggregate_part(df, "segment", "b", "churn_rate", initial=50) == pytest.approx(
        (0 + 1 + 2 + 1) / (50 + 50 + 49 + 47))
    rate = (2 + 2) / (100 + 98)
    assert aggregate_part(df, "segment", "a", "monthly_churn", 1, 2,
                          initial=100) == pytest.approx(1 - (1 - rate) ** (365 / 12))
    with pytest.raises(ValueError, match="initial"):
        aggregate_part(df, "segment", "a", "churn_rate", 1, 2)
    # weekly ticks: days 8-14 are tick 2
    assert aggregate_part(df, "segment", "a", "churned", 8, 14, tick_days=7) == 2
    assert math.isnan(aggregate_part(df, "segment", "a", "churned", 40, 50))
    with pytest.raises(KeyError, match="no segment 'c'"):
        aggregate_part(df, "segment", "c", "churned")
    with pytest.raises(KeyError, match="unknown segment metric"):
        aggregate_part(df, "segment", "a", "csat")


def test_aggregate_part_touchpoints_and_teams_by_hand():
    from cxsim.metrics import aggregate_part

    tp = pd.DataFrame({
        "tick": [1, 2, 3], "touchpoint": ["phone"] * 3,
        "volume": [10, 0, 30], "experience": [0.5, np.nan, 0.9],
        "queued": [4, 0, 6], "mean_wait": [2.0, 0.0, 7.0],
    })
    assert aggregate_part(tp, "touchpoint", "phone", "volume") == 40
    assert aggregate_part(tp, "touchpoint", "phone", "experience") == pytest.approx(
        (0.5 * 10 + 0.9 * 30) / 40)
    assert aggregate_part(tp, "touchpoint", "phone", "mean_wait") == pytest.approx(
        (2 * 4 + 7 * 6) / 10)
    assert math.isnan(aggregate_part(tp, "touchpoint", "phone", "experience", 2, 2))
    team = pd.DataFrame({
        "tick": [1, 2, 3, 4], "team": ["cc"] * 4,
        "offered": [10.0, 0.0, 20.0, 30.0], "service_level": [0.8, 0.1, 0.6, 0.7],
        "arrivals": [10.0, 0.0, 20.0, 25.0], "abandoned": [1.0, 0.0, 4.0, 5.0],
        "agents": [2.0, 2.0, 3.0, 3.0], "backlog": [0.0, 0.0, 1.0, 2.0],
    })
    # measured only where offered > 0 (tick 2 has no contacts)
    assert aggregate_part(team, "team", "cc", "service_level") == pytest.approx(
        (0.8 + 0.6 + 0.7) / 3)
    assert aggregate_part(team, "team", "cc", "offered") == 60
    assert aggregate_part(team, "team", "cc", "agents") == pytest.approx(2.5)
    assert aggregate_part(team, "team", "cc", "backlog", 1, 3) == 1.0
    # abandonment: the mean of each tick's abandoned / arrivals, as the main table's
    assert aggregate_part(team, "team", "cc", "abandonment") == pytest.approx(
        (0.1 + 0.2 + 0.2) / 3)
