"""Regression baseline: the default scenario at a fixed seed must not drift unnoticed.

If a deliberate model change moves these numbers, regenerate the file with
``python tests/baseline/update_baseline.py`` and say why in the commit message.
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent / "baseline"))
from update_baseline import BASELINE, baseline_metrics  # noqa: E402


def test_default_scenario_matches_baseline():
    expected = pd.read_csv(BASELINE)
    got = baseline_metrics()
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected)
    for col in expected.columns:
        a, b = got[col].to_numpy(dtype=float), expected[col].to_numpy(dtype=float)
        assert np.allclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True), (
            f"{col} drifted from the baseline; first differing tick: "
            f"{int(got['tick'][~np.isclose(a, b, rtol=1e-9, equal_nan=True)].iloc[0])}")
