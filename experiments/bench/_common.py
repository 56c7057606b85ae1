"""Shared helpers of the benchmark scripts: machine facts and the results file."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results.jsonl"


def machine() -> dict:
    """Facts about the machine a benchmark ran on."""
    import mesa
    import numba
    import numpy

    return {"python": platform.python_version(), "cpus": os.cpu_count(),
            "numba_threads": numba.get_num_threads(), "numba": numba.__version__,
            "numpy": numpy.__version__, "mesa": mesa.__version__,
            "processor": platform.processor() or platform.machine()}


def record(name: str, figures: dict, save: bool = True) -> dict:
    """Print a benchmark's figures as JSON and append them to ``results.jsonl``."""
    row = {"benchmark": name, "when": time.strftime("%Y-%m-%d %H:%M:%S"),
           "machine": machine(), **figures}
    print(json.dumps(row, indent=2))
    if save:
        with RESULTS.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")
    return row
