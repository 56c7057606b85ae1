"""The reduced customer model shared by the three implementations (definition: model.md).

Its parameters (:class:`Params`, read from the cxsim scenario ``reduced.toml`` so that the
three compute one model), the social network the peers build (the same random graph as
cxsim's), cxsim's run of it, the outputs, and the statistical check that two
implementations give the same outputs.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

SCENARIO = Path(__file__).resolve().parent / "reduced.toml"
#: the outputs after T ticks (model.md, "Outputs")
OUTPUTS = ("satisfaction", "expectation", "detractors", "churned")


@dataclasses.dataclass(frozen=True)
class Params:
    """The reduced model's parameters (symbols of model.md), per tick."""

    customers: int
    mean_degree: float
    rewiring: float
    need_mean: float  #: mu, expected episodes a tick
    quality: float  #: q (quality - effort_weight x effort)
    variability: float  #: sigma_q
    resolution: float  #: r
    unresolved: float  #: u
    loss_aversion: float  #: lambda
    value_exponent: float  #: alpha
    peak_weight: float  #: w_p
    end_weight: float  #: w_e
    memory_weight: float  #: w = 1 - 2**(-1/h)
    adaptation: float  #: a
    wom_strength: float  #: omega
    churn_logit: float  #: c, log-odds of the churn hazard a tick at the reference satisfaction
    sat_effect: float  #: beta_S
    sat_reference: float  #: S_ref
    initial_satisfaction: float  #: s_0
    initial_expectation: float  #: e_0
    initial_spread: float  #: sigma_0
    style_sd: float  #: sigma_b

    @property
    def mean_weight(self) -> float:
        """Weight of the mean moment in the peak-end rule."""
        return 1.0 - self.peak_weight - self.end_weight

    @classmethod
    def from_scenario(cls, sc) -> Params:
        """The parameters of a cxsim scenario in the reduced configuration (else ValueError)."""
        from cxsim.scenario import MONTH_DAYS

        bad = problems(sc)
        if bad:
            raise ValueError("not the reduced model: " + "; ".join(bad))
        b = sc.behaviour
        dt = sc.simulation.tick_days
        (seg,) = sc.segments.values()
        (tp,) = sc.touchpoints.values()
        p_tick = 1.0 - (1.0 - seg.base_churn) ** (dt / MONTH_DAYS)
        return cls(
            customers=sc.market.size, mean_degree=sc.market.mean_degree,
            rewiring=sc.market.rewiring, need_mean=sum(seg.need_rates.values()) * dt,
            quality=tp.quality - b.effort_weight * tp.effort, variability=tp.variability,
            resolution=tp.resolution, unresolved=b.unresolved_performance,
            loss_aversion=b.loss_aversion, value_exponent=b.value_exponent,
            peak_weight=b.peak_weight, end_weight=b.end_weight,
            memory_weight=1.0 - 2.0 ** (-1.0 / b.memory_half_life),
            adaptation=b.expectation_adaptation, wom_strength=b.wom_strength,
            churn_logit=math.log(p_tick / (1.0 - p_tick)), sat_effect=b.satisfaction_effect,
            sat_reference=b.satisfaction_reference,
            initial_satisfaction=seg.initial_satisfaction,
            initial_expectation=seg.initial_expectation, initial_spread=b.initial_spread,
            style_sd=b.nps_sd)


def problems(sc) -> list[str]:
    """What makes cxsim compute more than the reduced model with this scenario (empty: none)."""
    m, b = sc.market, sc.behaviour
    out = []

    def need(ok: bool, what: str) -> None:
        if not ok:
            out.append(what)

    need(len(sc.segments) == 1, "one segment")
    need(len(sc.touchpoints) == 1 and len(sc.needs) == 1, "one touchpoint and one need")
    need(not sc.pathways and not sc.teams and not sc.partners and not sc.systems,
         "no pathways, teams, partners or IT systems")
    need(not sc.strategies, "no strategies")
    need(m.network == "small_world", "a small-world network")
    need(m.initial_customers == m.size, "every agent a customer at tick 0")
    need(m.p == 0 and m.q == 0 and m.win_back == 0, "no acquisition (p = q = win_back = 0)")
    need(b.contagion == 1.0, "no churn contagion (behaviour.contagion = 1)")
    need(b.tenure_effect == 0.0, "no tenure effect")
    need(b.max_steps == 1 or not sc.pathways, "episodes of one touchpoint")
    for seg in sc.segments.values():
        need(seg.churn_concentration == 0, "one churn propensity (churn_concentration = 0)")
        need(seg.contract_months == 0, "no contracts")
        need(seg.switching_cost == b.switching_cost_reference,
             "switching_cost at behaviour.switching_cost_reference")
    for tp in sc.touchpoints.values():
        need(tp.enabled, "the touchpoint enabled")
    need(sc.survey.nps_sample_rate * sc.simulation.tick_days == 1.0,
         "every customer in the NPS census each tick (nps_sample_rate x tick_days = 1)")
    return out


def load(customers: int | None = None, ticks: int | None = None):
    """The reduced scenario (``reduced.toml``), resized to ``customers`` and ``ticks``."""
    import cxsim
    from cxsim.runner import resize

    sc = cxsim.load_scenario(SCENARIO)
    return resize(sc, customers=customers,
                  days=None if ticks is None else ticks * sc.simulation.tick_days)


# ---------------------------------------------------------------------------------------------
# the social network, built as cxsim builds it (cxsim.network.small_world), in NumPy
# ---------------------------------------------------------------------------------------------


def small_world(n: int, mean_degree: float, rewiring: float, rng: np.random.Generator
                ) -> tuple[np.ndarray, np.ndarray]:
    """Watts-Strogatz network as CSR ``(indptr, indices)``: the random graph cxsim builds.

    A ring where each agent links to its ``k = round(mean_degree / 2)`` next neighbours; each
    link's far end is moved to a uniform random agent with probability ``rewiring``; links
    to oneself are dropped, duplicates kept; every link is listed at both ends.
    """
    k = max(1, int(round(mean_degree / 2)))
    k = min(k, (n - 1) // 2) if n > 2 else 1
    src = np.repeat(np.arange(n, dtype=np.int64), k)
    dst = (src + np.tile(np.arange(1, k + 1, dtype=np.int64), n)) % n
    rewire = rng.random(src.shape[0]) < rewiring
    dst[rewire] = rng.integers(0, n, size=int(rewire.sum()), dtype=np.int64)
    keep = src != dst
    rows = np.concatenate([src[keep], dst[keep]])
    cols = np.concatenate([dst[keep], src[keep]])
    order = np.argsort(rows, kind="stable")
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return indptr, cols[order]


def first_talks(satisfaction: np.ndarray, style: np.ndarray, need_mean: float,
                u: np.ndarray) -> np.ndarray:
    """Talks of the word of mouth under way at tick 0 (``u``: a uniform per customer)."""
    whole = math.floor(need_mean)
    talks = whole + (u < need_mean - whole)
    return np.where(is_detractor(satisfaction, style), talks, 0)


def is_detractor(satisfaction, style):
    """Whether the latent 0-10 score ``10 S + b``, rounded half up, is 0-6."""
    return 10.0 * satisfaction + style + 0.5 < 7.0


# ---------------------------------------------------------------------------------------------
# cxsim
# ---------------------------------------------------------------------------------------------


def cxsim_model(scenario, seed: int):
    """A cxsim model of the reduced scenario (checked to be the reduced model)."""
    import cxsim

    Params.from_scenario(scenario)  # raises unless the scenario is the reduced model
    return cxsim.CXModel(scenario, rng=seed)


def cxsim_outputs(model) -> dict[str, float]:
    """The outputs of a cxsim run (model.md, "Outputs")."""
    from cxsim.kernels import CUSTOMER

    df = model.metrics
    last = df.iloc[-1]
    cu = model.arrays
    active = cu.status == CUSTOMER
    return {"satisfaction": float(last["satisfaction"]),
            "expectation": float(cu.expectation[active].astype(float).mean()),
            "detractors": float(last["detractors"] / last["active"]),
            "churned": float(df["churned"].sum() / model.n)}


def run_cxsim(scenario, seed: int, ticks: int) -> dict[str, float]:
    """Run cxsim's kernel on the reduced scenario; its outputs."""
    return cxsim_outputs(cxsim_model(scenario, seed).run(ticks))


# ---------------------------------------------------------------------------------------------
# the same model? replicate means within k standard errors
# ---------------------------------------------------------------------------------------------


def spread(runs: list[dict[str, float]]) -> dict[str, tuple[float, float]]:
    """Each output's mean over replicate runs and the standard error of that mean."""
    out = {}
    for name in OUTPUTS:
        x = np.array([r[name] for r in runs], dtype=float)
        out[name] = (float(x.mean()), float(x.std(ddof=1) / math.sqrt(len(x))))
    return out


def differences(a: list[dict[str, float]], b: list[dict[str, float]], k: float
                ) -> dict[str, dict[str, float]]:
    """Welch-style comparison of two implementations' replicate runs, output by output.

    ``z = (mean_a - mean_b) / sqrt(se_a**2 + se_b**2)``; an output agrees when ``|z| <= k``.
    """
    sa, sb = spread(a), spread(b)
    out = {}
    for name in OUTPUTS:
        (ma, ea), (mb, eb) = sa[name], sb[name]
        se = math.hypot(ea, eb)
        z = (ma - mb) / se if se > 0 else (0.0 if ma == mb else math.inf)
        out[name] = {"a": ma, "b": mb, "se": se, "z": z, "agrees": abs(z) <= k}
    return out
