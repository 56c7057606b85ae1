"""The reduced customer model (model.md) in mesa-frames: customers as rows of a Polars frame.

Written as mesa-frames intends: an ``AgentSetPolars`` whose ``step`` updates every customer
at once with Polars expressions (``with_columns``, ``when/then``), draws from the model's
NumPy Generator (``model.random``), word of mouth as joins of the contact list (a frame of
``src, dst`` rows) with the tick's talkers, and churned customers removed
(``AgentSetPolars.remove``).  The only loop is over a tick's episodes: a customer's
episodes follow one another (each moves the expectation the next one is judged against),
so episode ``k`` updates every customer who has more than ``k`` of them (the first rows
once the customers are sorted by their episodes of the tick).

Written for mesa-frames 0.1.0a0, the release on PyPI (``pip install mesa-frames``; MIT).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import polars as pl
from mesa_frames import AgentSetPolars, ModelDF

from _reduced import Params, first_talks, small_world

# mesa-frames 0.1.0a0 calls Polars' is_in in a way Polars 2 deprecates (when removing agents)
warnings.filterwarnings("ignore", message="`is_in` with a collection", category=DeprecationWarning)

S, E = pl.col("satisfaction"), pl.col("expectation")
#: what a customer has heard and not yet taken in (model.md: L and A)
HEARD = ("heard_log", "heard_target")


def value(x: pl.Expr, p: Params) -> pl.Expr:
    """Prospect-theory value of a disconfirmation ``x``."""
    return pl.when(x >= 0.0).then(1.0).otherwise(-p.loss_aversion) * x.abs().pow(
        p.value_exponent)


def take_in() -> pl.Expr:
    """Expectation after taking in a share (``share``) of the word of mouth heard."""
    target = pl.col("heard_target")
    pulled = (pl.col("share") < 0.0) & (target < E)
    return pl.when(pulled).then(target + pl.col("share").exp() * (E - target)).otherwise(E)


class Customers(AgentSetPolars):
    """Every customer as a row: satisfaction, expectation, style, heard word of mouth."""

    def __init__(self, model: ReducedFrames, satisfaction: np.ndarray,
                 expectation: np.ndarray, style: np.ndarray):
        super().__init__(model)
        n = satisfaction.shape[0]
        self += pl.DataFrame({
            "unique_id": np.arange(n, dtype=np.int64), "satisfaction": satisfaction,
            "expectation": expectation, "style": style, "heard_log": np.zeros(n),
            "heard_target": np.zeros(n)})

    def episode(self, df: pl.DataFrame) -> pl.DataFrame:
        """One more episode for every customer (row) of ``df``."""
        p = self.model.params
        rng = self.model.random
        n = df.height
        perf, resolved, v1, v2 = (pl.col(c) for c in ("perf", "resolved", "v1", "v2"))
        peak = pl.when(v2.abs() >= v1.abs()).then(v2).otherwise(v1)
        talk = 10.0 * S + pl.col("style") + 0.5 < 7.0  # a detractor now
        return (
            df.lazy()
            .with_columns(expectation=take_in(),
                          perf=(p.quality + p.variability * pl.Series(rng.standard_normal(n)))
                          .clip(0.0, 1.0),
                          resolved=pl.Series(rng.random(n)) < p.resolution)
            # the unresolved need is a second, bad moment: peak-end rule
            .with_columns(v1=value(perf - E, p), v2=value(p.unresolved - E, p))
            .with_columns(
                v=pl.when(resolved).then(v1).otherwise(
                    p.peak_weight * peak + p.end_weight * v2 + p.mean_weight * 0.5 * (v1 + v2)),
                mean_perf=pl.when(resolved).then(perf).otherwise(0.5 * (perf + p.unresolved)))
            .with_columns(
                satisfaction=S + p.memory_weight * ((E + pl.col("v")).clip(0.0, 1.0) - S),
                expectation=E + p.adaptation * (pl.col("mean_perf") - E))
            .with_columns(talks=pl.col("talks") + talk.cast(pl.Int64),
                          said=pl.col("said") + pl.when(talk).then(S).otherwise(0.0))
            .drop("perf", "resolved", "v1", "v2", "v", "mean_perf")
            .collect())

    def step(self) -> None:
        """A tick for every customer at once; then word of mouth; the churned leave."""
        model = self.model
        p = model.params
        rng = model.random
        episodes = rng.poisson(p.need_mean, len(self))
        # customers by episodes, most first: the k-th episodes are those of the first rows
        df = (self.agents.with_columns(episodes=pl.Series(episodes, dtype=pl.Int64),
                                       talks=pl.lit(0, pl.Int64), said=pl.lit(0.0))
              .with_columns(share=pl.col("heard_log") / (pl.col("episodes") + 1))
              .sort("episodes", descending=True))
        for k in range(int(episodes.max(initial=0))):
            busy = int((episodes > k).sum())
            df = pl.concat([self.episode(df.head(busy)), df.slice(busy)])
        n = df.height
        hazard = 1.0 / (1.0 + (-(p.churn_logit + p.sat_effect * (S - p.sat_reference))).exp())
        df = df.with_columns(expectation=take_in(),
                             churns=pl.Series(rng.random(n)) < hazard)
        talkers = df.filter(pl.col("talks") > 0).select(
            src="unique_id", talks="talks", said=pl.col("said") / pl.col("talks"))
        heard = model.word_of_mouth(talkers, df.select("unique_id", "expectation"))
        churned = df.filter(pl.col("churns"))["unique_id"]
        model.churned += churned.len()
        self.agents = (df.select("unique_id", "satisfaction", "expectation", "style")
                       .join(heard, on="unique_id", how="left")
                       .with_columns(pl.col(HEARD).fill_null(0.0)))
        self.remove(churned)


class ReducedFrames(ModelDF):
    """The reduced customer model with a :class:`Customers` agent set."""

    def __init__(self, params: Params, seed: int | None = None):
        super().__init__(seed=seed)
        self.params = p = params
        self.churned = 0
        n = p.customers
        rng = self.random
        sat = np.clip(p.initial_satisfaction + p.initial_spread * rng.standard_normal(n),
                      0.0, 1.0)
        exp_ = np.clip(p.initial_expectation + p.initial_spread * rng.standard_normal(n),
                       0.0, 1.0)
        style = p.style_sd * rng.standard_normal(n)
        self.agents += Customers(self, sat, exp_, style)
        indptr, indices = small_world(n, p.mean_degree, p.rewiring, rng)
        self.contacts = pl.DataFrame({"src": np.repeat(np.arange(n), np.diff(indptr)),
                                      "dst": indices.astype(np.int64)})
        # the word of mouth under way at tick 0
        talks = first_talks(sat, style, p.need_mean, rng.random(n))
        ids = np.arange(n, dtype=np.int64)
        talkers = pl.DataFrame({"src": ids, "talks": talks, "said": sat}).filter(
            pl.col("talks") > 0)
        customers = self.get_agents_of_type(Customers)
        heard = self.word_of_mouth(talkers, customers.agents.select("unique_id", "expectation"))
        customers.agents = (customers.agents.drop(HEARD)
                            .join(heard, on="unique_id", how="left")
                            .with_columns(pl.col(HEARD).fill_null(0.0)))

    def word_of_mouth(self, talkers: pl.DataFrame, expectation: pl.DataFrame) -> pl.DataFrame:
        """What each contact hears from ``talkers`` (``src, talks, said``): L and A.

        Every pull toward ``said`` leaving ``(1 - omega)**talks`` of the gap reaches the
        contacts whose expectation is above ``said``; a contact composes its pulls in
        ascending sender id (model.md, social phase).
        """
        keep = pl.col("keep")
        total = keep.cum_sum()
        dst = pl.col("dst")
        pulls = (self.contacts.join(talkers, on="src")
                 .join(expectation.rename({"unique_id": "dst"}), on="dst")
                 .filter(pl.col("said") < pl.col("expectation"))
                 .with_columns(keep=pl.col("talks") * math.log1p(-self.params.wom_strength))
                 .sort("dst", "src")
                 # the log of the share later senders leave: the running sum at the contact's
                 # last row less the running sum here (a window .over("dst") is 6x slower)
                 .with_columns(after=pl.when(dst != dst.shift(-1, fill_value=-1)).then(total)
                               .backward_fill() - total))
        return (pulls.group_by("dst")
                .agg(heard_log=keep.sum(),
                     offset=((1.0 - keep.exp()) * pl.col("said") * pl.col("after").exp()).sum())
                .select(unique_id="dst", heard_log="heard_log",
                        heard_target=pl.col("offset") / (1.0 - pl.col("heard_log").exp())))

    def step(self) -> None:
        """A tick: the customers' step."""
        self.agents.step()

    def outputs(self) -> dict[str, float]:
        """Mean satisfaction and expectation, detractor share, cumulative churn share."""
        df = self.get_agents_of_type(Customers).agents
        return {"satisfaction": float(df["satisfaction"].mean()),
                "expectation": float(df["expectation"].mean()),
                "detractors": float((10.0 * df["satisfaction"] + df["style"] + 0.5 < 7.0)
                                    .mean()),
                "churned": self.churned / self.params.customers}


def run_frames(params: Params, seed: int, ticks: int) -> dict[str, float]:
    """Run the mesa-frames version; its outputs."""
    model = ReducedFrames(params, seed=seed)
    for _ in range(ticks):
        model.step()
    return model.outputs()
