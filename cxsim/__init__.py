"""cxsim: agent-based simulation of customer-experience ecosystems.

Customers, employees and partners are agents (Mesa) around a graph of touchpoints; a numba
kernel advances every customer each tick.  Start with::

    import cxsim
    model = cxsim.CXModel(cxsim.default_scenario(), rng=42)
    model.run(365)
    model.metrics
"""

from . import queueing
from .agents import Customer, Employee, Partner
from .compare import compare
from .model import CXModel
from .runner import RunResult, run
from .scenario import Scenario, ScenarioError, default_scenario, load_scenario
from .sweep import SweepResult, sweep

__version__ = "0.1.0"

__all__ = [
    "CXModel", "Customer", "Employee", "Partner", "RunResult", "Scenario", "ScenarioError",
    "SweepResult", "compare", "default_scenario", "load_scenario", "queueing", "run", "sweep",
    "__version__",
]
