"""The interactive workshop app: a Mesa SolaraViz page for a cxsim scenario.

``cxsim viz [SCENARIO] [--port P]`` serves it on localhost (the ``viz`` extra); it is also
``solara run cxsim.viz`` with the scenario file in the environment variable
``CXSIM_VIZ_SCENARIO`` (default: the built-in retailer).  Facilitators move sliders for the
scenario's key levers — the first team's head count, the quality of the touchpoint it
answers first, the first partner's reliability, the market size, a strategy, any other value
by path — press **Reset** to build the model, and **Step** or **Play** to watch KPIs, their
plots and the touchpoint network (coloured by recent experience) respond.

How SolaraViz uses this module (Mesa 3.3 and 3.5 alike):

* ``model_params`` entries that are ``Slider``s or ``{"type": ...}`` dicts become inputs;
  moving one only updates SolaraViz's pending parameters, and **Reset** rebuilds the model as
  ``type(model)(**params)`` (keyword arguments only).  So :class:`WorkshopModel` takes plain
  keyword values and has neither a ``scenario`` parameter nor ``**kwargs``: Mesa 3.5 would
  otherwise pass its own ``Scenario`` object as ``scenario=``.
* Components receive the current model and re-render after every step because they read
  ``mesa.visualization.utils.update_counter``.
* An invalid setting never raises (SolaraViz does not catch errors on Reset): the model is
  then an empty placeholder that does not step, and the page lists the problems.
"""

from __future__ import annotations

import math
import os
import warnings

import networkx as nx
import numpy as np
import pandas as pd
import solara
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure  # figures without pyplot: no backend, no global state
from mesa import Model

import cxsim
from cxsim import footprint
from cxsim.params import ParamError, check_param, get_value, parse_param
from cxsim.runner import build_scenario
from cxsim.scenario import STAGES, ScenarioError, default_scenario, load_scenario
from cxsim.vocabulary import BY_NAME, CONTRACT_COLUMNS

# Mesa 3.3's ComponentsView calls a hook after an early return; Solara's hook check warns
# about it when mesa.visualization is imported
warnings.filterwarnings("ignore", message=r"(?s).*ComponentsView: `use_state` found despite",
                        category=UserWarning)
from mesa.visualization import Slider, SolaraViz  # noqa: E402
from mesa.visualization.utils import update_counter  # noqa: E402

#: environment variable naming the scenario file (set by ``cxsim viz SCENARIO``)
SCENARIO_ENV = "CXSIM_VIZ_SCENARIO"

#: colour scale of the network's mean experience: touchpoints mostly score 0.7-0.95, so a
#: 0-1 scale would paint them all the same green
EXPERIENCE_RANGE = (0.5, 1.0)

#: the lever keywords of WorkshopModel, in slider order
LEVER_KEYS = ("headcount", "quality", "reliability")

#: KPIs shown as text (and as data-testid/data-value attributes for tests); their labels
#: and formats come from the metric vocabulary
KPIS = ("active", "nps", "service_level", "csat", "churned", "profit")

#: the metrics plotted against day
PLOTTED = ("active", "nps", "service_level")

#: What one participant's model may use (the app may be served to a room, every browser tab
#: a session on one machine).  Raise them with the environment variables of the same name.
SESSION_LIMITS = {
    "CXSIM_VIZ_MAX_CUSTOMERS": 500_000,  # market size
    "CXSIM_VIZ_MAX_TICKS": 3_650,  # ten years of days
    "CXSIM_VIZ_MAX_STAFF": 5_000,  # employees in all, hires included
    "CXSIM_VIZ_MAX_MIB": 1_024,  # predicted memory of the run beyond the app's own
}


def session_limits() -> dict[str, int]:
    """:data:`SESSION_LIMITS`, each overridden by its environment variable if set."""
    out = {}
    for name, default in SESSION_LIMITS.items():
        try:
            out[name] = int(os.environ.get(name, default))
        except ValueError:
            out[name] = default
    return out


def session_problems(scenario) -> list[str]:
    """Why a scenario is too big for one session of the app (empty when it fits)."""
    lim = session_limits()
    staff = sum(t.headcount for t in scenario.teams.values()) + max(
        (sum(max(iv.amount, 0.0) for iv in st.interventions if iv.type == "hire")
         for st in scenario.strategies.values()), default=0.0)
    mib = (footprint.estimate_bytes(scenario) - footprint.BASE) / 2**20  # the app's own aside
    checks = [("market size", scenario.market.size, "CXSIM_VIZ_MAX_CUSTOMERS"),
              ("ticks", scenario.simulation.ticks, "CXSIM_VIZ_MAX_TICKS"),
              ("employees", staff, "CXSIM_VIZ_MAX_STAFF"),
              ("memory (MiB)", mib, "CXSIM_VIZ_MAX_MIB")]
    return [f"{what} {value:,.0f} is more than this app allows one participant "
            f"({lim[env]:,}; {env} raises it)" for what, value, env in checks
            if value > lim[env]]


def _load_base():
    """The base scenario (file from the environment, or the default) and its load problems."""
    path = os.environ.get(SCENARIO_ENV)
    try:
        return (load_scenario(path) if path else default_scenario()), []
    except ScenarioError as exc:
        return default_scenario(), [f"{path}: {p}" if not p.startswith(str(path)) else p
                                    for p in exc.problems]


BASE, BASE_PROBLEMS = _load_base()
BASE_DATA = BASE.to_dict()


def scenario_levers(sc) -> dict[str, tuple[str, str]]:
    """The scenario's slider levers: keyword -> (scenario path, label).

    The first team's head count, the quality of the first touchpoint that team answers, and
    the first partner's reliability — whichever the scenario has.
    """
    out = {}
    if sc.teams:
        team, spec = next(iter(sc.teams.items()))
        out["headcount"] = (f"teams.{team}.headcount", f"{_words(team)} head count")
        if spec.touchpoints:
            tp = spec.touchpoints[0]
            out["quality"] = (f"touchpoints.{tp}.quality", f"{_words(tp)} quality")
    if sc.partners:
        partner = next(iter(sc.partners))
        out["reliability"] = (f"partners.{partner}.reliability",
                              f"{_words(partner)} reliability")
    return out


def _words(name: str) -> str:
    return name.replace("_", " ")


LEVERS = scenario_levers(BASE)


class WorkshopModel(cxsim.CXModel):
    """A :class:`cxsim.CXModel` built from plain slider values (what SolaraViz passes).

    An invalid combination never raises: the model is then an empty placeholder with
    ``problems`` (one line each) that does not step, and the page shows the problems.
    """

    def __init__(self, headcount: int | None = None, quality: float | None = None,
                 reliability: float | None = None, customers: int | None = None,
                 strategy: str = "baseline", extra: str = "", rng: int | str = 0):
        # None keeps the scenario's value (SolaraViz always passes every model_params key)
        levers = {"headcount": headcount, "quality": quality, "reliability": reliability}
        point = {LEVERS[k][0]: v for k, v in levers.items() if v is not None and k in LEVERS}
        customers = int(BASE.market.size if customers is None else customers)
        problems = list(BASE_PROBLEMS)
        try:
            seed = int(str(rng).strip())
            if seed < 0:
                raise ValueError
        except ValueError:
            problems.append(f"seed must be a whole number of at least 0, got {rng!r}")
            seed = 0
        self.params = {**{k: get_value(BASE_DATA, path) for k, (path, _label) in LEVERS.items()},
                       **{k: v for k, v in levers.items() if v is not None and k in LEVERS},
                       "customers": customers, "strategy": strategy, "extra": extra,
                       "rng": seed}
        if strategy not in ("baseline", *BASE.strategies):
            problems.append(f"unknown strategy {strategy!r} (the scenario has "
                            f"{', '.join(BASE.strategies) or 'none'})")
        scenario = None
        try:
            point.update(_parse_extra(extra))
            if not problems:
                scenario = build_scenario(BASE_DATA, point, customers=customers)
                problems.extend(session_problems(scenario))
                if problems:
                    scenario = None
        except ScenarioError as exc:
            problems.extend(exc.problems)
        except ParamError as exc:
            problems.append(str(exc))
        self.problems = problems
        if scenario is None:
            # a placeholder: a plain mesa.Model (steps, running, rng) and empty results
            Model.__init__(self, rng=seed)
            self.spec = None
            self.time_tick = 0
            self.running = False
            return
        super().__init__(scenario, rng=seed,
                         strategy=None if strategy in (None, "", "baseline") else strategy)

    @property
    def metrics(self) -> pd.DataFrame:
        """The per-tick metrics so far; an empty table (the contract columns) when invalid."""
        if self.problems:
            return pd.DataFrame(columns=list(CONTRACT_COLUMNS))
        return super().metrics

    def step(self) -> None:
        """One tick; stops (``running = False``) at the scenario's horizon."""
        if self.problems:
            self.running = False
            return
        super().step()
        if self.time_tick >= self.spec.simulation.ticks:
            self.running = False


def _parse_extra(text: str) -> dict:
    """``PATH=VALUE; PATH=VALUE`` (as ``cxsim run --set``) -> overrides; ParamError if bad."""
    out = {}
    for item in filter(None, (s.strip() for s in (text or "").replace("\n", ";").split(";"))):
        param = check_param(parse_param(item), BASE_DATA, list(BASE.strategies))
        if param.path == "strategy" or param.varies:
            raise ParamError(f"{item}: give one value of a scenario field")
        out[param.path] = param.values[0]
    return out


# ------------------------------------------------------------------------------------------
# components (each receives the current model; update_counter makes them re-render per step)
# ------------------------------------------------------------------------------------------
def _value_span(key: str, value: float, text: str):
    raw = "nan" if value is None or not math.isfinite(value) else repr(float(value))
    return solara.v.Html(tag="span", children=[text],
                         attributes={"data-testid": f"kpi-{key}", "data-value": raw})


@solara.component
def KpiPanel(model):
    """Latest KPI values as text; the scenario's problems instead when it is invalid."""
    update_counter.get()
    if model.problems:
        with solara.Column(classes=["cx-problems"]) as main:
            solara.Error("The scenario is invalid. Change the settings and press Reset.",
                         attributes={"data-testid": "problems-title"})
            for p in model.problems:
                solara.Error(p, icon=False, dense=True, attributes={"data-testid": "problem"})
        return main
    df = model.metrics
    last = df.iloc[-1] if len(df) else None
    with solara.Column() as main:
        with solara.Row():
            solara.v.Html(tag="b", children=["Day "])
            _value_span("tick", float(model.time_tick), str(model.time_tick))
        for key in KPIS:
            m = BY_NAME[key]
            value = None if last is None else float(last[key])
            with solara.Row():
                solara.Text(f"{m.tick_title()}: ")
                _value_span(key, value, "–" if value is None else m.format(value))
        p = model.params
        parts = []
        for key, (path, label) in LEVERS.items():
            value = p[key]
            if key == "headcount":
                team = path.split(".")[1]
                fte = model.spec.teams[team].fte
                parts.append(f"{label} {value} (scenario units; each {fte:.3g} of a full-time "
                             f"employee at {p['customers']:,} customers)")
            else:
                parts.append(f"{label} {value:.3f}")
        parts += [f"strategy {p['strategy']}", f"seed {p['rng']}"]
        if p["extra"]:
            parts.append(f"set: {p['extra']}")
        solara.v.Html(tag="div", style_="font-size: 80%; color: #666",
                      children=[", ".join(parts)], attributes={"data-testid": "model-params"})
    return main


@solara.component
def KpiPlots(model):
    """Line plots of customers, NPS and service level over the ticks so far."""
    update_counter.get()
    fig = Figure(figsize=(6, 5.5), layout="constrained")
    axes = fig.subplots(3, 1, sharex=True)
    df = model.metrics if not model.problems else None
    for ax, col in zip(axes, PLOTTED, strict=True):
        m = BY_NAME[col]
        if df is not None and len(df):
            ax.plot(df["tick"], df[col] * m.scale, color="C0")
        ax.set_ylabel(m.short)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("day")
    solara.FigureMatplotlib(fig, format="png", dpi=80)


@solara.component
def TouchpointNetwork(model):
    """The touchpoint graph by journey stage, coloured by mean experience over the last 7 days.

    Grey: no visits in that window.  Reads the per-tick accumulators of the model's recorder
    (``model.recorder.tp_rows``) rather than ``model.touchpoint_metrics``, which rebuilds a
    table of every tick.
    """
    update_counter.get()
    fig = Figure(figsize=(7, 5), layout="constrained")
    ax = fig.subplots()
    ax.set_axis_off()
    if model.problems:
        ax.text(0.5, 0.5, "no model", ha="center", va="center")
        solara.FigureMatplotlib(fig, format="png", dpi=80)
        return
    g = model.touchpoint_space.G
    pos = getattr(model, "_viz_pos", None)
    if pos is None:  # stages top to bottom, computed once per model
        order = {s: i for i, s in enumerate(STAGES)}
        layers = nx.Graph()
        layers.add_nodes_from((j, {"layer": -order[d["stage"]]}) for j, d in g.nodes(data=True))
        pos = model._viz_pos = nx.multipartite_layout(layers, subset_key="layer",
                                                      align="horizontal")
    rows = model.recorder.tp_rows[-7:]
    names = model.touchpoint_names
    exp = np.full(len(names), np.nan)
    if rows:
        from cxsim import kernels as K

        tot = np.sum(rows, axis=0)
        visits = tot[:, K.TPA_VISITS]
        hit = visits > 0
        exp[hit] = tot[hit, K.TPA_PERF_SUM] / visits[hit]
    seen = [j for j in g.nodes if np.isfinite(exp[j])]
    unseen = [j for j in g.nodes if not np.isfinite(exp[j])]
    nx.draw_networkx_edges(g, pos, ax=ax, alpha=0.3, arrows=True, arrowsize=8,
                           node_size=380)
    nx.draw_networkx_nodes(g, pos, nodelist=unseen, ax=ax, node_color="lightgrey",
                           node_size=380)
    if seen:
        nx.draw_networkx_nodes(g, pos, nodelist=seen, ax=ax, node_color=[exp[j] for j in seen],
                               cmap="RdYlGn", vmin=EXPERIENCE_RANGE[0],
                               vmax=EXPERIENCE_RANGE[1], node_size=380)
    below = {j: (x, y - 0.09) for j, (x, y) in pos.items()}
    nx.draw_networkx_labels(g, below, ax=ax, labels={j: names[j] for j in g.nodes},
                            font_size=8, verticalalignment="top")
    scale = ScalarMappable(norm=Normalize(*EXPERIENCE_RANGE), cmap="RdYlGn")
    fig.colorbar(scale, ax=ax, shrink=0.7, label="mean experience (last 7 days)")
    solara.FigureMatplotlib(fig, format="png", dpi=80)


# ------------------------------------------------------------------------------------------
# the page
# ------------------------------------------------------------------------------------------
def _slider(label, path, lo, hi, step, dtype):
    value = get_value(BASE_DATA, path)
    hi = max(hi, dtype(value))  # a big team keeps its head count within reach
    return Slider(label, value=dtype(value), min=lo, max=hi, step=step, dtype=dtype)


MARKET = int(BASE.market.size)

_RANGES = {"headcount": (1, 60, 1, int), "quality": (0.3, 1.0, 0.005, float),
           "reliability": (0.5, 1.0, 0.005, float)}

model_params = {
    **{key: _slider(label[0].upper() + label[1:], path, *_RANGES[key])
       for key, (path, label) in LEVERS.items()},
    "customers": Slider("Market size (customers)", value=MARKET,
                        min=max(1000, MARKET // 10), max=MARKET * 2,
                        step=max(1000, MARKET // 20), dtype=int),
    "strategy": {"type": "Select", "value": "baseline", "label": "Strategy",
                 "values": ["baseline", *BASE.strategies]},
    "extra": {"type": "InputText", "value": "",
              "label": "More settings: PATH=VALUE; ... (press Enter, then Reset)"},
    "rng": {"type": "InputText", "value": "0", "label": "Seed"},
}


def initial_params() -> dict:
    """The model_params' start values (what SolaraViz passes on the first Reset)."""
    return {k: (v.value if isinstance(v, Slider) else v["value"] if isinstance(v, dict)
                else v) for k, v in model_params.items()}


def _make_model() -> WorkshopModel:
    return WorkshopModel(**initial_params())


@solara.component
def Page():
    """One model per browser session (a module-level model would be shared by all tabs)."""
    model = solara.use_memo(_make_model, [])
    return SolaraViz(model, components=[KpiPanel, KpiPlots, TouchpointNetwork],
                     model_params=model_params, name=f"cxsim: {BASE.name}",
                     play_interval=150)
