"""Every script in experiments/ runs, at a small size."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SMALL_ARGS = {
    "bench/company.py": ["--customers", "2000", "--ticks", "3", "--no-save"],
    "bench/compile_profile.py": ["--customers", "1000", "--days", "3", "--top", "3",
                                 "--no-save"],
    "bench/engines.py": ["--customers", "2000", "--ticks", "3", "--mesa-customers", "300",
                         "--mesa-ticks", "2", "--no-save"],
    "bench/startup.py": ["--customers", "1000", "--days", "5", "--warm-repeats", "1",
                         "--no-save"],
    "bench/startup_cli.py": ["--repeats", "1", "--no-save"],
    "bench/contention.py": ["--customers", "1000", "--days", "3", "--repeats", "1",
                            "--no-save"],
    "bench/phases.py": ["--customers", "2000", "--ticks", "3", "--no-save"],
    "bench/ensemble.py": ["--runs", "3", "--customers", "1500", "--days", "4",
                          "--one-by-one", "2", "--no-save"],
    "bench/peers/bench.py": ["--customers", "500", "--ticks", "3", "--repeats", "1",
                             "--no-save"],
    "bench/scaling.py": ["--sizes", "1000,3000", "--ticks", "2", "--thread-size", "2000",
                         "--no-save"],
    "bench/sweep.py": ["--sizes", "1500:20:4", "--repeats", "1", "--least", "0",
                       "--no-save"],
    "bench/scenario_ranges.py": ["telco", "--seeds", "1", "--customers", "2000", "--days",
                                 "20", "--json"],
    "bench/steady_calibration.py": ["coffee", "--customers", "2000", "--days", "40",
                                    "--json"],
    "clv.py": ["--customers", "3000", "--days", "90", "--reps", "2", "--workers", "1",
               "--out", "clv"],
    "staffing_training.py": ["--customers", "3000", "--days", "30", "--reps", "1",
                             "--headcounts", "8,12", "--out", "st"],
    "churn_drivers_sobol.py": ["--samples", "2", "--customers", "1500", "--days", "20",
                               "--out", "cs"],
    "payback.py": ["--customers", "2000", "--days", "60", "--reps", "2", "--out", "pb"],
    "moments_of_truth.py": ["--customers", "2000", "--days", "40", "--reps", "2",
                            "--out", "mt"],
    "proactive_retention.py": ["--customers", "2000", "--days", "40", "--reps", "2",
                               "--aucs", "0.5,0.8,1", "--out", "pr"],
    "partner_failure.py": ["--customers", "2000", "--days", "130", "--reps", "2",
                           "--out", "pf"],
    "recovery_paradox.py": ["--customers", "2000", "--days", "40", "--reps", "1",
                            "--out", "rp"],
    "launch_spike.py": ["--customers", "5000", "--days", "75", "--reps", "2", "--temps", "4",
                        "--out", "ls"],
    "intraday_peaks.py": ["--customers", "3000", "--days", "10", "--reps", "2", "--out", "ip"],
    "tick_invariance.py": ["--customers", "300", "--reps", "2", "--months", "1"],
    "calibration.py": ["--customers", "3000", "--days", "120", "--budget", "32", "--reps",
                       "2", "--compare-reps", "3", "--out", "cal"],
    "bench/calibration.py": ["--customers", "2000", "--days", "90", "--budget", "16",
                             "--reps", "1", "--no-save"],
    "bench/optimise.py": ["--customers", "2000", "--days", "30", "--trials", "10", "--reps",
                          "2", "--no-save"],
    "portfolio.py": ["--customers", "2000", "--days", "60", "--trials", "10", "--reps", "2",
                     "--reeval-reps", "2", "--sweep-reps", "1", "--out", "pf"],
    "voice_of_customer.py": ["--customers", "3000", "--days", "100", "--reps", "2",
                             "--out", "voc"],
    "triggered_staffing.py": ["--customers", "3000", "--days", "220", "--reps", "2",
                              "--out", "ts"],
    # issue 17
    "reputation.py": ["--customers", "2000", "--days", "130", "--reps", "2", "--out", "rep"],
}
#: the figure each workshop script writes (relative to the folder it runs in)
FIGURES = {
    "clv.py": "clv/clv.png",
    "staffing_training.py": "st/staffing_training.png",
    "churn_drivers_sobol.py": "cs/churn_drivers_sobol.png",
    "payback.py": "pb/payback.png",
    "moments_of_truth.py": "mt/moments_of_truth.png",
    "proactive_retention.py": "pr/proactive_retention.png",
    "partner_failure.py": "pf/partner_failure.png",
    "recovery_paradox.py": "rp/recovery_paradox.png",
    "launch_spike.py": "ls/launch_spike.png",
    "intraday_peaks.py": "ip/intraday_peaks.png",
    "calibration.py": "cal/recovery.png",
    "portfolio.py": "pf/portfolio/pareto_front.png",
    "voice_of_customer.py": "voc/voice_of_customer.png",
    "triggered_staffing.py": "ts/triggered_staffing.png",
    "reputation.py": "rep/reputation.png",  # issue 17
}
#: scripts that print their figures instead of drawing them
TEXT_ONLY = {"tick_invariance.py"}
SCRIPTS = sorted(p.relative_to(ROOT / "experiments").as_posix()
                 for p in (ROOT / "experiments").rglob("*.py") if not p.name.startswith("_"))


def test_every_script_has_a_small_size():
    assert set(SCRIPTS) == set(SMALL_ARGS), "add new experiment scripts to SMALL_ARGS"


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_runs(script, tmp_path):
    path = ROOT / "experiments" / script
    proc = subprocess.run([sys.executable, str(path), *SMALL_ARGS[script]], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    if script.startswith("bench/"):
        figures = json.loads(proc.stdout)
        assert figures["benchmark"]
        # a measurement that failed in its child process is recorded, not raised: none may
        # fail at these small sizes
        assert '"error"' not in proc.stdout, proc.stdout
    elif script in TEXT_ONLY:
        assert proc.stdout.strip(), f"{script} printed nothing"
    else:
        figure = tmp_path / FIGURES[script]
        assert figure.stat().st_size > 20_000, f"{script} wrote no figure"


@pytest.mark.parametrize("script, args, message", [
    ("bench/scaling.py", ["--sizes", "1000,abc"], "argument --sizes: not a finite number: 'abc'"),
    ("bench/scaling.py", ["--sizes", "1000,10"], "market.mean_degree must be at most"),
    ("bench/phases.py", ["--ticks", "0"], "argument --ticks: must be a whole number of at least 1"),
    ("bench/phases.py", ["--customers", "5"], "market.mean_degree must be at most"),
    ("bench/sweep.py", ["--sizes", "1500:20"], "expected CUSTOMERS:DAYS:RUNS, got '1500:20'"),
    ("bench/sweep.py", ["--least", "-1"], "argument --least: must be at least 0"),
    ("bench/engines.py", ["--customers", "2.5"], "must be a whole number of at least 1"),
    ("bench/engines.py", ["--ticks", "inf"], "argument --ticks: not a finite number: 'inf'"),
    ("bench/peers/bench.py", ["--customers", "5"], "market.mean_degree must be at most"),
    ("bench/peers/bench.py", ["--repeats", "0"],
     "argument --repeats: must be a whole number of at least 1"),
])
def test_benchmark_bad_input_is_one_line_and_saves_nothing(script, args, message, tmp_path):
    results = ROOT / "experiments" / "bench" / "results.jsonl"
    before = results.read_bytes()
    proc = subprocess.run([sys.executable, str(ROOT / "experiments" / script), *args],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert message in proc.stderr.strip().splitlines()[-1]
    assert results.read_bytes() == before
