"""Wall time of the quick ``cxsim`` commands: ``--help``, ``run --help``, ``validate``.

Each command runs in a fresh process the way the console script runs it
(``from cxsim.cli import main``), several times; the median is reported (the machine is
shared, so single timings are noisy).  ``import cxsim`` and a bare interpreter start are
timed alongside for reference.

    python experiments/bench/startup_cli.py
    python experiments/bench/startup_cli.py --repeats 11 --no-save
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from _common import count, record, run_main

#: what the ``cxsim`` console script runs (``cxsim = "cxsim.cli:main"``)
ENTRY = "import sys; from cxsim.cli import main; sys.exit(main())"


def commands() -> dict[str, list[str]]:
    """The timed command lines, by label."""
    from cxsim.scenario import DEFAULT_SCENARIO, scenario_dir

    scenario = str(scenario_dir() / DEFAULT_SCENARIO)
    py = [sys.executable, "-c"]
    return {"python": [*py, "pass"],
            "import cxsim": [*py, "import cxsim"],
            "--help": [*py, ENTRY, "--help"],
            "run --help": [*py, ENTRY, "run", "--help"],
            "validate": [*py, ENTRY, "validate", scenario]}


def timed(cmd: list[str]) -> float:
    """Seconds one run of ``cmd`` takes (it must exit 0)."""
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=count, default=7)
    p.add_argument("--no-save", action="store_true", help="do not append to results.jsonl")
    a = p.parse_args()
    cmds = commands()
    times: dict[str, list[float]] = {label: [] for label in cmds}
    timed(cmds["validate"])  # warm the file cache (bytecode, the shared libraries)
    for _ in range(a.repeats):  # interleaved, so a busy minute hits every command alike
        for label, cmd in cmds.items():
            times[label].append(timed(cmd))
    record("startup_cli", {
        "repeats": a.repeats,
        "median_s": {k: round(statistics.median(v), 3) for k, v in times.items()},
        "min_s": {k: round(min(v), 3) for k, v in times.items()},
        "max_s": {k: round(max(v), 3) for k, v in times.items()}}, save=not a.no_save)


if __name__ == "__main__":
    run_main(main)
