"""cxsim: agent-based simulation of customer-experience ecosystems.

Customers, employees and partners are agents (Mesa) around a graph of touchpoints; a numba
kernel advances every customer each tick.  Start with::

    import cxsim
    model = cxsim.CXModel(cxsim.default_scenario(), rng=42)
    model.run(365)
    model.metrics

The public names load on first use, so ``import cxsim`` (and the command line's ``--help``
and ``validate``) does not pay for Mesa, numba, pandas and SciPy until a model is built.
"""

import importlib as _importlib
import sys as _sys
import types as _types
import typing as _typing

if _typing.TYPE_CHECKING:  # pragma: no cover - the same names, loaded by __getattr__ at run time
    from . import queueing
    from .agents import Customer, Employee, Partner
    from .compare import compare
    from .ensemble import Ensemble
    from .model import CXModel
    from .runner import RunResult, run
    from .scenario import Scenario, ScenarioError, default_scenario, load_scenario
    from .sweep import SweepResult, sweep

__version__ = "0.1.0"

__all__ = [
    "CXModel", "Customer", "Employee", "Ensemble", "Partner", "RunResult", "Scenario",
    "ScenarioError", "SweepResult", "compare", "default_scenario", "load_scenario", "queueing",
    "run", "sweep", "__version__",
]

#: public name -> the submodule defining it
_PUBLIC = {
    "CXModel": "model", "Customer": "agents", "Employee": "agents", "Partner": "agents",
    "RunResult": "runner", "run": "runner", "Scenario": "scenario",
    "ScenarioError": "scenario", "default_scenario": "scenario",
    "load_scenario": "scenario", "SweepResult": "sweep", "sweep": "sweep",
    "compare": "compare", "Ensemble": "ensemble",
}

#: submodules reachable as attributes after a bare ``import cxsim`` (``cxsim.scenario``):
#: the ones the public names import
_SUBMODULES = frozenset({
    "agents", "compare", "design", "ensemble", "environment", "errors", "executors", "footprint",
    "interventions", "io", "kernels", "market", "model", "network", "params", "partners",
    "queueing", "queues", "recorder", "rng", "runner", "scenario", "social", "strategies",
    "sweep", "tables", "vocabulary", "workforce",
})


def __getattr__(name: str):
    """Load a public name or submodule on first use (PEP 562) and keep it."""
    if name in _PUBLIC:
        value = getattr(_importlib.import_module(f"{__name__}.{_PUBLIC[name]}"), name)
    elif name in _SUBMODULES:
        value = _importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The package's names, loaded or not."""
    return sorted(set(globals()) | set(__all__) | _SUBMODULES)


class _Package(_types.ModuleType):
    """The package's module type: ``cxsim.compare`` and ``cxsim.sweep`` stay the functions.

    Importing a submodule binds it to its name in the package; the modules
    :mod:`cxsim.compare` and :mod:`cxsim.sweep` share their names with the functions, which
    keep them (as when the package imported every name eagerly).
    """

    def __setattr__(self, name: str, value) -> None:
        if (name in ("compare", "sweep") and isinstance(value, _types.ModuleType)
                and value.__name__ == f"{self.__name__}.{name}"):
            return
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package
