"""Shared test helpers: small scenarios built in Python."""

from __future__ import annotations

import contextlib
import copy
import io
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest

import cxsim
from cxsim.cli import main
from cxsim.runner import resize

matplotlib.use("Agg")

#: the browser the end-to-end tests drive (Debian's chromium and chromedriver; the
#: environment variables override them)
CHROMIUM = os.environ.get("CXSIM_CHROMIUM") or shutil.which("chromium") or shutil.which(
    "chromium-browser")
CHROMEDRIVER = os.environ.get("CXSIM_CHROMEDRIVER") or shutil.which("chromedriver")
#: ``pytestmark`` of a browser test module: it skips, saying why, without the browser
NEEDS_BROWSER = [
    pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed "
                       "(apt-get install -y chromium chromium-driver)"),
    pytest.mark.skipif(CHROMEDRIVER is None, reason="chromedriver not installed "
                       "(apt-get install -y chromium-driver)"),
]


def minimal_dict(**sections) -> dict:
    """A tiny valid scenario as plain data; keyword arguments update whole sections.

    One segment, a web and a phone touchpoint (phone staffed), one need with an escalation from
    web to phone, a courier delivering web orders.  ``market``/``simulation``/... dicts are
    merged into the defaults below.
    """
    base = {
        "name": "minimal",
        "simulation": {"ticks": 30, "tick_days": 1.0},
        "market": {"size": 2000, "initial_customers": 1000, "network": "small_world",
                   "mean_degree": 6, "p": 0.05, "q": 0.3},
        "segments": {"all": {"share": 1.0, "revenue_per_day": 1.0, "base_churn": 0.02,
                             "need_rates": {"buy": 0.05, "support": 0.02}}},
        "touchpoints": {
            "web": {"channel": "web", "stage": "purchase", "quality": 0.85, "effort": 0.1,
                    "resolution": 0.9},
            "phone": {"channel": "phone", "stage": "support", "quality": 0.8, "effort": 0.3,
                      "resolution": 0.85, "cost_per_contact": 4.0},
            "delivery": {"channel": "delivery", "stage": "purchase", "quality": 0.85,
                         "resolution": 1.0},
        },
        "pathways": [
            {"from": "web", "to": "phone"},
            {"from": "web", "to": "delivery", "kind": "handoff", "weight": 0.8,
             "needs": ["buy"]},
        ],
        "needs": {"buy": {"entry": ["web"]}, "support": {"entry": ["web", "phone"]}},
        "teams": {"cc": {"touchpoints": ["phone"], "headcount": 6, "handle_time": 6.0}},
        "partners": {"courier": {"touchpoints": ["delivery"], "reliability": 0.95}},
    }
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict) and key not in (
                "segments", "touchpoints", "needs", "teams", "partners", "systems",
                "strategies"):
            base[key] = {**base[key], **value}
        else:
            base[key] = copy.deepcopy(value)
    return base


def bass_curve(p: float, q: float, t):
    """Closed-form Bass adoption F(t) = (1 - e^{-(p+q)t}) / (1 + (q/p) e^{-(p+q)t})."""
    e = np.exp(-(p + q) * np.asarray(t, float))
    return (1.0 - e) / (1.0 + (q / p) * e)


def cohort_scenario(tick_days: float, months: float, n: int, *, contagion: float = 1.0,
                    network: str = "full", degree: float = 10, half_life: float = 14.0,
                    base_churn: float = 0.03, need_rate: float = 0.0,
                    memory: float | None = 3.0, satisfaction_effect: float = 0.0):
    """A closed market of ``n`` customers (no acquisition), churn only at its base rate
    unless ``satisfaction_effect`` or ``contagion`` say otherwise; months of 365/12 days;
    ``memory=None`` keeps the default memory half-life."""
    ticks = int(round(months * (365.0 / 12.0) / tick_days))
    needs = {"buy": need_rate} if need_rate > 0 else {}
    behaviour = {"contagion": contagion, "contagion_half_life": half_life,
                 "satisfaction_effect": satisfaction_effect, "tenure_effect": 0.0,
                 "wom_strength": 0.0}
    if memory is not None:
        behaviour["memory_half_life"] = memory
    return cxsim.Scenario.from_dict(minimal_dict(
        simulation={"ticks": ticks, "tick_days": tick_days},
        market={"size": n, "initial_customers": n, "network": network, "mean_degree": degree,
                "p": 0.0, "q": 0.0, "win_back": 0.0, "initial_tenure_months": 0.0},
        segments={"all": {"share": 1.0, "base_churn": base_churn, "need_rates": needs}},
        behaviour=behaviour))


def bass_scenario(n: int, p: float, q: float, tick_days: float, ticks: int,
                  network: str = "full", mean_degree: float = 6.0,
                  rewiring: float = 0.0):
    """Pure Bass diffusion: no initial customers, no churn, no needs, every customer refers."""
    import cxsim

    return cxsim.Scenario.from_dict(minimal_dict(
        simulation={"ticks": ticks, "tick_days": tick_days},
        market={"size": n, "initial_customers": 0, "network": network,
                "mean_degree": mean_degree, "rewiring": rewiring, "p": p, "q": q,
                "referral_from": "customers", "win_back": 0.0},
        segments={"all": {"share": 1.0, "base_churn": 0.0, "need_rates": {}}}))


def minimal_scenario(**sections) -> cxsim.Scenario:
    """:func:`minimal_dict` validated into a Scenario."""
    return cxsim.Scenario.from_dict(minimal_dict(**sections))


@pytest.fixture(scope="session")
def small_default() -> cxsim.Scenario:
    """The default scenario at 5,000 customers and 60 days."""
    return resize(cxsim.default_scenario(), customers=5000, days=60)


#: paired effects must clear this many standard errors of the mean paired difference
K_SE = 3.0


def mean_se(d) -> tuple[float, float]:
    """Mean and standard error of the mean of per-seed (paired) differences."""
    d = np.asarray(d, dtype=float)
    return float(d.mean()), float(d.std(ddof=1) / math.sqrt(len(d)))


def assert_up(d, what: str) -> None:
    """Assert paired differences ``d`` are positive by more than K_SE standard errors."""
    m, se = mean_se(d)
    assert m > 0 and m > K_SE * se, (
        f"{what}: paired mean difference {m:+.5g} ± {se:.3g} (SE, n={len(d)} seeds); "
        f"expected > {K_SE:g} SE above 0")


def assert_down(d, what: str) -> None:
    """Assert paired differences ``d`` are negative by more than K_SE standard errors."""
    m, se = mean_se(d)
    assert m < 0 and m < -K_SE * se, (
        f"{what}: paired mean difference {m:+.5g} ± {se:.3g} (SE, n={len(d)} seeds); "
        f"expected > {K_SE:g} SE below 0")


# --------------------------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------------------------


def call(argv: list[str]) -> tuple[int, str, str]:
    """Run ``cxsim argv`` in-process; return (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:  # --help / --version exit through argparse
            code = 0 if exc.code is None else exc.code
    return code, out.getvalue(), err.getvalue()


def copy_of(folder: Path, tmp_path: Path, name: str = "res") -> Path:
    """A copy of a results folder (links copied as links) for a test that changes it."""
    target = tmp_path / name
    shutil.copytree(folder, target, symlinks=True)
    return target


def subprocess_env() -> dict:
    env = dict(os.environ)
    env.pop("CXSIM_DEBUG", None)
    return env


def cli_subprocess(args: list[str], cwd: Path, script: bool = False
                   ) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "cxsim"
    cmd = [str(exe)] if script and exe.exists() else [sys.executable, "-m", "cxsim.cli"]
    return subprocess.run([*cmd, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=subprocess_env())


def snapshot(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file under ``folder``: bytes, modification time and mode."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            st = p.stat()
            out[p.relative_to(folder).as_posix()] = (p.read_bytes(), st.st_mtime_ns, st.st_mode)
    return out


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every matplotlib figure a test leaves open (pyplot keeps them alive)."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
