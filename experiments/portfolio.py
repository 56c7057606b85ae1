"""What should the retailer do with its budget, and when would fixing the courier not pay?

Two decisions a CX leader brings after "what if":

1. **A budget allocation across the retailer's six strategies** (each on or off) with two
   levers — how hard to train the contact centre and how much reliability the courier SLA
   buys — for incremental profit and NPS under a budget (``cxsim.optimise``).  The Pareto
   set is re-evaluated on fresh seeds, so the figures printed are not the search's lucky
   ones; ``portfolio/best.toml`` holds the chosen portfolio as strategy ``best``.
2. **When does fix_courier not pay?**  A sweep over the uncertainties that should matter
   (the courier's own reliability, the reliability the SLA really buys, what an occasional
   customer spends) × {baseline, fix_courier} with paired replicates, then scenario
   discovery on ``profit_diff < 0`` (PRIM boxes, CART rules, feature scores;
   ``cxsim.discover``).

    python experiments/portfolio.py                      # 20,000 people, one year
    python experiments/portfolio.py --customers 2000 --days 60 --trials 10 --reps 2 \
        --reeval-reps 2 --sweep-reps 1 --out /tmp/pf       # a small check (the tests run it)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cxsim
from cxsim.discover import DiscoveryError, discover, format_discovery, write_discovery
from cxsim.optimise import format_result, optimise, prepare
from cxsim.runner import resize

#: the two levers: training effect, and the reliability the courier SLA adds
LEVERS = ["strategies.train_contact_centre.interventions.0.amount=uniform(0.05,0.3)",
          "strategies.fix_courier.interventions.0.amount=uniform(0.01,0.05)"]

#: the uncertainties of the discovery sweep (grid values): how reliable the courier is
#: already, how much reliability the SLA really buys, and what an occasional customer spends
UNCERTAIN = {"partners.courier.reliability": "0.86,0.90,0.94,0.98",
             "strategies.fix_courier.interventions.0.amount": "0.01,0.025,0.04,0.055",
             "segments.occasional.revenue_per_day": "0.4,0.7,1.0"}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=int, default=20_000)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--trials", type=int, default=200)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--reeval-reps", type=int, default=10)
    p.add_argument("--budget", type=float, default=250_000.0,
                   help="at the scenario's scale (the retailer's 100,000-person market)")
    p.add_argument("--sweep-reps", type=int, default=3)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--out", default="portfolio-example")
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    retail = cxsim.default_scenario()

    # 1. the budget allocation
    settings = {"levers": LEVERS, "objectives": ["profit:max", "nps:max"],
                "budget": a.budget, "trials": a.trials, "reps": a.reps,
                "reeval_reps": a.reeval_reps, "customers": a.customers, "days": a.days}
    t0 = time.perf_counter()
    result = optimise(retail, workers=a.workers, out=out / "portfolio", plot=True,
                      progress=True, **settings)
    wall = time.perf_counter() - t0
    print(format_result(result, prepare(retail, **settings)))
    meta = result.provenance
    print(f"search: {meta['candidates']} candidates, {meta['runs']} runs in {wall:.0f} s")

    # 2. when fix_courier does not pay
    t0 = time.perf_counter()
    sc = resize(retail, customers=a.customers, days=a.days)
    sw = cxsim.sweep(sc, {**UNCERTAIN, "strategy": "baseline,fix_courier"},
                     replications=a.sweep_reps, seed=1, workers=a.workers,
                     out=out / "sweep", progress=True)
    try:
        found = discover(sw, "profit_diff < 0", seed=1)
    except DiscoveryError as exc:  # a small market or horizon: it may never (or always) pay
        print(f"discovery: {exc}")
        return
    names = write_discovery(found, out / "sweep")
    print(format_discovery(found))
    print(f"discovery: {len(sw.runs)} runs in {time.perf_counter() - t0:.0f} s; wrote "
          f"{out / 'sweep' / 'discovery'}: {', '.join(names)}")


if __name__ == "__main__":
    main()
