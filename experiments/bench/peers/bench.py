"""Peers measured fairly: one reduced customer model in idiomatic Mesa, mesa-frames and cxsim.

The model (``model.md`` beside this file) is written three ways: plain ``mesa.Agent``
customers stepped by ``AgentSet.shuffle_do`` (``_mesa_peer.py``), a mesa-frames
``AgentSetPolars`` updated with Polars expressions (``_frames_peer.py``), and cxsim's
customer kernel configured to it by the scenario ``reduced.toml``.  The three give the same
outputs in distribution (``tests/test_bench_peers.py``).  For each market size this measures
customer-ticks per second of each, in the same run: market size x ticks / wall time of the
ticks (building the model, numba compilation and Polars' first calls excluded: each is
warmed up on a small market first), the best and the median of ``--repeats`` runs (the
three interleaved, so that a busy spell of a shared machine hits all of them), and the
ratios cxsim / Mesa and cxsim / mesa-frames (best against best).  The load average before
and after is recorded.  Where cxsim's time goes: its tick by phase (the customer kernel, the
social spread, the rest) and the cost of a customer-tick split into a base, the episodes
and word of mouth (the scenario run without episodes and without word of mouth).

mesa-frames is optional: ``pip install mesa-frames`` (MIT; 0.1.0a0, the release on PyPI,
pins numpy~=1.26, so install it beside cxsim without its pins, e.g. ``pip install
--no-deps --target DIR mesa-frames polars polars-runtime-32`` and add DIR to PYTHONPATH).
Without it the mesa-frames column says why it was skipped.

    python experiments/bench/peers/bench.py                  # 10^4 and 10^5 customers, 30 ticks
    python experiments/bench/peers/bench.py --customers 2000 --ticks 5 --repeats 1 --no-save
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # _common, one folder up

import _reduced as R  # noqa: E402
from _common import clock, count, counts, record, run_main  # noqa: E402
from _mesa_peer import ReducedMesa  # noqa: E402


def frames_or_reason():
    """The mesa-frames model class, or why it cannot be used here (a one-line reason)."""
    try:
        from _frames_peer import ReducedFrames
    except ImportError as exc:
        return None, f"not installed ({exc}); pip install mesa-frames"
    return ReducedFrames, None


def timed(build, ticks: int) -> float:
    """Seconds the ticks of a freshly built model take (building it is not timed)."""
    model = build()
    t0 = time.perf_counter()
    for _ in range(ticks):
        model.step()
    return time.perf_counter() - t0


def cxsim_phases(scenario, ticks: int) -> dict[str, float]:
    """Median milliseconds a cxsim tick spends in the customer kernel, the spread, the rest."""
    model = R.cxsim_model(scenario, 99)
    spent: dict[str, list[float]] = {"customers": [], "social": []}
    clock(model, "_phase_customers", spent["customers"])
    clock(model.social, "spread", spent["social"])
    whole = []
    for _ in range(ticks):
        t0 = time.perf_counter()
        model.step()
        whole.append(time.perf_counter() - t0)
    tick = statistics.median(whole)
    ms = {name: statistics.median(v) * 1e3 for name, v in spent.items()}
    ms["rest"] = tick * 1e3 - sum(ms.values())
    return {"tick_ms": round(tick * 1e3, 3), **{f"{k}_ms": round(v, 3) for k, v in ms.items()}}


def cxsim_costs(scenario, ticks: int, repeats: int) -> dict[str, float]:
    """What cxsim's customer-tick costs: nanoseconds without episodes, a tick's episodes.

    Runs the scenario as it is, without word of mouth (``wom_strength`` 0) and without
    episodes (need rate 0), the best of ``repeats`` each: the base cost of a customer-tick,
    the cost of one episode (without word of mouth) and what word of mouth adds to a
    customer-tick.
    """
    (name, seg), = scenario.segments.items()
    variants = {
        "full": scenario,
        "no_wom": dataclasses.replace(scenario, behaviour=dataclasses.replace(
            scenario.behaviour, wom_strength=0.0)),
        "no_episodes": dataclasses.replace(scenario, segments={name: dataclasses.replace(
            seg, need_rates=dict.fromkeys(seg.need_rates, 0.0))}),
    }
    ns, episodes = {}, {}
    for key, sc in variants.items():
        best = float("inf")
        for r in range(repeats):
            model = R.cxsim_model(sc, r)
            t0 = time.perf_counter()
            model.run(ticks)
            best = min(best, time.perf_counter() - t0)
        ns[key] = best * 1e9 / (sc.market.size * ticks)
        episodes[key] = float(model.metrics["episodes"].sum()) / (sc.market.size * ticks)
    return {"customer_tick_ns": round(ns["full"], 1),
            "without_episodes_ns": round(ns["no_episodes"], 1),
            "episodes_per_customer_tick": round(episodes["full"], 3),
            "episode_ns": round((ns["no_wom"] - ns["no_episodes"]) / episodes["no_wom"], 1),
            "word_of_mouth_ns": round(ns["full"] - ns["no_wom"], 1)}


def figures(seconds: list[float], customers: int, ticks: int) -> dict:
    """Customer-ticks per second: the best and the median run."""
    work = customers * ticks
    return {"ticks": ticks, "repeats": len(seconds),
            "customer_ticks_per_s": round(work / min(seconds)),
            "median_customer_ticks_per_s": round(work / statistics.median(seconds))}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=counts, default=[10_000, 100_000],
                   help="market sizes, comma-separated (default 10000,100000)")
    p.add_argument("--ticks", type=count, default=30, help="ticks of each timed run")
    p.add_argument("--mesa-ticks", type=count, default=None,
                   help="ticks of the Mesa runs (default: --ticks)")
    p.add_argument("--repeats", type=count, default=3, help="timed runs of each, per size")
    p.add_argument("--no-save", action="store_true", help="do not append to results.jsonl")
    a = p.parse_args()
    mesa_ticks = a.mesa_ticks or a.ticks
    # every size's scenario checked before anything is timed (a market too small for the
    # network's degree is refused here, in one line)
    scenarios = {n: R.load(customers=n, ticks=max(a.ticks, mesa_ticks)).validated()
                 for n in a.customers}
    frames, reason = frames_or_reason()
    # warm-up on a small market: numba compiles (or loads) cxsim's kernels, Polars starts
    small = R.load(customers=500, ticks=2)
    R.run_cxsim(small, 0, 2)
    timed(lambda: ReducedMesa(R.Params.from_scenario(small), rng=0), 2)
    if frames is not None:
        timed(lambda: frames(R.Params.from_scenario(small), seed=0), 2)
    sizes = []
    load = os.getloadavg()[0]
    for n in a.customers:
        scenario = scenarios[n]
        params = R.Params.from_scenario(scenario)
        runs = {"cxsim": (lambda r, sc=scenario: R.cxsim_model(sc, r), a.ticks),
                "mesa": (lambda r, pr=params: ReducedMesa(pr, rng=r), mesa_ticks)}
        if frames is not None:
            runs["mesa_frames"] = (lambda r, pr=params: frames(pr, seed=r), a.ticks)
        seconds: dict[str, list[float]] = {name: [] for name in runs}
        for r in range(a.repeats):  # interleaved, so that a busy spell hits all of them
            for name, (build, ticks) in runs.items():
                seconds[name].append(timed(lambda b=build, r=r: b(r), ticks))
        row: dict = {"customers": n}
        for name, (_, ticks) in runs.items():
            row[name] = figures(seconds[name], n, ticks)
        if frames is None:
            row["mesa_frames"] = {"skipped": reason}
        best = row["cxsim"]["customer_ticks_per_s"]
        row["cxsim_over_mesa"] = round(best / row["mesa"]["customer_ticks_per_s"], 1)
        row["cxsim_over_mesa_frames"] = (
            round(best / row["mesa_frames"]["customer_ticks_per_s"], 1)
            if frames is not None else None)
        row["cxsim_phases"] = cxsim_phases(scenario, a.ticks)
        row["cxsim_costs"] = cxsim_costs(scenario, a.ticks, a.repeats)
        sizes.append(row)
    record("peers", {"scenario": "experiments/bench/peers/reduced.toml",
                     "versions": versions(frames is not None),
                     "load_average": [round(load, 2), round(os.getloadavg()[0], 2)],
                     "sizes": sizes},
           save=not a.no_save)


def versions(frames: bool) -> dict:
    """Versions of the peers (Mesa's is in the machine facts) and Polars' thread pool."""
    out: dict = {}
    if frames:
        import mesa_frames
        import polars

        out = {"mesa_frames": mesa_frames.__version__, "polars": polars.__version__,
               "polars_threads": polars.thread_pool_size()}
    return out


if __name__ == "__main__":
    run_main(main)
