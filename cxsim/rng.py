"""Counter-based, named random streams.

Every random number in a cxsim run is a pure function of
``(root seed, stream name, agent id, tick, slot)``: a counter hashed through two rounds of the
SplitMix64 finaliser (Steele, Lea & Flood 2014, the mixer behind ``SplittableRandom``), in the
spirit of counter-based generators such as Philox (Salmon et al. 2011).  Nothing is sequential,
so

* results do not depend on thread count, engine or the order in which agents are stepped;
* a strategy that changes one decision does not reshuffle unrelated draws (common random
  numbers), which makes strategy-vs-baseline differences much less noisy.

Stream keys are derived in Python (:func:`stream_keys`); the draw functions are ``@njit``
scalars callable both from numba kernels and from plain Python.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
from numba import njit

_MASK = (1 << 64) - 1
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_GOLDEN2 = np.uint64(0xD1B54A32D192ED03)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S32 = np.uint64(32)
_S12 = np.uint64(12)
_S20 = np.uint64(20)
_LOW32 = np.uint64(0xFFFFFFFF)
_TWO_M52 = 2.0**-52
_TWO_M32 = 2.0**-32
_TWO_PI = 2.0 * math.pi

#: The named streams of a run, one per kind of decision.  Adding a stream at the end never
#: changes the draws of the existing ones.
STREAMS: tuple[str, ...] = (
    "segment",  # 0 segment membership
    "initial",  # 1 who is a customer at tick 0, initial tenure
    "frailty",  # 2 individual churn propensity
    "nps_style",  # 3 individual response style on the 0-10 scale
    "start_state",  # 4 initial satisfaction and expectation
    "acquire",  # 5 prospects joining, win-back
    "daily",  # 6 need occurrence and churn (one pair per customer per tick)
    "episode",  # 7 everything inside a service episode
    "survey",  # 8 who answers the relationship survey
    "network",  # 9 social network construction
    "workforce",  # 10 employees and partners
    "environment",  # 11 IT outages and other shocks
    "retention",  # 12 proactive retention: the churn-risk score's noise
    "voice",  # 13 survey samples read by a voice_of_customer programme (cxsim.voice)
)
STREAM_INDEX = {name: k for k, name in enumerate(STREAMS)}


def _mix64_py(z: int) -> int:
    z &= _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


SeedLike = int | np.integer | np.random.SeedSequence | None


def seed_value(seed: SeedLike, name: str = "seed") -> int:
    """Return the integer seed that reproduces a run from any seed a caller may give.

    * an integer (Python ``int`` or any NumPy integer, not ``bool``), 0 or more: itself;
    * ``numpy.random.SeedSequence(s)`` for an integer ``s``: ``s`` (the same streams);
    * any other ``SeedSequence`` (e.g. one of ``SeedSequence(s).spawn(n)``): its first 32-bit
      word of state, the integer :func:`replicate_seeds` records for it;
    * ``None``: fresh entropy from the operating system, as Mesa does for ``rng=None``
      (the caller records the value drawn, so the run can be repeated).

    Raises ``TypeError``/``ValueError`` naming ``name`` for anything else.
    """
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    if isinstance(seed, np.random.SeedSequence):
        if not seed.spawn_key and isinstance(seed.entropy, int | np.integer):
            return int(seed.entropy)
        return int(seed.generate_state(1)[0])
    if isinstance(seed, bool | np.bool_) or not isinstance(seed, int | np.integer):
        raise TypeError(f"{name} must be a whole number 0 or more, a numpy SeedSequence or "
                        f"None, got {seed!r}")
    value = int(seed)
    if value < 0:
        raise ValueError(f"{name} must be 0 or more, got {value}")
    return value


def replicate_seeds(seed: SeedLike, replications: int) -> list[int]:
    """Integer seeds of replicates ``0 .. replications-1`` spawned from one root seed.

    ``SeedSequence(seed).spawn(replications)[r]`` reduced by :func:`seed_value`: disjoint,
    reproducible streams, and replicate ``r`` is the same whatever ``replications`` is.
    """
    root = np.random.SeedSequence(seed_value(seed))
    return [seed_value(child) for child in root.spawn(int(replications))]


def root_key(seed: int | np.random.SeedSequence) -> int:
    """Return the 64-bit root key of a run from an integer seed or a ``SeedSequence``."""
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(int(seed))
    return int(ss.generate_state(1, np.uint64)[0])


def stream_key(root: int, name: str) -> int:
    """Return the key of stream ``name`` under root key ``root`` (a Python int < 2**64)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return _mix64_py(root ^ _mix64_py(int.from_bytes(digest, "little")))


def stream_keys(seed: int | np.random.SeedSequence) -> np.ndarray:
    """Return the keys of all :data:`STREAMS` for a seed, as ``uint64[len(STREAMS)]``."""
    root = root_key(seed)
    return np.array([stream_key(root, s) for s in STREAMS], dtype=np.uint64)


def numpy_generator(keys: np.ndarray, stream: str) -> np.random.Generator:
    """Return a NumPy Generator seeded from a named stream (for bulk set-up work only)."""
    return np.random.Generator(np.random.PCG64(int(keys[STREAM_INDEX[stream]])))


# The draws compile once each: the compiled functions (``_uniform``, ...) are only ever called
# with a ``uint64`` key, ``int64`` agent, tick and slot and ``float64`` shapes, and the public
# names are inlined casts to those types.  Without the casts numba compiled a function again
# for every combination of argument types its callers happened to pass (a literal slot of 0
# or 1, an unsigned agent index): up to nine copies of each, each compiled from scratch in a
# first run.  The casts keep every bit: a non-negative integer below 2**63 has the same bits as
# int64 and as uint64.


@njit(cache=True, nogil=True, _nrt=False)
def mix64(z):
    """SplitMix64 finaliser: a bijective avalanche mix of a ``uint64``."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, nogil=True, _nrt=False)
def _draw_bits(key, agent, tick, slot):
    x = mix64(key ^ (np.uint64(agent) * _GOLDEN))
    ctr = (np.uint64(tick) << _S20) | np.uint64(slot)
    return mix64(x ^ (ctr * _GOLDEN2))


@njit(cache=True, nogil=True, _nrt=False)
def _uniform(key, agent, tick, slot):
    return ((_draw_bits(key, agent, tick, slot) >> _S12) + 0.5) * _TWO_M52


@njit(cache=True, nogil=True, _nrt=False)
def _uniform_pair(key, agent, tick, slot):
    x = _draw_bits(key, agent, tick, slot)
    return ((x >> _S32) + 0.5) * _TWO_M32, ((x & _LOW32) + 0.5) * _TWO_M32


@njit(cache=True, nogil=True, _nrt=False)
def _normal(key, agent, tick, slot):
    u1, u2 = _uniform_pair(key, agent, tick, slot)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(_TWO_PI * u2)


@njit(cache=True, nogil=True, _nrt=False)
def _gamma(key, agent, tick, slot0, shape):
    boost = 1.0
    a = shape
    if a < 1.0:
        boost = _uniform(key, agent, tick, slot0) ** (1.0 / a)
        a += 1.0
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    for k in range(1, 64):
        z = _normal(key, agent, tick, slot0 + 2 * k)
        v = 1.0 + c * z
        if v <= 0.0:
            continue
        v = v * v * v
        u = _uniform(key, agent, tick, slot0 + 2 * k + 1)
        if math.log(u) < 0.5 * z * z + d - d * v + d * math.log(v):
            return boost * d * v
    return boost * d  # acceptance fails with probability < 1e-40 over 63 tries


@njit(cache=True, nogil=True, _nrt=False)
def _log_gamma_deviate(key, agent, tick, slot0, shape):
    a = shape
    log_boost = 0.0
    if a < 1.0:
        log_boost = math.log(_uniform(key, agent, tick, slot0)) / a
        a += 1.0
    return log_boost + math.log(_gamma(key, agent, tick, slot0, a))


@njit(cache=True, nogil=True, _nrt=False)
def _beta(key, agent, tick, slot0, a, b):
    x = _gamma(key, agent, tick, slot0, a)
    y = _gamma(key, agent, tick, slot0 + 128, b)
    total = x + y
    if total > 0.0 and total < math.inf:
        return x / total
    d = _log_gamma_deviate(key, agent, tick, slot0 + 128, b) - _log_gamma_deviate(
        key, agent, tick, slot0, a)
    if d > 700.0:
        return 0.0
    return 1.0 / (1.0 + math.exp(d))


_I64 = np.int64
_U64 = np.uint64
_F64 = np.float64


@njit(cache=True, inline="always")
def draw_bits(key, agent, tick, slot):
    """Return 64 random bits for ``(key, agent, tick, slot)``; all arguments are integers.

    ``tick`` must be in [0, 2**44) and ``slot`` in [0, 2**20).
    """
    return _draw_bits(_U64(key), _I64(agent), _I64(tick), _I64(slot))


@njit(cache=True, inline="always")
def uniform(key, agent, tick, slot):
    """Return one uniform in the open interval (0, 1) with 52-bit resolution.

    ``(k + 0.5) / 2**52`` for a 52-bit ``k``: the largest value, ``1 - 2**-53``, is exactly
    representable, so 1.0 never occurs (with 53 bits it would round up to 1.0).
    """
    return _uniform(_U64(key), _I64(agent), _I64(tick), _I64(slot))


@njit(cache=True, inline="always")
def uniform_pair(key, agent, tick, slot):
    """Return two independent uniforms in (0, 1), 32-bit resolution, from one hash."""
    return _uniform_pair(_U64(key), _I64(agent), _I64(tick), _I64(slot))


@njit(cache=True, inline="always")
def normal(key, agent, tick, slot):
    """Return one standard normal deviate (Box-Muller on one hashed pair)."""
    return _normal(_U64(key), _I64(agent), _I64(tick), _I64(slot))


@njit(cache=True, inline="always")
def gamma(key, agent, tick, slot0, shape):
    """Return a Gamma(shape, 1) deviate (Marsaglia & Tsang 2000), using slots from ``slot0``.

    Uses at most 64 slots; for ``shape < 1`` the boost ``G(a) = G(a + 1) * U**(1/a)`` applies.
    """
    return _gamma(_U64(key), _I64(agent), _I64(tick), _I64(slot0), _F64(shape))


@njit(cache=True, inline="always")
def log_gamma_deviate(key, agent, tick, slot0, shape):
    """The logarithm of :func:`gamma`'s deviate for the same slots, without underflow.

    For tiny shapes ``U**(1/a)`` underflows to 0 (a shape of 1e-4 needs ``exp(-10^4)``); in
    logs it is ``log(U) / a``, always finite.
    """
    return _log_gamma_deviate(_U64(key), _I64(agent), _I64(tick), _I64(slot0), _F64(shape))


@njit(cache=True, inline="always")
def beta(key, agent, tick, slot0, a, b):
    """Return a Beta(a, b) deviate from two gamma deviates (slots ``slot0`` .. ``slot0+255``).

    When both gamma deviates underflow (shapes far below 1), the ratio is taken in logs from
    the same draws, so the result is still the Beta deviate (0 or 1 to double precision).
    """
    return _beta(_U64(key), _I64(agent), _I64(tick), _I64(slot0), _F64(a), _F64(b))


#: spawn key of the stream that samples experimental designs: no replicate uses it
#: (:func:`replicate_seeds` spawns keys 0, 1, ...)
DESIGN_SPAWN_KEY = 2**32 - 1


def design_generator(seed: SeedLike) -> np.random.Generator:
    """The NumPy generator that samples an experimental design from a root seed.

    ``SeedSequence(seed, spawn_key=(DESIGN_SPAWN_KEY,))``: a child of the root seed that no
    replicate seed uses, so a design and its replicates never share random numbers.
    """
    return np.random.default_rng(np.random.SeedSequence(seed_value(seed),
                                                        spawn_key=(DESIGN_SPAWN_KEY,)))
