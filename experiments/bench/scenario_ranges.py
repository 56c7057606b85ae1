"""Each shipped scenario's headline figures against the ranges its own comments cite.

The ranges, their sources and the measurement live in ``tests/test_scenario_ranges.py``
(two years, four seeds, a market of 20,000 by default); this prints them as a table.

    python experiments/bench/scenario_ranges.py                  # every scenario
    python experiments/bench/scenario_ranges.py telco --seeds 1,2 --customers 10000
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))

from test_scenario_ranges import CUSTOMERS, DAYS, RANGES, SEEDS, table  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenarios", nargs="*", default=sorted(RANGES))
    ap.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    ap.add_argument("--customers", type=int, default=CUSTOMERS)
    ap.add_argument("--days", type=int, default=DAYS)
    ap.add_argument("--json", action="store_true",
                    help="print the table as one JSON benchmark record instead")
    a = ap.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    if a.json:
        from _common import record

        rows = [r for name in a.scenarios for r in table(name, seeds, a.customers, a.days)]
        record("scenario_ranges", {"customers": a.customers, "days": a.days, "seeds": seeds,
                                   "rows": rows}, save=False)
        return
    print(f"{a.days} days, seeds {seeds}, {a.customers} customers")
    print("| scenario | figure | mean | sd | cited range | inside | source |")
    print("|---|---|---|---|---|---|---|")
    for name in a.scenarios:
        for r in table(name, seeds, a.customers, a.days):
            print(f"| {r['scenario']} | {r['figure']} | {r['mean']:.4g} | {r['sd']:.2g} | "
                  f"{r['low']:.4g}-{r['high']:.4g} | {'yes' if r['ok'] else 'NO'} | "
                  f"{r['source']} |", flush=True)


if __name__ == "__main__":
    main()
