"""Social networks between market agents, stored as CSR arrays.

A network is ``(indptr int64[N+1], indices int32[E])``: the contacts of agent ``i`` are
``indices[indptr[i]:indptr[i+1]]``, every edge stored in both directions.  A fully mixed market
(everyone a contact of everyone) is not materialised: it is ``None`` and the model uses
population-level fractions instead (degree ``N - 1``).

Construction draws from the run's ``network`` stream, so the same seed gives the same network
whatever the engine or thread count.
"""

from __future__ import annotations

import numpy as np

from .kernels.population import fill_csr


def erdos_renyi(n: int, mean_degree: float, rng: np.random.Generator):
    """Return an Erdős–Rényi G(n, p) network with ``p = mean_degree / (n - 1)`` as CSR.

    Edges are drawn as a binomial number of uniform random pairs; the handful of duplicate
    pairs this can produce (about ``mean_degree**2 / 4`` in all) are kept.
    """
    pairs = n * (n - 1) / 2
    m = int(rng.binomial(int(min(pairs, 2**62)), mean_degree / (n - 1))) if n > 1 else 0
    src = rng.integers(0, n, size=m, dtype=np.int64)
    dst = rng.integers(0, n, size=m, dtype=np.int64)
    return fill_csr(n, src, dst)


def small_world(n: int, mean_degree: float, rewiring: float, rng: np.random.Generator):
    """Return a Watts–Strogatz small-world network as CSR.

    A ring lattice where each agent links to its ``k = round(mean_degree / 2)`` nearest
    neighbours on each side; each edge's far end is rewired to a uniform random agent with
    probability ``rewiring`` (Watts & Strogatz 1998).  ``rewiring = 0`` gives the ring lattice.
    """
    k = max(1, int(round(mean_degree / 2)))
    k = min(k, (n - 1) // 2) if n > 2 else 1
    base = np.arange(n, dtype=np.int64)
    src = np.repeat(base, k)
    dst = (src + np.tile(np.arange(1, k + 1, dtype=np.int64), n)) % n
    rewire = rng.random(src.shape[0]) < rewiring
    dst[rewire] = rng.integers(0, n, size=int(rewire.sum()), dtype=np.int64)
    return fill_csr(n, src, dst)


def build_network(kind: str, n: int, mean_degree: float, rewiring: float,
                  rng: np.random.Generator):
    """Return the CSR network of a market, or ``None`` for a fully mixed one."""
    if kind == "full":
        return None
    if kind == "erdos_renyi":
        return erdos_renyi(n, mean_degree, rng)
    if kind == "small_world":
        return small_world(n, mean_degree, rewiring, rng)
    raise ValueError(f"unknown network kind {kind!r}")
