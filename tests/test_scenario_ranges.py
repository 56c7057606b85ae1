"""Every shipped scenario inside the ranges its own comments cite.

Each scenario file cites benchmarks next to its numbers (churn, satisfaction against ACSI,
NPS, contact-centre conventions).  :data:`RANGES` writes those cited ranges down as data, each
with the source the file gives; :func:`measure` runs a scenario for two years over several
seeds at a reduced market size (a sample of the file's market: queues are solved at its full
size, ``resize(sample=True)``), and the slow test asserts that every figure's mean across
seeds lies inside its range.  ``experiments/bench/scenario_ranges.py`` prints the same table.

Figures (``measure``): ``churn`` the monthly churn of the base over both years and ``churn_y2``
over the second year (rates, not per cent); ``satisfaction`` the mean satisfaction of the
active customers (0-1, compared with ACSI's 0-100 divided by 100); ``nps`` pooled over the two
years; ``abandonment`` and ``service_level`` of the staffed queues; ``on_time`` the partners'
on-time share; ``churn:<segment>`` a segment's monthly churn.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent

#: how the ranges are measured: two years, four seeds, a market of 20,000
DAYS, SEEDS, CUSTOMERS = 730, (1, 2, 3, 4), 20_000

#: scenario -> figure -> (low, high, source as cited in the scenario file)
RANGES: dict[str, dict[str, tuple[float, float, str]]] = {
    "retail": {
        "churn": (0.015, 0.025, "retail loyalty-member lapse rates, 1.5-2.5 % a month"),
        "churn_y2": (0.015, 0.025, "same, in the second year"),
        "nps": (10.0, 45.0, "retail/e-commerce NPS benchmarks, +10..+45"),
        "satisfaction": (0.75, 0.81, "ACSI retail average ~78 (within 3 points)"),
        "service_level": (0.70, 0.95, "near the 80/20 service-level convention"),
        "on_time": (0.93, 0.97, "parcel carriers report 93-97 % on time"),
    },
    "telco": {
        "churn": (0.012, 0.018, "blended postpaid/broadband/prepaid, 1.2-1.8 % a month"),
        "churn_y2": (0.012, 0.018, "same, in the second year"),
        "nps": (-1.0, 25.0, "NICE Satmetrix 2018 US: ISPs -1, telecoms +24"),
        "satisfaction": (0.68, 0.76, "ACSI 2024: ISPs 71 (non-fibre 68), wireless 76"),
        "abandonment": (0.02, 0.08, "telecom care abandonment of a few per cent"),
        "service_level": (0.80, 0.95, "the 80/20 convention: at least 80 % in 20 s"),
        # contract pattern of the IBM Telco Customer Churn sample (see telco.toml): monthly
        # hazards in the ratio 15 : 4 : 1 (month-to-month : one year : two years)
        "ratio:prepaid/postpaid": (15.2 * 0.7, 15.2 * 1.3,
                                   "IBM Telco churn 42.7 % / 2.8 %, +-30 %"),
        "ratio:broadband/postpaid": (4.0 * 0.7, 4.0 * 1.3,
                                     "IBM Telco churn 11.3 % / 2.8 %, +-30 %"),
    },
    "bank": {
        "churn": (0.007, 0.010, "J.D. Power 2012 switching, ~0.7-1.0 % a month"),
        "churn_y2": (0.007, 0.010, "same, in the second year"),
        "nps": (20.0, 40.0, "retail-bank NPS panels, +20..+40 (assumed target)"),
        "satisfaction": (0.77, 0.82, "ACSI banks 2024: 80 (super-regional 77, regional 82)"),
        "service_level": (0.80, 1.0, "the 80/20 convention: at least 80 % in 20 s"),
    },
    "hotel": {
        "churn": (0.035, 0.045, "blended guest lapse ~3.5-4.5 % a month (assumption)"),
        "churn_y2": (0.035, 0.045, "same, in the second year"),
        "nps": (15.0, 40.0, "hotel NPS panels, +15..+40 (assumed target)"),
        "satisfaction": (0.76, 0.80, "ACSI lodging 2023-2025: 76-77, upscale chains ~80"),
        "service_level": (0.80, 1.0, "central reservations: at least 80 % in 20 s (80/20)"),
    },
    "coffee": {
        "churn": (0.03, 0.05, "app-user lapse ~3-5 % a month (assumption)"),
        "churn_y2": (0.03, 0.05, "same, in the second year"),
        "nps": (15.0, 40.0, "quick-service NPS panels, +15..+40 (assumed target)"),
        "satisfaction": (0.77, 0.81, "ACSI 2024: fast food 79, Starbucks 80 (within 2 points)"),
    },
}


def _monthly(churned: float, exposed: float) -> float:
    """Monthly churn from customers churned over customer-days exposed (daily ticks)."""
    daily = churned / exposed if exposed > 0 else math.nan
    return 1.0 - (1.0 - daily) ** (365.0 / 12.0)


def measure(name: str, seed: int, customers: int = CUSTOMERS, days: int = DAYS) -> dict:
    """One run's headline figures (see the module docstring)."""
    import cxsim
    from cxsim.metrics import aggregate
    from cxsim.runner import resize

    sc = resize(cxsim.load_scenario(ROOT / "scenarios" / f"{name}.toml"), customers=customers,
                days=days, sample=True)
    assert sc.simulation.tick_days == 1.0
    r = cxsim.run(sc, seed)
    m = r.metrics
    init = sc.market.initial_customers
    start = np.concatenate([[init], m["active"].to_numpy()[:-1]])
    year2 = m["tick"].to_numpy() > 365
    out = {
        "churn": _monthly(m["churned"].sum(), start.sum()),
        "churn_y2": _monthly(m["churned"][year2].sum(), start[year2].sum()),
        "nps": aggregate(m, "nps"),
        "satisfaction": float(m["satisfaction"].mean()),
        "csat": aggregate(m, "csat"),
        "fcr": aggregate(m, "fcr"),
        "abandonment": aggregate(m, "abandonment"),
        "service_level": aggregate(m, "service_level"),
        "on_time": aggregate(m, "partner_on_time"),
    }
    seg = r.segments
    for s, g in seg.groupby("segment", sort=False):
        g = g.sort_values("tick")
        active = g["active"].to_numpy()
        exposed = active[:-1].sum()
        out[f"churn:{s}"] = _monthly(g["churned"].to_numpy()[1:].sum(), exposed)
    for key in list(out):
        if key.startswith("churn:"):
            for other in list(out):
                if other.startswith("churn:") and other != key:
                    a, b = key.split(":", 1)[1], other.split(":", 1)[1]
                    out[f"ratio:{a}/{b}"] = out[key] / out[other]
    return out


def table(name: str, seeds=SEEDS, customers: int = CUSTOMERS, days: int = DAYS) -> list[dict]:
    """Each cited figure of ``name``: mean and spread across seeds against its range."""
    runs = [measure(name, s, customers, days) for s in seeds]
    rows = []
    for fig, (lo, hi, source) in RANGES[name].items():
        vals = np.array([r[fig] for r in runs], dtype=float)
        mean = float(np.nanmean(vals))
        rows.append({"scenario": name, "figure": fig, "mean": mean,
                     "sd": float(np.nanstd(vals, ddof=1)) if len(vals) > 1 else 0.0,
                     "low": lo, "high": hi, "ok": lo <= mean <= hi, "source": source})
    return rows


def test_ranges_are_data_with_sources():
    names = {p.stem for p in (ROOT / "scenarios").glob("*.toml")}
    assert set(RANGES) == names
    for name, figs in RANGES.items():
        assert {"churn", "nps", "satisfaction"} <= set(figs), name
        for fig, (lo, hi, source) in figs.items():
            assert lo < hi and source, (name, fig)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RANGES))
def test_every_shipped_scenario_inside_its_cited_ranges(name):
    rows = table(name)
    bad = [f"{r['figure']} = {r['mean']:.4g} (sd {r['sd']:.2g}) outside "
           f"[{r['low']:.4g}, {r['high']:.4g}]: {r['source']}" for r in rows if not r["ok"]]
    assert not bad, f"{name}: " + "; ".join(bad)
