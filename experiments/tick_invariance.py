"""Does the tick length change results?  The figures of the tick-invariance work.

Runs small scenarios with ``tick_days`` 1, 7 and 30 (and 365 for Bass) and prints:

* Bass acquisition, fully mixed, no churn (p = 0.03, q = 1.5 a year): F(2 years) with
  monthly ticks and F(4 years) with yearly ticks against the closed form;
* monthly churn of a closed cohort (3 % a month) at each tick length;
* the extra churn over a year caused by contagion 1.8 (half-life 14 days) against
  contagion 1, paired seeds, fully mixed and on a small-world network;
* episodes per customer-month with needs at 0.2 a day.

    python experiments/tick_invariance.py [--reps R] [--customers N] [--months M]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from conftest import bass_curve, bass_scenario, cohort_scenario  # noqa: E402

import cxsim  # noqa: E402

YEAR = 365.0
MONTH = YEAR / 12


def bass(p, q, tick_days, years, n, reps):
    ticks = int(round(years * YEAR / tick_days))
    sc = bass_scenario(n, p, q, tick_days, ticks)
    out = []
    for seed in range(reps):
        m = cxsim.CXModel(sc, rng=seed).run().metrics
        out.append((m["active"].iloc[-1] + m["lost"].iloc[-1]) / n)
    return float(np.mean(out))


def cohort(tick_days, contagion, network, seed, months, n, need_rate=0.0):
    sc = cohort_scenario(tick_days, months, n, contagion=contagion, network=network,
                         need_rate=need_rate, memory=None,
                         satisfaction_effect=0.0 if need_rate == 0 else -6.0)
    model = cxsim.CXModel(sc, rng=seed).run()
    return model, model.metrics


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=6)
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--months", type=int, default=12)
    a = ap.parse_args()
    n, months = a.customers, a.months
    p, q = 0.03, 1.5
    print(f"Bass p={p} q={q}: F(2y) closed form {bass_curve(p, q, 2):.4f}, "
          f"monthly ticks {bass(p, q, MONTH, 2, n, a.reps):.4f}, "
          f"daily ticks {bass(p, q, 1.0, 2, n, a.reps):.4f}")
    print(f"Bass p={p} q={q}: F(4y) closed form {bass_curve(p, q, 4):.4f}, "
          f"yearly ticks {bass(p, q, YEAR, 4, n, a.reps):.4f}")
    for dt in (1.0, 7.0, MONTH):
        churn = []
        for seed in range(a.reps):
            _, m = cohort(dt, 1.0, "full", seed, months, n)
            churn.append(1 - (m["active"].iloc[-1] / n) ** (1 / months))
        print(f"tick_days {dt:6.2f}: monthly churn (no contagion) {np.mean(churn):.5f}"
              f" ± {np.std(churn, ddof=1) / math.sqrt(a.reps):.5f}")
    for network in ("full", "erdos_renyi", "small_world"):
        for dt in (1.0, 7.0, MONTH):
            extra = []
            for seed in range(a.reps):
                _, m0 = cohort(dt, 1.0, network, seed, months, n)
                _, m1 = cohort(dt, 1.8, network, seed, months, n)
                extra.append((m0["active"].iloc[-1] - m1["active"].iloc[-1]) / n)
            se = 100 * np.std(extra, ddof=1) / math.sqrt(a.reps)
            print(f"{network:12s} tick_days {dt:6.2f}: extra churn from contagion over "
                  f"{months} months "
                  f"{100 * np.mean(extra):+.2f} pp ± {se:.2f}")
    for dt in (1.0, 7.0, MONTH):
        model, m = cohort(dt, 1.0, "full", 0, 3, max(n // 4, 2), need_rate=0.2)
        # customer-months of those active at the start of each tick (who have the needs)
        at_start = m["active"] + m["churned"] - m["new"] - m["won_back"]
        needs = m["episodes"].sum() - m["failure_demand"].sum()
        per = needs / (at_start.sum() * dt / MONTH)
        print(f"tick_days {dt:6.2f}: needs (episodes less failure demand) per customer-month "
              f"{per:.3f} "
              f"(rate x month = {0.2 * MONTH:.3f}); satisfaction at 3 months "
              f"{m['satisfaction'].iloc[-1]:.4f}")


if __name__ == "__main__":
    main()
