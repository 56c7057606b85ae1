"""Acting on the voice of the customer: does a feedback loop beat a fixed improvement plan?

Workshop question: a CX team has a monthly budget for touchpoint fixes.  Should it let the
survey decide — every month read each touchpoint's sampled rating and fix the worst-rated
(the ``voice_of_customer`` programme) — or commit the same money to a plan fixed in advance:
the touchpoint a manager would guess (the help centre, whose rebuild the retailer already
considers), or every touchpoint in turn?  All three buy the same fixes at the same cost and
time (two fixes of ``--amount`` a month, the k-th fix of a touchpoint ``amount x
returns^(k-1)``, acting 30 days after they are bought); only the choice of touchpoints
differs.  The loop's last review is held so that its fixes act within the run; the plans
buy as many fixes.

    python experiments/voice_of_customer.py                     # 50k customers, 1 year, 6 reps
    python experiments/voice_of_customer.py --customers 3000 --days 100 --reps 2
    python experiments/voice_of_customer.py --rank-by impact    # rank by dissatisfied contacts

Writes ``OUT/voice_of_customer.png`` (left: the loop minus each plan, paired by replicate,
with 95 % intervals; right: which touchpoints the loop fixed when, in replicate 0) and the
comparison tables; prints the differences.
"""

from __future__ import annotations

import dataclasses
import sys

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter, MaxNLocator

import cxsim
from cxsim import plots
from cxsim.compare import mean_interval, write_comparison
from cxsim.rng import replicate_seeds
from cxsim.runner import resize
from cxsim.scenario import Intervention, Strategy
from cxsim.vocabulary import display_label, pretty_name

from _workshop import parser, save, scenario

CADENCE, DELAY = 30, 30  # days: a monthly review; fixes act a month later (the defaults)
FIXES, COST = 2, 25_000.0  # fixes a review and the cost of one (the defaults, full market)
GUESS = "help_centre"  # the manager's guess: the retailer's own self_service strategy
METRICS = ("monthly_churn", "nps", "satisfaction", "profit")
SEED = 17


def plan(touchpoints: list[str], ticks: list[int], amount: float, returns: float
         ) -> list[Intervention]:
    """A fixed plan: at each tick ``FIXES`` fixes, the i-th of the plan on ``touchpoints[i %
    len]``, each ``amount x returns^(k-1)`` for the k-th fix of its touchpoint (as the loop's),
    bought ``DELAY`` days before it acts (cost booked when it acts: the same total)."""
    count: dict[str, int] = {}
    out = []
    i = 0
    for t in ticks:
        for _ in range(FIXES):
            name = touchpoints[i % len(touchpoints)]
            i += 1
            k = count.get(name, 0)
            count[name] = k + 1
            out.append(Intervention(type="improve_touchpoint", target=name, start=t,
                                    cost=COST, amount=amount * returns ** k))
    return out


def merged(ivs: list[Intervention]) -> list[Intervention]:
    """The same plan with one intervention per touchpoint and tick (fewer, same effect)."""
    by: dict[tuple[str, int], Intervention] = {}
    for iv in ivs:
        key = (iv.target, iv.start)
        if key in by:
            old = by[key]
            iv = dataclasses.replace(old, cost=old.cost + iv.cost, amount=old.amount + iv.amount)
        by[key] = iv
    return list(by.values())


@plots.styled
def figure(diffs: dict, decisions, names: list[str], title: str, reps: int, days: float,
           tick_days: float, rank_by: str = "rating"):
    """Top: loop minus each alternative per metric (95 % interval); bottom: the loop's fixes."""
    fig = plt.figure(figsize=(15, 10), layout="constrained")
    grid = fig.add_gridspec(2, len(METRICS), height_ratios=[1, 1.35])
    plans = list(diffs)
    for i, metric in enumerate(METRICS):
        ax = fig.add_subplot(grid[0, i])
        scale = 100.0 if metric == "monthly_churn" else 1.0
        for y, name in enumerate(plans):
            m, lo, hi, _, _ = mean_interval(diffs[name][metric])
            ax.errorbar([m * scale], [y], xerr=[[(m - lo) * scale], [(hi - m) * scale]],
                        fmt="o", capsize=4, color=f"C{y}")
        ax.axvline(0, color="0.4", lw=1)
        ax.set_yticks(range(len(plans)))
        ax.set_yticklabels([f"loop - {n}" for n in plans] if i == 0 else [])
        ax.set_ylim(-0.6, len(plans) - 0.4)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        if metric == "profit":
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.tick_params(labelsize=10)
        unit = " (% points)" if metric == "monthly_churn" else ""
        ax.set_title(f"{display_label(metric)}{unit}", fontsize=12)
    ax = fig.add_subplot(grid[1, :])
    rows = {n: i for i, n in enumerate(names)}
    if len(decisions):
        size = 500 * decisions["uplift"] / decisions["uplift"].max() + 25
        y = [rows[n] for n in decisions["touchpoint"]]
        ax.scatter(decisions["tick"] * tick_days, y, s=size, color="C3", alpha=0.7,
                   label="fix bought (area: its uplift; label: the rating read)")
        ax.scatter(decisions["effective_tick"] * tick_days, y, marker="|", s=200,
                   color="0.25", label="it takes effect")
        for d in decisions.itertuples():
            ax.annotate(f"{d.rating:.2f}", (d.tick * tick_days, rows[d.touchpoint]),
                        fontsize=9, xytext=(0, 11), textcoords="offset points", ha="center")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, fontsize=10,
                  frameon=False)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels([pretty_name(n) for n in names], fontsize=10)
    ax.set_ylim(-0.7, len(names) - 0.3)
    ax.set_xlim(0, days)
    ax.set_xlabel("day")
    ax.set_title(f"which touchpoints the loop fixed, and when (replicate 0; ranked by "
                 f"{rank_by})", fontsize=12)
    fig.suptitle(f"{title}: the loop against fixed plans of the same cost and against no "
                 f"programme\n(paired differences over {reps} replications, 95 % intervals)",
                 fontsize=14, fontweight="bold")
    return fig


def main() -> int:
    p = parser(__doc__, 50_000, 365, 6, "results/voice_of_customer")
    p.add_argument("--amount", type=float, default=0.05, help="size of a first fix (0.05)")
    p.add_argument("--returns", type=float, default=0.5,
                   help="each further fix of a touchpoint as a share of the previous (0.5)")
    p.add_argument("--rank-by", choices=("rating", "impact"), default="rating",
                   help="how the loop ranks touchpoints: lowest rating (default) or most "
                        "dissatisfied contacts, (1 - rating) x volume")
    a = p.parse_args()
    if a.reps < 2:
        p.error("--reps: at least 2 paired replications")
    sc = scenario(a.scenario)
    ticks = round(a.days / sc.simulation.tick_days)
    if ticks <= CADENCE + DELAY:
        p.error(f"--days: more than {CADENCE + DELAY} days, or no fix acts")
    live = [n for n, t in sc.touchpoints.items() if t.enabled]
    if GUESS not in live:
        p.error(f"the scenario has no touchpoint '{GUESS}' (the manager's guess)")
    loop = Intervention(type="voice_of_customer", amount=a.amount, returns=a.returns,
                        cadence=CADENCE, delay=DELAY, budget=FIXES * COST, cost_per_fix=COST,
                        end=ticks - DELAY, rank_by=a.rank_by)
    acts = [t + DELAY for t in range(1 + CADENCE, ticks - DELAY + 1, CADENCE)]
    plans = {"loop": Strategy(description="voice_of_customer: fix the worst-rated",
                              interventions=[loop]),
             "manager's guess": Strategy(
                 description=f"the same fixes, all on {GUESS}",
                 interventions=merged(plan([GUESS], acts, a.amount, a.returns))),
             "every touchpoint": Strategy(
                 description="the same fixes, every touchpoint in turn",
                 interventions=merged(plan(live, acts, a.amount, a.returns)))}
    sc = dataclasses.replace(sc, strategies=plans)
    result = cxsim.compare(sc, None, replications=a.reps, seed=SEED, workers=a.workers,
                           customers=a.customers, ticks=ticks, progress=sys.stderr.isatty())
    write_comparison(result, a.out)
    runs = result.runs.set_index(["strategy", "replicate"])
    diffs = {f"{name}": {m: (runs.loc["loop", m] - runs.loc[name, m]).to_numpy(dtype=float)
                         for m in METRICS} for name in ("manager's guess", "every touchpoint")}
    diffs["no programme"] = {m: (runs.loc["loop", m] - runs.loc["baseline", m]).to_numpy(
        dtype=float) for m in METRICS}
    # replicate 0 of the loop again, for its decisions
    small = resize(sc, customers=a.customers, days=a.days)
    one = cxsim.run(small, replicate_seeds(SEED, a.reps)[0], strategy="loop")
    fig = figure(diffs, one.voice, live, f"{sc.name}: acting on the voice of the customer",
                 a.reps, a.days, sc.simulation.tick_days, a.rank_by)
    save(fig, a.out, "voice_of_customer.png")
    print(f"loop minus each alternative (mean [95 % interval], {a.reps} paired replications):")
    for name, d in diffs.items():
        cells = []
        for m in METRICS:
            scale = 100.0 if m == "monthly_churn" else 1.0
            mean, lo, hi, _, _ = mean_interval(d[m])
            cells.append(f"{display_label(m)} {mean * scale:+.4g} [{lo * scale:+.4g}, "
                         f"{hi * scale:+.4g}]")
        print(f"  vs {name:<17} " + "; ".join(cells))
    costs = runs["intervention_cost"].groupby("strategy").mean()
    print("intervention cost: " + ", ".join(f"{k} {v:,.0f}" for k, v in costs.items()))
    fixed = one.voice.groupby("touchpoint").size().sort_values(ascending=False)
    print("the loop's fixes (replicate 0): " + ", ".join(f"{k} {v}" for k, v in fixed.items()))
    print("first reviews: " + "; ".join(
        f"day {t}: " + ", ".join(f"{r.touchpoint} ({r.rating:.3f})" for r in g.itertuples())
        for t, g in list(one.voice.groupby("tick"))[:4]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
