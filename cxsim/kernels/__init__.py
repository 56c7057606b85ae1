"""Every compiled (numba) function of cxsim: pure functions over arrays and scalars.

=====================  ====================================================================
module                 what it computes
=====================  ====================================================================
:mod:`.inputs`         the named input groups and the accumulator/flag constants
:mod:`.customer`       the per-customer maths and the one per-customer step of both engines
:mod:`.social`         word of mouth, referrals and contagion over the network; chunk sums
:mod:`.population`     the market at tick 0; the social network's CSR arrays
=====================  ====================================================================

The random draws they use are the counter-based streams of :mod:`cxsim.rng`.  Everything is
re-exported here, so ``from cxsim import kernels as K; K.churn_hazard(...)`` works.
"""

from .customer import *  # noqa: F403
from .customer import _SCREEN_U, _SCREEN_Z, _SLOT_SCORES  # noqa: F401
from .inputs import *  # noqa: F403
from .population import *  # noqa: F403
from .social import *  # noqa: F403
from .social import _senders  # noqa: F401
