"""Measure a scenario's stationary state in a long run and (optionally) write it into its file.

A shipped scenario starts in its stationary state (docs/validation.md, "Steady state"):

- **workforce**: each team starts in the stationary state of its stated numbers
  (``cxsim.workforce.stationary_learning``); its mean skill stays at the stated ``skill``
  when its staff handle the contacts per person per day the numbers imply.  This script
  measures the contacts per person a team actually handles (per head of the file's own head
  count, days 91 to the end) and sets ``new_hire_skill`` to the value that makes the stated
  skill stationary at that load: ``s0 = 1 - (1 - skill) (quit + contacts / L) / quit``
  (``quit`` per day, ``L = workforce.learning_contacts``).
- **customers**: each segment's ``initial_satisfaction`` and ``initial_expectation`` are set
  to the mean of its active customers in the run's second half (snapshots every 30 days), the
  level they adapt to.  New customers start there too: a prospect expects what the market
  delivers (assumption).  Two passes settle the fixed point (new customers' start moves it a
  little).
- **market**: the file's ``initial_customers`` is its design; the market is stationary there
  when the day's joins (new and won back) balance its churn, ``a / (a + h) = share`` with
  ``a`` the joins per non-customer and ``h`` the churn per customer per day (second half of
  the run).  Marketing's ``p`` is the free quantity: it is set so that ``a`` reaches
  ``h share / (1 - share)``, keeping the measured referral and win-back parts of ``a``
  (``a - p / 365``).  The initial customers' tenure is the base's stationary one
  (``market.initial_tenure = "stationary"``, :func:`cxsim.tables.stationary_tenure`).

    python experiments/bench/steady_calibration.py telco               # measure, print
    python experiments/bench/steady_calibration.py telco --write       # and edit the file
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np

import cxsim
from cxsim import kernels as K
from cxsim.model import CXModel
from cxsim.runner import resize
from cxsim.workforce import quit_rate

ROOT = Path(__file__).resolve().parents[2]


def measure(name: str, customers: int = 20_000, days: int = 1095, seed: int = 11) -> dict:
    """Per team contacts per person per day; per segment mean satisfaction and expectation."""
    full = cxsim.load_scenario(ROOT / "scenarios" / f"{name}.toml")
    sc = resize(full, customers=customers, days=days, sample=True)
    f = customers / full.market.size
    m = CXModel(sc, rng=seed)
    snaps = {s: [] for s in m.segment_names}
    for t in range(1, days + 1):
        m.step()
        if t > days // 2 and t % 30 == 0:
            cu = m.market.customers
            act = cu.status == K.CUSTOMER
            for s, sn in enumerate(m.segment_names):
                sel = act & (cu.segment == s)
                snaps[sn].append((float(cu.satisfaction[sel].mean()),
                                  float(cu.expectation[sel].mean())))
    met = m.metrics
    late = met[met.tick > days // 2]
    non = (late["prospects"] + late["lost"]).to_numpy()
    a = float((late["new"] + late["won_back"]).sum() / non.sum())
    h = float(late["churned"].sum() / late["active"].sum())
    share = a / (a + h)
    s0 = full.market.initial_customers / full.market.size
    a_target = h * s0 / (1.0 - s0)
    p_new = 365.0 * (a_target - (a - full.market.p / 365.0))
    q = m.queue_metrics
    q = q[q.tick > min(90, days // 2)]
    teams = {}
    for tn, team in full.teams.items():
        d = q[q.team == tn]
        # contacts per head of the file's head count at its own market size
        per_head = float(d["served"].mean()) / (team.headcount * f)
        teams[tn] = per_head
    segs = {sn: tuple(np.mean(v, axis=0)) for sn, v in snaps.items()}
    return {"teams": teams, "segments": segs, "scenario": full, "share": share,
            "p": p_new}


def new_hire_skill(team, wf, contacts: float) -> float:
    """The new-hire skill that makes ``team.skill`` stationary at ``contacts`` per day."""
    quit = quit_rate(team, wf) / 365.0
    return 1.0 - (1.0 - team.skill) * (quit + contacts / wf.learning_contacts) / quit


def _set_in_block(text: str, header: str, key: str, value: str, after: str) -> str:
    """Set ``key = value`` inside ``[header]`` (keeping a trailing comment), or insert it."""
    start = text.index(f"[{header}]")
    nxt = re.search(r"(?m)^\[", text[start + 1:])
    end = start + 1 + nxt.start() if nxt else len(text)
    block = text[start:end]
    pat = re.compile(rf"(?m)^{key}\s*=\s*(\"[a-z]+\"|[-0-9.e_]+)")
    if pat.search(block):
        block = pat.sub(f"{key} = {value}", block, count=1)
    else:
        pos = re.search(rf"(?m)^{after}\s*=.*$", block)
        block = block[:pos.end()] + f"\n{key} = {value}" + block[pos.end():]
    return text[:start] + block + text[end:]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenarios", nargs="+")
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--days", type=int, default=1095)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--json", action="store_true",
                    help="print the measurements as one JSON benchmark record instead")
    a = ap.parse_args()
    if a.json:
        from _common import record

        out = {}
        for name in a.scenarios:
            r = measure(name, a.customers, a.days, a.seed)
            out[name] = {"teams": r["teams"], "segments": r["segments"],
                         "share": r["share"], "p": r["p"]}
        record("steady_calibration", {"customers": a.customers, "days": a.days,
                                      "measured": out}, save=False)
        return
    for name in a.scenarios:
        r = measure(name, a.customers, a.days, a.seed)
        sc = r["scenario"]
        path = ROOT / "scenarios" / f"{name}.toml"
        text = path.read_text(encoding="utf-8")
        for tn, c in r["teams"].items():
            team = sc.teams[tn]
            s0 = new_hire_skill(team, sc.workforce, c)
            print(f"{name} team {tn}: {c:.2f} contacts/person/day; skill {team.skill} is "
                  f"stationary with new_hire_skill {s0:.3f} (now {team.new_hire_skill})")
            if a.write and 0.0 <= s0 <= team.skill:
                text = _set_in_block(text, f"teams.{tn}", "new_hire_skill", f"{s0:.3f}",
                                     "skill")
        for sn, (sat, exp_) in r["segments"].items():
            seg = sc.segments[sn]
            print(f"{name} segment {sn}: satisfaction {sat:.3f} (now "
                  f"{seg.initial_satisfaction}), expectation {exp_:.3f} (now "
                  f"{seg.initial_expectation})")
            if a.write:
                text = _set_in_block(text, f"segments.{sn}", "initial_satisfaction",
                                     f"{sat:.3f}", "share")
                text = _set_in_block(text, f"segments.{sn}", "initial_expectation",
                                     f"{exp_:.3f}", "share")
        share, p_new = r["share"], r["p"]
        print(f"{name} market: stationary share of customers {share:.3f} (designed "
              f"{sc.market.initial_customers / sc.market.size:.3f}); p {p_new:.4f} "
              f"(now {sc.market.p})")
        if a.write:
            if 0.0 <= p_new <= 1.0:
                text = _set_in_block(text, "market", "p", f"{p_new:.4f}", "q")
            if sc.market.initial_tenure != "stationary":
                text = _set_in_block(text, "market", "initial_tenure", '"stationary"',
                                     "initial_customers")
            path.write_text(text, encoding="utf-8")
            cxsim.load_scenario(path)  # still valid


if __name__ == "__main__":
    main()
