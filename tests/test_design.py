"""Designs and sensitivity analysis (:mod:`cxsim.design`), docked on test functions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cxsim.design import expected_size, make_design, sensitivity
from cxsim.params import ParamError, parse_spec

pytest.importorskip("SALib", reason="the sensitivity extra (SALib) is not installed")

PI = math.pi


def uniform_params(d: int, lo: float = -PI, hi: float = PI):
    return [parse_spec(f"x{i}", f"uniform({lo},{hi})") for i in range(d)]


def matrix(design) -> np.ndarray:
    return np.array([[pt[p.path] for p in design.varied] for pt in design.points])


# ---- sizes -------------------------------------------------------------------------------------


@pytest.mark.parametrize("d", [1, 2, 3, 5])
@pytest.mark.parametrize("n", [4, 16])
def test_sobol_size_is_n_times_d_plus_2(d, n):
    design = make_design(uniform_params(d), "sobol", n, seed=1)
    assert len(design) == n * (d + 2) == expected_size("sobol", n, d)
    assert design.unit.shape == (n * (d + 2), d)


@pytest.mark.parametrize("d", [1, 2, 4])
@pytest.mark.parametrize("r", [3, 10])
def test_morris_size_is_r_times_d_plus_1(d, r):
    design = make_design(uniform_params(d), "morris", r, seed=1)
    assert len(design) == r * (d + 1) == expected_size("morris", r, d)


def test_fixed_parameters_are_not_dimensions():
    params = [*uniform_params(2), parse_spec("fixed", "7")]
    design = make_design(params, "sobol", 8, seed=0)
    assert len(design) == 8 * (2 + 2)
    assert [p.path for p in design.varied] == ["x0", "x1"]
    assert all(pt["fixed"] == 7 for pt in design.points)


def test_grid_is_the_full_factorial_last_parameter_fastest():
    design = make_design([parse_spec("a", "1,2,3"), parse_spec("b", "x,y"),
                          parse_spec("c", "0.5")], "grid")
    assert len(design) == 6 and design.unit is None
    assert [(p["a"], p["b"]) for p in design.points] == [
        (1, "x"), (1, "y"), (2, "x"), (2, "y"), (3, "x"), (3, "y")]
    assert all(p["c"] == 0.5 for p in design.points)


def test_lhs_hits_every_stratum_once():
    n = 20
    design = make_design(uniform_params(3, 0, 1), "lhs", n, seed=5)
    assert len(design) == n
    for j in range(3):
        strata = np.floor(design.unit[:, j] * n).astype(int)
        assert sorted(strata) == list(range(n))


@pytest.mark.parametrize("kind", ["lhs", "sobol", "morris"])
def test_designs_are_pure_functions_of_the_seed(kind):
    a = make_design(uniform_params(2), kind, 8, seed=3)
    b = make_design(uniform_params(2), kind, 8, seed=3)
    c = make_design(uniform_params(2), kind, 8, seed=4)
    assert a.points == b.points
    assert a.points != c.points


def test_discrete_parameters_in_a_sampled_design():
    design = make_design([parse_spec("n", "int(8,12)"), parse_spec("s", "a,b")], "lhs", 50,
                         seed=2)
    assert {p["n"] for p in design.points} == {8, 9, 10, 11, 12}
    assert {p["s"] for p in design.points} == {"a", "b"}


@pytest.mark.parametrize("args, words", [
    (([parse_spec("a", "uniform(0,1)")], "grid", None), "grid needs values"),
    (([parse_spec("a", "1,2")], "grid", 10), "does not apply to a grid"),
    (([parse_spec("a", "1,2"), parse_spec("a", "3")], "grid", None), "given twice"),
    (([parse_spec("a", "1")], "sobol", 8), "at least one parameter that varies"),
    (([parse_spec("a", "uniform(0,1)")], "lhs", 1), "at least 2"),
    (([parse_spec("a", "1,2")], "factorial", None), "must be one of"),
    (([], "grid", None), "at least one parameter PATH=SPEC"),
])
def test_bad_designs(args, words):
    with pytest.raises(ParamError, match=words) as err:
        make_design(*args)
    assert "--" not in str(err.value)  # a Python caller is told its arguments, not flags


# ---- Sobol' indices docked on the Ishigami function ------------------------------------------


def ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def ishigami_indices(a: float = 7.0, b: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Analytical first-order and total indices (Ishigami & Homma 1990; Sobol' 1993)."""
    v1 = 0.5 * (1 + b * PI ** 4 / 5) ** 2
    v2 = a ** 2 / 8
    v13 = b ** 2 * PI ** 8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / v, np.array([v1 + v13, v2, v13]) / v


def test_ishigami_reference_values():
    s1, st = ishigami_indices()
    assert s1 == pytest.approx([0.3139, 0.4424, 0.0], abs=1e-4)
    assert st == pytest.approx([0.5576, 0.4424, 0.2437], abs=1e-4)


def test_sobol_indices_of_ishigami():
    design = make_design(uniform_params(3), "sobol", 4096, seed=11)
    y = ishigami(matrix(design))
    table = sensitivity(design, {"y": y}, seed=11)
    s1, st = ishigami_indices()
    for i, row in table.reset_index(drop=True).iterrows():
        # the estimator's own bootstrap interval (95 %) must cover the analytical value;
        # a 2x margin allows for the 1-in-20 miss of any single 95 % interval
        half1 = (row["S1_ci_high"] - row["S1_ci_low"]) / 2
        halft = (row["ST_ci_high"] - row["ST_ci_low"]) / 2
        assert abs(row["S1"] - s1[i]) < 2 * half1 + 1e-3, row.to_dict()
        assert abs(row["ST"] - st[i]) < 2 * halft + 1e-3, row.to_dict()
        assert half1 < 0.06 and halft < 0.06


# ---- Morris docked on a linear function -----------------------------------------------------


def test_morris_effects_of_a_linear_function_are_exact():
    # y = 3 x0 − 1 x1 + 0 x2 with x0 in [0, 2], x1 in [−1, 1], x2 in [0, 10]: every elementary
    # effect per unit of the parameter's range is coefficient × range
    params = [parse_spec("x0", "uniform(0,2)"), parse_spec("x1", "uniform(-1,1)"),
              parse_spec("x2", "uniform(0,10)")]
    design = make_design(params, "morris", 12, seed=4)
    x = matrix(design)
    y = 3 * x[:, 0] - 1 * x[:, 1] + 0 * x[:, 2]
    table = sensitivity(design, {"y": y}, seed=4).set_index("parameter")
    assert table.loc["x0", "mu"] == pytest.approx(6.0)
    assert table.loc["x1", "mu"] == pytest.approx(-2.0)
    assert table.loc["x2", "mu_star"] == pytest.approx(0.0, abs=1e-12)
    assert table.loc["x0", "mu_star"] == pytest.approx(6.0)
    assert table["sigma"].max() == pytest.approx(0.0, abs=1e-9)


def test_sensitivity_marks_missing_and_constant_outcomes():
    design = make_design(uniform_params(2), "sobol", 8, seed=0)
    y = np.arange(len(design), dtype=float)
    y_missing = y.copy()
    y_missing[3] = np.nan
    table = sensitivity(design, {"missing": y_missing, "flat": np.ones(len(design))})
    assert table["S1"].isna().all()
    assert set(table["note"]) == {"1 design points have no value", "constant outcome"}


def test_sensitivity_needs_a_sobol_or_morris_design():
    design = make_design(uniform_params(2), "lhs", 8, seed=0)
    with pytest.raises(ValueError, match="sobol or morris"):
        sensitivity(design, {"y": np.zeros(8)})
