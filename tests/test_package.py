"""Tests for the package's public names (:mod:`cxsim`): they load on first use.

``import cxsim`` must stay light (the command line's --help and validate import it); every
public name and the submodules a bare ``import cxsim`` used to load still work as before.
Import order matters here, so the checks that depend on it run in fresh processes.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest
from conftest import subprocess_env

import cxsim

HEAVY = ("numpy", "numba", "mesa", "pandas", "scipy", "matplotlib", "networkx")

#: where each public name is defined
DEFINED_IN = {
    "CXModel": "model", "Customer": "agents", "Employee": "agents", "Partner": "agents",
    "RunResult": "runner", "run": "runner", "Scenario": "scenario",
    "ScenarioError": "scenario", "default_scenario": "scenario", "load_scenario": "scenario",
    "SweepResult": "sweep", "sweep": "sweep", "compare": "compare", "Ensemble": "ensemble",
}


def fresh(code: str, tmp_path) -> object:
    """Run ``code`` in a fresh interpreter; return the JSON it prints."""
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env=subprocess_env())
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_import_loads_no_heavy_library(tmp_path):
    modules = fresh("import json, sys; import cxsim; print(json.dumps(sorted(sys.modules)))",
                    tmp_path)
    top = {m.partition(".")[0] for m in modules}
    assert sorted(top.intersection(HEAVY)) == []
    assert sorted(m for m in modules if m.startswith("cxsim")) == ["cxsim"]


def test_all_and_version():
    assert cxsim.__version__ == "0.1.0"
    assert sorted(cxsim.__all__) == sorted([*DEFINED_IN, "queueing", "__version__"])


@pytest.mark.parametrize("name", sorted(DEFINED_IN))
def test_public_name_is_the_defining_modules(name):
    module = importlib.import_module(f"cxsim.{DEFINED_IN[name]}")
    assert getattr(cxsim, name) is getattr(module, name)


def test_queueing_is_the_module():
    import cxsim.queueing

    assert cxsim.queueing is sys.modules["cxsim.queueing"]
    from cxsim import queueing

    assert queueing.erlang_c is cxsim.queueing.erlang_c


def test_star_import_gives_every_public_name():
    names: dict = {}
    exec("from cxsim import *", names)
    assert set(cxsim.__all__) <= set(names)
    assert names["run"] is cxsim.run


def test_dir_lists_names_not_yet_loaded():
    assert set(cxsim.__all__) <= set(dir(cxsim))
    assert {"scenario", "model", "runner", "kernels"} <= set(dir(cxsim))


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="module 'cxsim' has no attribute 'nope'"):
        cxsim.nope  # noqa: B018
    assert not hasattr(cxsim, "nope")


def test_compare_and_sweep_stay_the_functions(tmp_path):
    # their modules share their names; loading a module first must not replace the function
    kinds = fresh("""if True:
        import json
        import cxsim.compare, cxsim.sweep
        import cxsim
        first = [type(cxsim.compare).__name__, type(cxsim.sweep).__name__]
        from cxsim import compare, sweep
        import cxsim.compare as c
        print(json.dumps([*first, type(compare).__name__, type(sweep).__name__,
                          type(c).__name__, cxsim.compare is cxsim.compare.__globals__["compare"]]))
        """, tmp_path)
    assert kinds == ["function"] * 5 + [True]


def test_submodules_are_attributes_after_a_bare_import(tmp_path):
    got = fresh("""if True:
        import json
        import cxsim
        print(json.dumps([cxsim.scenario.DEFAULT_SCENARIO, cxsim.design.MAX_POINTS,
                          cxsim.kernels.MAX_EPISODES, cxsim.queueing.MAX_AGENTS,
                          cxsim.params.MAX_VALUES, cxsim.executors.MAX_RUNS]))
        """, tmp_path)
    assert got == ["retail.toml", 100_000, 512, 10_000_000, 10_000, 100_000]


@pytest.mark.parametrize("given,expected", [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_idle_parallel_threads_sleep_unless_the_user_says_otherwise(given, expected):
    # spinning idle OpenMP threads fight another program for its core (contention.py); the
    # kernels ask them to sleep before any parallel loop starts, and a value set wins
    env = subprocess_env()
    env.pop("OMP_WAIT_POLICY", None)  # this process has imported the kernels
    if given is not None:
        env["OMP_WAIT_POLICY"] = given
    code = "import os, cxsim.kernels; print(os.environ['OMP_WAIT_POLICY'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == expected
