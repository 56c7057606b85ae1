"""Size limits that the command line and scenario validation read without the simulation.

The modules they bound import numpy, numba, pandas or SciPy; these numbers live here, with
no imports, so that ``cxsim --help`` and ``cxsim validate`` can state and check them without
loading those libraries.  Each is re-exported by the module it bounds (``cxsim.design.MAX_POINTS``,
``cxsim.params.MAX_VALUES``, ``cxsim.kernels.MAX_EPISODES``, ``cxsim.queueing.MAX_AGENTS``).
"""

#: design points a sweep may have, and ``samples`` a sampling design may be asked for
#: (both checked before a design is built)
MAX_POINTS = 100_000
MAX_SAMPLES = 100_000

#: values one parameter may take: items of a list, or the count of a range
MAX_VALUES = 10_000

#: parameters of one sweep (``--param`` given this many times at most)
MAX_PARAMS = 100

#: most episodes a customer lives in one tick (needs drawn; a pending failure demand is one
#: more).  Scenario validation refuses a need rate whose Poisson count per tick would exceed
#: it with probability above 1e-9 (``scenario.MAX_EPISODES_TAIL``); a demand surge that does
#: at run time is truncated here.  The failure demands due (at most 255) come on top:
#: (MAX_EPISODES + 255) * EPISODE_SLOTS < 2**20 slots.
MAX_EPISODES = 512

#: most agents a queue formula takes (memory grows with the count)
MAX_AGENTS = 10_000_000

#: most intervals of a team's day (``teams.*.arrival_profile``, ``shift_plan``): quarter
#: hours of 24 hours, the finest grain of workforce planning
MAX_INTERVALS = 96
