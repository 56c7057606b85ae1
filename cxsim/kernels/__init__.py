"""Every compiled (numba) function of cxsim: pure functions over arrays and scalars.

=====================  ====================================================================
module                 what it computes
=====================  ====================================================================
:mod:`.inputs`         the named input groups and the accumulator/flag constants
:mod:`.customer`       the per-customer maths and the one per-customer step of both engines
:mod:`.social`         word of mouth, referrals and contagion over the network; chunk sums
:mod:`.population`     the market at tick 0; the social network's CSR arrays
:mod:`.waits`          the queue's wait device for callers of several patience groups
:mod:`.staff`          a team of employees stepped at once (the agents' rules); NumPy's sum
:mod:`.erlang`         Erlang A, the incomplete beta and the queue forecast (per-tick path)
:mod:`.ensemble`       one pass over the customers of every member of an ensemble
:mod:`.retention`      the churn-risk score's noise (proactive retention)
:mod:`.parallel`       parallel loops: one compiled serial loop per thread (no ``prange``)
=====================  ====================================================================

The random draws they use are the counter-based streams of :mod:`cxsim.rng`.  Everything is
re-exported here, so ``from cxsim import kernels as K; K.churn_hazard(...)`` works.
"""

import os

# Idle OpenMP threads sleep instead of spinning: numba's default (GNU OpenMP) layer otherwise
# keeps each idle thread spinning between a tick's parallel loops, and when another program
# holds a core the spinning threads and the program fight for it.  Measured with
# experiments/bench/contention.py (100,000 customers, 365 days, 2 cores): with one core kept
# busy, spinning made a run 1.31-1.35x as long as one thread, sleeping 1.02-1.03x; on a quiet
# machine the two are within noise.  Set before any parallel loop starts the OpenMP runtime;
# a value the user set wins.  (cxsim's own loops now run on Python threads, kernels.parallel,
# but numba still starts its OpenMP threads when asked for its thread count.)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .customer import *  # noqa: E402, F403
from .customer import _SCREEN_U, _SCREEN_Z, _SLOT_SCORES  # noqa: E402, F401
from .inputs import *  # noqa: E402, F403
from .population import *  # noqa: E402, F403
from .social import *  # noqa: E402, F403
from .social import _senders  # noqa: E402, F401
from .staff import *  # noqa: E402, F403
