"""The one way to run many runs: run_many over serial, pooled and foreign executors."""

import os
from concurrent.futures import Executor, Future

import pytest

import cxsim
from cxsim import executors
from cxsim.errors import InputError
from cxsim.executors import ExecutorBroken, RunSpec, process_pool, run_many
from cxsim.runner import resize


@pytest.fixture(scope="module")
def tiny() -> cxsim.Scenario:
    return resize(cxsim.default_scenario(), customers=600, days=8)


@pytest.mark.parametrize("ensemble", [None, 3])
def test_a_failing_run_is_recorded_and_the_others_go_on(tiny, ensemble):
    """One by one, or together in an ensemble: the bad run fails alone, the records match."""
    data = tiny.to_dict()
    specs = [RunSpec(0, tiny, seed=1),
             RunSpec(1, data, seed=1, overrides={"touchpoints.chat.quality": 1.5}),
             RunSpec(2, data, seed=1, overrides={"touchpoints.chat.quality": 0.8},
                     tick_columns=("tick", "active"))]
    seen = []
    batch = run_many(specs, seen.append, executor="serial", ensemble=ensemble)
    assert [r["key"] for r in batch.records] == [0, 1, 2] and batch.executor == "serial"
    assert [r["status"] for r in batch.records] == ["done", "failed", "done"]
    bad = batch.records[1]
    assert bad["error"] == "touchpoints.chat.quality must be in [0, 1], got 1.5"
    assert bad["bad_input"] and bad["summary"] == {} and bad["ticks"] is None
    assert batch.records[0]["summary"] == cxsim.run(tiny, 1).summary
    assert batch.records[0]["ticks"] is None
    assert list(batch.records[2]["ticks"]) == ["tick", "active"]
    assert len(batch.records[2]["ticks"]["tick"]) == tiny.simulation.ticks
    assert sorted(r["key"] for r in seen) == [0, 1, 2]


def _churned_by_segment(result) -> list[int]:
    # a measure runs in the worker on the RunResult (module level: picklable)
    return result.segments.groupby("segment", sort=True)["churned"].sum().tolist()


def _fails(result):
    raise ValueError("cannot measure this run")


@pytest.mark.parametrize("executor,ensemble", [("serial", None), ("serial", 3),
                                               ("processes", None), ("processes", 2)])
def test_a_measure_runs_where_the_run_ends(tiny, executor, ensemble):
    specs = [RunSpec(k, tiny, seed=k, measure=_churned_by_segment) for k in range(3)]
    specs.append(RunSpec(3, tiny, seed=3, measure=_fails))
    batch = run_many(specs, executor=executor, workers=2, ensemble=ensemble)
    for k in range(3):
        assert batch.records[k]["measured"] == _churned_by_segment(cxsim.run(tiny, k))
    bad = batch.records[3]
    assert bad["status"] == "failed" and bad["error"] == "ValueError: cannot measure this run"
    assert run_many([RunSpec(0, tiny, seed=0)], executor="serial").records[0]["measured"] is None


class GivesUpExecutor(Executor):
    """Runs tasks in this process, except the second, which it 'loses'."""

    def __init__(self):
        self.n = 0

    def submit(self, fn, /, *args, **kwargs):
        self.n += 1
        fut: Future = Future()
        if self.n == 2:
            fut.set_exception(TimeoutError("the worker holding it went away"))
        else:
            fut.set_result(fn(*args, **kwargs))
        return fut


def test_a_task_the_executor_gives_up_on_is_a_failed_run(tiny):
    specs = [RunSpec(k, tiny, seed=k) for k in range(3)]
    batch = run_many(specs, executor=GivesUpExecutor())
    assert [r["status"] for r in batch.records] == ["done", "failed", "done"]
    assert batch.records[1]["error"] == "TimeoutError: the worker holding it went away"
    assert not batch.records[1]["bad_input"]
    assert batch.executor == "GivesUpExecutor"


def test_unknown_executor_names_the_argument(tiny):
    with pytest.raises(InputError, match="^executor must be 'serial'") as err:
        run_many([RunSpec(0, tiny)], executor="threads")
    assert err.value.arg == "executor"


def test_the_pool_knows_its_workers_and_stops_them():
    pool = process_pool(2)
    try:
        pids = {pool.submit(os.getpid).result(timeout=120) for _ in range(6)}
        workers = pool.workers
        assert pids <= {p.pid for p in workers} and 1 <= len(workers) <= 2
        assert all(p.is_alive() for p in workers)
    finally:
        pool.stop_now()
    assert not any(running(p.pid) for p in workers)


def running(pid: int) -> bool:
    """Whether a process still runs (not ``Process.is_alive``: when the executor's own thread
    has already reaped the worker, ``is_alive`` in this thread cannot tell and says True)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(") ", 1)[1][0] not in "ZX"  # a zombie is not running
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel (a zombie counts as running here)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def test_ctrl_c_stops_the_pool_it_started(tiny, monkeypatch):
    pools = []

    def tracked(n):
        pools.append(process_pool(n))
        return pools[-1]

    monkeypatch.setattr(executors, "process_pool", tracked)

    def interrupt(_record):
        raise KeyboardInterrupt

    specs = [RunSpec(k, tiny, seed=k) for k in range(4)]
    with pytest.raises(KeyboardInterrupt):
        run_many(specs, interrupt, workers=2)
    assert len(pools) == 1 and pools[0].workers
    assert not any(running(p.pid) for p in pools[0].workers)


def test_a_dead_worker_breaks_the_pool_after_finished_records(tiny, monkeypatch):
    pools = []

    def tracked(n):
        pools.append(process_pool(n))
        return pools[-1]

    monkeypatch.setattr(executors, "process_pool", tracked)
    got = []

    def kill_one(record):
        got.append(record)
        if len(got) == 1:
            for p in pools[0].workers:
                p.kill()

    specs = [RunSpec(k, tiny, seed=k) for k in range(6)]
    with pytest.raises(ExecutorBroken, match="a worker process died"):
        run_many(specs, kill_one, workers=2, window=2)
    assert got and got[0]["status"] == "done"


def test_ctrl_c_inside_a_compiled_call_stops_instead_of_failing_the_run(tiny, monkeypatch):
    """A Ctrl-C that lands while numba's dispatcher runs comes back as SystemError caused by
    the KeyboardInterrupt (seen once in CI: the sweep recorded it as a failed run and went
    on); the run stops the batch as Ctrl-C does."""
    from cxsim import runner

    def interrupted(*_a, **_k):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as ki:
            raise SystemError("CPUDispatcher(<function fill_csr>) returned a result with an "
                              "exception set") from ki

    monkeypatch.setattr(runner, "run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        executors.execute(RunSpec(0, tiny))
    # any other SystemError is still a failed run
    monkeypatch.setattr(runner, "run", lambda *a, **k: (_ for _ in ()).throw(SystemError("x")))
    assert executors.execute(RunSpec(0, tiny))["status"] == "failed"
