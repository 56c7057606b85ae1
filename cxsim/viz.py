"""The interactive workshop app: a Solara page for a cxsim scenario (``cxsim viz``).

``cxsim viz [SCENARIO] [--port P] [--host H] [--customers N]`` serves it (the ``viz`` extra);
it is also ``solara run cxsim.viz`` with the scenario file in the environment variable
``CXSIM_VIZ_SCENARIO`` (default: the built-in retailer).  Facilitators move sliders for the
scenario's key levers — the first team's head count, the quality of the touchpoint it
answers first, the first partner's reliability, the market size, a strategy, any other value
by path — press **Reset** to build the model, and **Step** or **Play** to watch KPIs, their
plots and the touchpoint network (coloured by recent experience) respond.

The page is built from Solara components rather than Mesa's ``SolaraViz``: SolaraViz (Mesa
3.3) always shows its own controls (play and render intervals, a threads switch, a theme
switch, "Page 0" tabs, a step counter), offers no way to leave them out, and enables Step
until a step has failed.  The settings keep Mesa's ``model_params`` format (``Slider``s and
``{"type": ...}`` inputs); **Reset** builds ``WorkshopModel(**settings)``, a
:class:`cxsim.CXModel` (a ``mesa.Model``).

An invalid setting never raises: the model is then an empty placeholder that does not step,
the page lists every problem at once, and Play and Step are disabled.
"""

from __future__ import annotations

import asyncio
import io
import math
import os
import threading
import time
import traceback
import warnings

import networkx as nx
import numpy as np
import pandas as pd
import solara
from matplotlib import colormaps
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

# importing mesa.visualization loads SolaraViz, whose ComponentsView (Mesa 3.3) calls a hook
# after an early return: Solara's hook check warns about it
warnings.filterwarnings("ignore", message=r"(?s).*ComponentsView: `use_state` found despite",
                        category=UserWarning)
from mesa.visualization import Slider  # noqa: E402

#: environment variable naming the scenario file (set by ``cxsim viz SCENARIO``)
SCENARIO_ENV = "CXSIM_VIZ_SCENARIO"
#: environment variable with the market size the page starts with (``cxsim viz --customers``)
CUSTOMERS_ENV = "CXSIM_VIZ_CUSTOMERS"

#: seconds between steps while playing (a step and its figures take longer on a big market)
PLAY_INTERVAL_S = 0.15

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


def session_limits_value(name: str, default: int) -> int:
    """The whole number in environment variable ``name`` (``default`` if unset or not one)."""
    try:
        return int(os.environ.get(name) or default)
    except ValueError:
        return default


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
    """A :class:`cxsim.CXModel` built from plain slider values (what the page passes).

    An invalid combination never raises: the model is then an empty placeholder with
    ``problems`` (one line each, every problem at once) that does not step, and the page shows
    the problems.
    """

    def __init__(self, headcount: int | None = None, quality: float | None = None,
                 reliability: float | None = None, customers: int | None = None,
                 strategy: str = "baseline", extra: str = "", rng: int | str = 0):
        # None keeps the scenario's value
        levers = {"headcount": headcount, "quality": quality, "reliability": reliability}
        point = {LEVERS[k][0]: v for k, v in levers.items() if v is not None and k in LEVERS}
        customers = int(START_CUSTOMERS if customers is None else customers)
        #: held while stepping and while the page reads the model (Play steps in a thread of
        #: its own while the page renders the last step)
        self.lock = threading.RLock()
        #: the settings as the page passed them (it compares them with its pending ones)
        self.settings = {"headcount": headcount, "quality": quality,
                         "reliability": reliability, "customers": customers,
                         "strategy": strategy, "extra": extra, "rng": rng}
        seed, problems = settings_problems(strategy, extra, rng, point)
        self.params = {**{k: get_value(BASE_DATA, path) for k, (path, _label) in LEVERS.items()},
                       **{k: v for k, v in levers.items() if v is not None and k in LEVERS},
                       "customers": customers, "strategy": strategy, "extra": extra,
                       "rng": seed}
        scenario = None
        if not BASE_PROBLEMS:  # else building repeats the file's problems
            try:  # with what is valid: its problems are listed with the others
                scenario = build_scenario(BASE_DATA, point, customers=customers)
                problems.extend(session_problems(scenario))
            except ScenarioError as exc:
                problems.extend(exc.problems)
        self.problems = list(dict.fromkeys(problems))  # each once, in order
        if self.problems:
            # a placeholder: a plain mesa.Model (running, rng) and empty results
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
        with self.lock:
            return super().metrics

    def step(self) -> None:
        """One tick; stops (``running = False``) at the scenario's horizon."""
        if self.problems:
            self.running = False
            return
        with self.lock:
            super().step()
            if self.time_tick >= self.spec.simulation.ticks:
                self.running = False


def settings_problems(strategy: str, extra: str, rng, point: dict) -> tuple[int, list[str]]:
    """Check the page's typed settings, every one: ``(seed, problems)``.

    Fills ``point`` with the valid ``PATH=VALUE`` items of ``extra``; an invalid seed gives 0.
    """
    problems = list(BASE_PROBLEMS)
    try:
        seed = int(str(rng).strip())
        if seed < 0:
            raise ValueError
    except ValueError:
        problems.append(f"Seed: must be a whole number of at least 0, got {rng!r}")
        seed = 0
    if strategy not in ("baseline", *BASE.strategies):
        problems.append(f"Strategy: unknown strategy {strategy!r} (the scenario has "
                        f"{', '.join(BASE.strategies) or 'none'})")
    overrides, bad = parse_extra(extra)
    point.update(overrides)
    problems.extend(f"More settings: {p}" for p in bad)
    return seed, problems


def parse_extra(text: str) -> tuple[dict, list[str]]:
    """``PATH=VALUE; PATH=VALUE`` (as ``cxsim run --set``) -> (overrides, problems).

    Each item is checked on its own, so every bad one is reported; a valid item's value is
    checked against the field's range later, when the scenario is built.
    """
    out, problems = {}, []
    for item in filter(None, (s.strip() for s in (text or "").replace("\n", ";").split(";"))):
        try:
            param = check_param(parse_param(item), BASE_DATA, list(BASE.strategies))
            if param.path == "strategy" or param.varies:
                raise ParamError(f"{item}: give one value of a scenario field")
        except ParamError as exc:
            problems.append(str(exc))
            continue
        out[param.path] = param.values[0]
    return out, problems


# ------------------------------------------------------------------------------------------
# what the page shows (plain functions, tested without a browser)
# ------------------------------------------------------------------------------------------
#: days the survey series are pooled over (a day's survey has ~200 answers at 20,000
#: customers: NPS jumps by 10-20 points from one day to the next)
SMOOTH_DAYS = 7


def window_ticks(tick_days: float, days: float = SMOOTH_DAYS) -> int:
    """Ticks in a window of ``days`` (at least one)."""
    return max(1, round(days / tick_days))


def smoothed_nps(df: pd.DataFrame, ticks: int) -> pd.Series:
    """NPS of the survey answers of the last ``ticks`` ticks, pooled, per tick.

    Pooled (promoters - detractors over respondents of the window, in percent), not a mean
    of daily scores, so a day with few answers weighs little; NaN while no answers.
    """
    if not len(df):
        return pd.Series(dtype=float)
    roll = df[["nps_promoters", "nps_detractors", "nps_respondents"]].rolling(
        ticks, min_periods=1).sum()
    resp = roll["nps_respondents"].where(roll["nps_respondents"] > 0)
    return 100.0 * (roll["nps_promoters"] - roll["nps_detractors"]) / resp


def shown(key: str, value: float | None) -> float | None:
    """A stored metric value in the unit the page shows (percentages x 100)."""
    if value is None or not math.isfinite(value):
        return None
    return value * BY_NAME[key].scale


def per_day(title: str, tick_days: float) -> str:
    """``"... per tick"`` as ``"... per day"`` when a tick is a day."""
    return title.replace(" per tick", " per day") if tick_days == 1 else title


def staff_text(model) -> str:
    """The first team's staff in words: at the start, on the roster today, posts open."""
    if "headcount" not in LEVERS:
        return ""
    team = LEVERS["headcount"][0].split(".")[1]
    start = model.params["headcount"]
    with model.lock:
        now = len(model.teams[team])
        vacant = len(model.workforce.vacancies.get(team, ()))
    text = (f"{_words(team).capitalize()}: {start:,} people at the start; "
            f"{now:,} on the roster today")
    if vacant:
        text += f", {vacant:,} left and not yet replaced"
    fte = model.spec.teams[team].fte
    if not math.isclose(fte, 1.0):
        text += (f". At {model.params['customers']:,} customers each person stands for "
                 f"{fte:.2g} of a full-time employee (the team scales with the market)")
    return text + "."


# ------------------------------------------------------------------------------------------
# components (each receives the current model and the page's step counter, so it re-renders
# after every step)
# ------------------------------------------------------------------------------------------
def _value_span(key: str, value: float | None, text: str):
    raw = "nan" if value is None or not math.isfinite(value) else repr(float(value))
    return solara.v.Html(tag="span", children=[text],
                         attributes={"data-testid": f"kpi-{key}", "data-value": raw})


def _kpi_values(model) -> dict[str, float | None]:
    """The panel's values in the stored units (the NPS pooled over :data:`SMOOTH_DAYS`)."""
    df = model.metrics
    if not len(df):
        return dict.fromkeys(KPIS)
    last = df.iloc[-1]
    out = {k: float(last[k]) for k in KPIS}
    out["nps"] = float(smoothed_nps(df, window_ticks(model.spec.simulation.tick_days)).iloc[-1])
    return out


@solara.component
def ProblemList(problems: list[str]):
    """Every problem of the settings, one line each."""
    n = len(problems)
    with solara.Column(classes=["cx-problems"]) as main:
        solara.Error(f"{n} setting{'s are' if n > 1 else ' is'} invalid, so there is no model "
                     "to run. Change the settings and press Reset.",
                     attributes={"data-testid": "problems-title"})
        for p in problems:
            solara.Error(p, icon=False, dense=True, attributes={"data-testid": "problem"})
    return main


@solara.component
def KpiPanel(model, version: int = 0):
    """Latest KPI values as text; the settings' problems instead when they are invalid."""
    if model.problems:
        return ProblemList(model.problems)
    with model.lock:  # the day and its values from the same step
        values = _kpi_values(model)
        tick = model.time_tick
    tick_days = model.spec.simulation.tick_days
    with solara.Column(gap="4px") as main:
        with solara.Row():
            solara.v.Html(tag="b", children=["Day "])
            _value_span("tick", float(tick), f"{tick * tick_days:g} of "
                        f"{model.spec.simulation.ticks * tick_days:g}")
        for key in KPIS:
            m = BY_NAME[key]
            title = (f"Net Promoter Score (survey, last {SMOOTH_DAYS} days)" if key == "nps"
                     else per_day(m.tick_title(), tick_days))
            value = values[key]
            with solara.Row():
                solara.Text(f"{title}: ")
                _value_span(key, value, "–" if value is None or not math.isfinite(value)
                            else m.format(value))
        solara.v.Html(tag="div", style_="margin-top: 8px", children=[staff_text(model)],
                      attributes={"data-testid": "staff"})
        solara.v.Html(tag="div", style_="font-size: 85%; color: #666",
                      children=["This run: " + settings_text(model.params)],
                      attributes={"data-testid": "model-params"})
    return main


def settings_text(p: dict) -> str:
    """The settings a model was built with, in words."""
    parts = []
    for key, (_path, label) in LEVERS.items():
        value = p[key]
        parts.append(f"{label} {value}" if key == "headcount" else f"{label} {value:.3f}")
    parts += [f"market {p['customers']:,} customers", f"strategy {p['strategy']}",
              f"seed {p['rng']}"]
    if p["extra"]:
        parts.append(f"more settings: {p['extra']}")
    return ", ".join(parts)


def plot_series(model, raw_nps: bool = False) -> list[tuple[str, str, list]]:
    """What :func:`KpiPlots` draws: ``(metric, axis label, [(label, x, y), ...])`` per panel.

    Values are in the units the text shows (service level in %), the NPS pooled over
    :data:`SMOOTH_DAYS` days, with the day's own survey as a second line if ``raw_nps``.
    """
    df = model.metrics if not model.problems else pd.DataFrame(columns=list(CONTRACT_COLUMNS))
    tick_days = model.spec.simulation.tick_days if model.spec else 1.0
    x = df["tick"].to_numpy(float) * tick_days
    out = []
    for col in PLOTTED:
        m = BY_NAME[col]
        if col == "nps":
            lines = [(f"pooled over {SMOOTH_DAYS} days", x,
                      smoothed_nps(df, window_ticks(tick_days)).to_numpy(float))]
            if raw_nps:
                lines.append(("each day's survey", x, df[col].to_numpy(float)))
            label = "NPS (−100 to +100)"
        else:
            lines = [("", x, df[col].to_numpy(float) * m.scale)]
            label = f"{m.label} (%)" if m.scale == 100 else m.label
        out.append((col, label, lines))
    return out


@solara.component
def KpiPlots(model, version: int = 0):
    """Line plots of customers, NPS and service level over the days so far."""
    raw = solara.use_reactive(False)
    if model.problems:  # nothing to plot (the panel lists the problems)
        return solara.Column()
    fig = Figure(figsize=(6, 5.5), layout="constrained")
    axes = fig.subplots(3, 1, sharex=True)
    for ax, (_col, label, lines) in zip(axes, plot_series(model, raw.value), strict=True):
        for i, (name, x, y) in enumerate(lines):
            if len(x):
                ax.plot(x, y, color=f"C{i}", lw=1.6 if i == 0 else 0.8,
                        alpha=1.0 if i == 0 else 0.6, label=name or None)
        if len(lines) > 1 and len(lines[0][1]):
            ax.legend(fontsize=8, loc="best")
        ax.set_ylabel(label, fontsize=9)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("day")
    with solara.Column(gap="0px") as main:
        solara.FigureMatplotlib(fig, format="png", dpi=80)
        solara.Checkbox(label="Show each day's survey too (NPS)", value=raw)
    return main


#: while playing, the network is redrawn once per this many days (its colours are means over
#: :data:`SMOOTH_DAYS` days; drawing it is the page's costliest part)
NETWORK_EVERY_DAYS = 7


def experience_by_touchpoint(model) -> np.ndarray:
    """Mean experience per touchpoint over the last :data:`SMOOTH_DAYS` days (NaN: no visits).

    Reads the per-tick accumulators of the model's recorder (``model.recorder.tp_rows``)
    rather than ``model.touchpoint_metrics``, which rebuilds a table of every tick.
    """
    from cxsim import kernels as K

    with model.lock:
        rows = list(model.recorder.tp_rows[-window_ticks(model.spec.simulation.tick_days):])
    exp = np.full(len(model.touchpoint_names), np.nan)
    if rows:
        tot = np.sum(rows, axis=0)
        visits = tot[:, K.TPA_VISITS]
        hit = visits > 0
        exp[hit] = tot[hit, K.TPA_PERF_SUM] / visits[hit]
    return exp


def _network_figure(model):
    """The network figure of a model (drawn once) and its node collection (recoloured)."""
    cached = getattr(model, "_viz_network", None)
    if cached is not None:
        return cached
    g = model.touchpoint_space.G
    order = {s: i for i, s in enumerate(STAGES)}  # stages top to bottom
    layers = nx.Graph()
    layers.add_nodes_from((j, {"layer": -order[d["stage"]]}) for j, d in g.nodes(data=True))
    pos = nx.multipartite_layout(layers, subset_key="layer", align="horizontal")
    fig = Figure(figsize=(7, 5), layout="constrained")
    ax = fig.subplots()
    ax.set_axis_off()
    cmap = colormaps["RdYlGn"].with_extremes(bad="lightgrey")  # grey: no visits
    nodes = list(g.nodes)
    nx.draw_networkx_edges(g, pos, ax=ax, alpha=0.3, arrows=True, arrowsize=8, node_size=380)
    coll = nx.draw_networkx_nodes(g, pos, nodelist=nodes, ax=ax, node_size=380,
                                  node_color=np.full(len(nodes), 0.75), cmap=cmap,
                                  vmin=EXPERIENCE_RANGE[0], vmax=EXPERIENCE_RANGE[1])
    below = {j: (x, y - 0.09) for j, (x, y) in pos.items()}
    nx.draw_networkx_labels(g, below, ax=ax, labels={j: model.touchpoint_names[j] for j in nodes},
                            font_size=8, verticalalignment="top")
    scale = ScalarMappable(norm=Normalize(*EXPERIENCE_RANGE), cmap=cmap)
    fig.colorbar(scale, ax=ax, shrink=0.7,
                 label=f"mean experience (last {SMOOTH_DAYS} days; grey: no visits)")
    model._viz_network = (fig, coll, nodes)
    return model._viz_network


@solara.component
def TouchpointNetwork(model, version: int = 0, playing: bool = False):
    """The touchpoint graph by journey stage, coloured by mean experience over the last 7 days.

    Grey: no visits in that window.  Redrawn after every step, or once a week while playing.
    """
    tick = model.time_tick
    every = (window_ticks(model.spec.simulation.tick_days, NETWORK_EVERY_DAYS)
             if playing and model.spec is not None else 1)
    drawn_at = tick - tick % every

    def draw():
        if model.problems:
            fig = Figure(figsize=(7, 5), layout="constrained")
            ax = fig.subplots()
            ax.set_axis_off()
            ax.text(0.5, 0.5, "no model", ha="center", va="center")
        else:
            fig, coll, nodes = _network_figure(model)
            coll.set_array(np.ma.masked_invalid(experience_by_touchpoint(model)[nodes]))
        f = io.BytesIO()
        fig.savefig(f, format="png", dpi=80)
        return f.getvalue()

    png = solara.use_memo(draw, [model, drawn_at])
    solara.Image(png, format="png")


# ------------------------------------------------------------------------------------------
# the settings and the page
# ------------------------------------------------------------------------------------------
def _slider(label, path, lo, hi, step, dtype):
    value = get_value(BASE_DATA, path)
    hi = max(hi, dtype(value))  # a big team keeps its head count within reach
    return Slider(label, value=dtype(value), min=lo, max=hi, step=step, dtype=dtype)


MARKET = int(BASE.market.size)
#: the market size the page starts with (``cxsim viz --customers`` sets it)
START_CUSTOMERS = session_limits_value(CUSTOMERS_ENV, MARKET)

_RANGES = {"headcount": (1, 60, 1, int), "quality": (0.3, 1.0, 0.005, float),
           "reliability": (0.5, 1.0, 0.005, float)}

#: the settings: Mesa ``Slider``s and ``{"type": ...}`` inputs (Mesa's model_params format)
model_params = {
    **{key: _slider(label[0].upper() + label[1:], path, *_RANGES[key])
       for key, (path, label) in LEVERS.items()},
    "customers": Slider("Market size (customers)", value=START_CUSTOMERS,
                        min=min(START_CUSTOMERS, max(1000, MARKET // 10)),
                        max=max(START_CUSTOMERS, MARKET * 2),
                        step=max(1000, MARKET // 20), dtype=int),
    "strategy": {"type": "Select", "value": "baseline", "label": "Strategy",
                 "values": ["baseline", *BASE.strategies]},
    "extra": {"type": "InputText", "value": "",
              "label": "More settings (PATH=VALUE; ...)",
              "hint": "e.g. touchpoints.chat.quality=0.8; press Enter, then Reset"},
    "rng": {"type": "InputText", "value": "0", "label": "Seed"},
}


def initial_params() -> dict:
    """The settings' start values (what the page builds its first model with)."""
    return {k: (v.value if isinstance(v, Slider) else v["value"]) for k, v in model_params.items()}


def slider_text(key: str, value) -> str:
    """A slider's value as its label shows it."""
    if isinstance(value, float):
        return f"{value:.3f}"
    return f"{value:,}"


def _make_model() -> WorkshopModel:
    return WorkshopModel(**initial_params())


@solara.component
def Settings(pending: solara.Reactive[dict], disabled: bool = False):
    """The settings: sliders that show their values, the strategy, more settings, the seed."""
    def setter(key):
        return lambda v: pending.set({**pending.value, key: v})

    for key, spec in model_params.items():
        value = pending.value[key]
        if isinstance(spec, Slider):
            with solara.Row(justify="space-between", style={"margin-top": "10px"}):
                solara.Text(spec.label)
                solara.v.Html(tag="b", children=[slider_text(key, value)],
                              attributes={"data-testid": f"value-{key}"})
            cls = solara.SliderFloat if spec.is_float_slider else solara.SliderInt
            cls("", value=value, min=spec.min, max=spec.max, step=spec.step,
                on_value=setter(key), thumb_label=False, disabled=disabled)
        elif spec["type"] == "Select":
            solara.Select(spec["label"], value=value, values=spec["values"],
                          on_value=setter(key), disabled=disabled)
        else:
            solara.InputText(spec["label"], value=value, on_value=setter(key),
                             disabled=disabled)
            if spec.get("hint"):
                solara.Text(spec["hint"], style={"font-size": "80%", "color": "#666"})


@solara.component
def Page():
    """The workshop page: cxsim's controls and settings, the KPIs, plots and network.

    One model per browser session (a module-level model would be shared by all tabs).
    """
    first = solara.use_memo(_make_model, [])
    model = solara.use_reactive(first)
    version = solara.use_reactive(0)  # steps and resets so far: re-renders the components
    playing = solara.use_reactive(False)
    pending = solara.use_reactive(initial_params())
    error = solara.use_reactive("")
    m = model.value
    can_step = not m.problems and m.running

    def stepped(exc: Exception | None) -> None:
        if exc is not None:  # shown on the page and logged; the server keeps serving
            traceback.print_exception(exc)
            error.set(f"the model failed: {type(exc).__name__}: {exc}")
            playing.set(False)
        version.set(version.value + 1)

    def do_step():
        try:
            model.value.step()
        except Exception as exc:  # noqa: BLE001 - any failure of the model is shown
            stepped(exc)
            return
        stepped(None)

    async def play():
        # Steps run in a worker thread; the page's state is only touched here, on the
        # server's event loop (a step's figures render there after each step).  A threaded
        # task (Solara 1.64) stopped updating the pages of every session after the first.
        # Closing the tab ends the session (after cxsim viz's timeout) and cancels this.
        while playing.value:
            current = model.value
            if current.problems or not current.running:
                playing.set(False)
                break
            t0 = time.monotonic()
            try:
                await asyncio.to_thread(current.step)
            except Exception as exc:  # noqa: BLE001
                stepped(exc)
                break
            stepped(None)
            await asyncio.sleep(max(0.0, PLAY_INTERVAL_S - (time.monotonic() - t0)))

    solara.lab.use_task(play, dependencies=[playing.value], prefer_threaded=False)

    def do_reset():
        playing.set(False)
        error.set("")
        model.set(WorkshopModel(**pending.value))
        version.set(version.value + 1)

    with solara.AppBar():
        solara.AppBarTitle(f"cxsim: {BASE.name}")
    with solara.Sidebar(), solara.Column():
        with solara.Card("Run"):
            with solara.Row(justify="space-between"):
                solara.Button("Reset", color="primary", on_click=do_reset)
                solara.Button("❚❚ Pause" if playing.value else "▶ Play", color="primary",
                              on_click=lambda: playing.set(not playing.value),
                              disabled=not can_step and not playing.value)
                solara.Button("Step", color="primary", on_click=do_step,
                              disabled=playing.value or not can_step)
            if m.problems:
                solara.Text("No model: fix the settings listed on the right, then Reset.",
                            style={"color": "#b00020", "font-size": "90%"})
            elif not m.running:
                solara.Text("The run reached its last day: Reset starts again.",
                            style={"font-size": "90%"})
            elif pending.value != m.settings:
                solara.Text("Settings changed: press Reset to use them.",
                            style={"font-size": "90%"})
            if error.value:
                solara.Error(error.value)
        with solara.Card("Settings"):
            Settings(pending)
    with solara.Columns([1, 1]):
        KpiPanel(m, version.value)
        KpiPlots(m, version.value)
    TouchpointNetwork(m, version.value, playing.value)
