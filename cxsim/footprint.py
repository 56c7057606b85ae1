"""How much memory a run needs, predicted from its scenario before anything is allocated.

The estimate adds what a run keeps (bytes, measured with ``tracemalloc`` on the default
scenario and rounded up):

* a fixed part: the interpreter with numpy, pandas, Mesa and numba, including compiling
  the kernels on a first run (:data:`BASE`; about 260 MiB warm, 400 MiB while compiling);
* per agent of the market: 45 bytes of state, about 48 more while the market is set up,
  and the social network, ``12 x mean_degree + 8`` (each contact stored twice as an int32,
  plus the row pointers, and the edge list while it is built); the mesa engine adds a Mesa
  agent per customer (:data:`CUSTOMER_AGENT`);
* per chunk of 2048 agents: the kernel's accumulators, ``8 x (28 + T (9 + T) + 4 S)``;
* per employee (head counts plus a strategy's hires): a Mesa agent (:data:`EMPLOYEE`);
* per tick: the recorded rows (:data:`TICK_ROW` for the metrics, ``72 T + 32 S`` for the
  touchpoint and segment counts, :data:`TEAM_ROW` per team, :data:`PARTNER_ROW` per
  partner), and the result tables built from them at the end (:data:`TABLE_ROW` per
  touchpoint, segment, team and partner row).

``T`` is the number of touchpoints, ``S`` of segments.  :func:`check` refuses a run whose
estimate exceeds the memory the operating system reports as available, before building
anything; ``tests/test_footprint.py`` compares the estimate with measured peaks.
"""

from __future__ import annotations

import math
import os

from .scenario import Scenario, ScenarioError

BASE = 400 * 2**20
STATE = 45 + 48
CUSTOMER_AGENT = 600
EMPLOYEE = 800
TICK_ROW = 6_000
TEAM_ROW = 1_500
PARTNER_ROW = 700
TABLE_ROW = 1_000
CHUNK = 2048


def estimate_bytes(scenario: Scenario, engine: str = "numba") -> int:
    """Bytes a run of ``scenario`` needs at its peak (see the module docstring)."""
    sc = scenario
    n = sc.market.size
    n_tp, n_seg = len(sc.touchpoints), len(sc.segments)
    n_team, n_partner = len(sc.teams), len(sc.partners)
    ticks = sc.simulation.ticks
    network = 0.0 if sc.market.network == "full" else n * (12.0 * sc.market.mean_degree + 8)
    agents = n * (STATE + (CUSTOMER_AGENT if engine == "mesa" else 0)) + network
    chunks = math.ceil(n / CHUNK) * 8 * (28 + n_tp * (9 + n_tp) + 4 * n_seg)
    hires = max((sum(max(iv.amount, 0.0) for iv in st.interventions if iv.type == "hire")
                 for st in sc.strategies.values()), default=0.0)
    staff = (sum(t.headcount for t in sc.teams.values()) + hires) * EMPLOYEE
    per_tick = (TICK_ROW + 72 * n_tp + 32 * n_seg + TEAM_ROW * n_team + PARTNER_ROW * n_partner
                + TABLE_ROW * (n_tp + n_seg + n_team + n_partner))
    return int(BASE + agents + chunks + staff + ticks * per_tick)


def available_bytes() -> int | None:
    """Memory the operating system can give now (``MemAvailable``), or ``None`` if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _gib(x: float) -> str:
    return f"{x / 2**30:.1f} GiB"


def check(scenario: Scenario, engine: str = "numba", available: int | None = None) -> int:
    """Refuse (:class:`ScenarioError`) a run that would not fit in memory; return its estimate.

    ``available`` defaults to :func:`available_bytes`; when that is unknown, nothing is
    refused.
    """
    need = estimate_bytes(scenario, engine)
    have = available_bytes() if available is None else available
    if have is not None and need > have:
        sc = scenario
        raise ScenarioError([
            f"this run needs about {_gib(need)} of memory, more than the {_gib(have)} "
            f"available ({sc.market.size:,} agents, {sc.simulation.ticks:,} ticks, "
            f"{len(sc.touchpoints)} touchpoints): use fewer customers, days or touchpoints"])
    return need
