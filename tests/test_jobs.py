"""Jobs through the REST API of a real Jupyter server: schedules, grids, retention, delete."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from pathlib import Path

import psutil
import pytest
from croniter import croniter

from orchest_ext.events import STEP_STATUS
from orchest_ext.executors.local import LocalExecutor
from orchest_ext.jobs import JobManager
from orchest_ext.jobs.request import job_settings
from orchest_ext.pipeline import load_pipeline
from orchest_ext.runs import OwnedElsewhere, RunManager
from orchest_ext.store import Store

from .helpers import (
    TERMINAL,
    assert_no_step_containers,
    make_pipeline,
    notebook,
    until,
    wait_for_run,
)
from .server import ServerProcess
from .test_events import collect_run_events

PARAMS_STEP = (
    "import orchest\n"
    "print('a=%s b=%s' % (orchest.get_pipeline_param('a'), orchest.get_step_param('b')))\n"
)


def job_getter(api, job_id: str) -> Callable[[], Awaitable[dict]]:
    async def get() -> dict:
        code, job = await api("GET", "jobs", job_id)
        assert code == 200, job
        return job

    return get


async def test_cron_job_fires_on_its_schedule_and_pauses(api, jp_root_dir):
    make_pipeline(jp_root_dir / "p", {"Echo": ("echo.sh", "echo tick\n", [])})
    cron = "* * * * * */2"
    code, job = await api(
        "POST",
        "jobs",
        body={
            "pipeline_path": "p/pipeline.orchest",
            "schedule": {"cron": cron, "timezone": "Europe/Amsterdam"},
            "overlap_policy": "allow",
        },
    )
    assert code == 201, job
    assert job["status"] == "ACTIVE" and job["schedule"]["cron"] == cron
    get = job_getter(api, job["id"])

    async def two_finished_runs():
        current = await get()
        finished = [r for r in current["runs"] if r["status"] == "SUCCESS"]
        return current if len(finished) >= 2 else None

    current = await until(two_finished_runs, "two fires of the job")
    fires = sorted({datetime.fromisoformat(r["fire_time"]) for r in current["runs"]})
    assert len(fires) >= 2
    for fire in fires:
        assert croniter.match(cron, fire), fires
    for run in current["runs"]:
        assert datetime.fromisoformat(run["created_time"]) >= datetime.fromisoformat(
            run["fire_time"]
        ), run
        assert Path(run["run_dir"]).is_relative_to(Path(current["snapshot_dir"]))

    code, paused = await api("PATCH", "jobs", job["id"], body={"paused": True})
    assert code == 200 and paused["status"] == "PAUSED"
    code, resumed = await api("PATCH", "jobs", job["id"], body={"paused": False})
    assert code == 200 and resumed["status"] == "ACTIVE"
    assert datetime.fromisoformat(resumed["next_fire_time"]) > datetime.fromisoformat(
        current["last_fire_time"]
    )

    code, deleted = await api("DELETE", "jobs", job["id"], remove_runs="true")
    assert code == 200 and deleted["status"] == "DELETED"
    assert not Path(job["job_dir"]).exists()
    for run in current["runs"]:
        assert (await api("GET", "runs", run["id"]))[0] == 404
    assert (await api("GET", "jobs", job["id"]))[0] == 404


async def test_a_paused_job_has_no_next_fire_time(api, jp_root_dir):
    make_pipeline(jp_root_dir / "paused", {"Echo": ("echo.sh", "echo tick\n", [])})
    body = {"pipeline_path": "paused/pipeline.orchest", "schedule": {"cron": "0 3 1 1 *"}}
    code, job = await api("POST", "jobs", body=body)
    assert code == 201 and job["next_fire_time"] is not None, job

    code, paused = await api("PATCH", "jobs", job["id"], body={"paused": True})
    assert code == 200 and paused["status"] == "PAUSED"
    assert paused["next_fire_time"] is None
    assert (await job_getter(api, job["id"])())["next_fire_time"] is None
    code, listed = await api("GET", "jobs")
    assert code == 200
    assert [j["next_fire_time"] for j in listed["jobs"] if j["id"] == job["id"]] == [None]

    code, resumed = await api("PATCH", "jobs", job["id"], body={"paused": False})
    assert code == 200 and resumed["status"] == "ACTIVE"
    assert datetime.fromisoformat(resumed["next_fire_time"]) > datetime.now(timezone.utc)
    assert (await api("DELETE", "jobs", job["id"]))[0] == 200


async def test_grid_of_two_by_three_makes_six_runs_with_their_parameters(api, jp_root_dir):
    _, uuids = make_pipeline(jp_root_dir / "p", {"Echo": ("echo.py", PARAMS_STEP, [])})
    code, job = await api(
        "POST",
        "jobs",
        body={
            "pipeline_path": "p/pipeline.orchest",
            "parameter_grid": {
                "pipeline_parameters": {"a": [1, 2]},
                "Echo": {"b": ["x", "y", "z"]},
            },
            "max_parallel": 3,
        },
    )
    assert code == 201, job
    get = job_getter(api, job["id"])

    async def done():
        current = await get()
        return current if current["status"] == "DONE" else None

    current = await until(done, "the job's six runs")
    runs = current["runs"]
    assert len(runs) == 6 and {r["status"] for r in runs} == {"SUCCESS"}
    seen = set()
    for run in runs:
        a = run["parameters"]["pipeline_parameters"]["a"]
        b = run["parameters"][uuids["Echo"]]["b"]
        assert run["job_parameters"] == {"pipeline_parameters": {"a": a}, "Echo": {"b": b}}
        code, log = await api("GET", "runs", run["id"], "steps", uuids["Echo"], "log")
        assert code == 200 and log["text"] == f"a={a} b={b}\n", log
        seen.add((a, b))
    assert seen == {(a, b) for a in (1, 2) for b in "xyz"}


async def test_a_snapshot_job_runs_the_files_as_they_were(api, jp_root_dir):
    make_pipeline(jp_root_dir / "p", {"Echo": ("echo.sh", "echo before\n", [])})
    code, job = await api(
        "POST",
        "jobs",
        body={"pipeline_path": "p/pipeline.orchest", "schedule": {"cron": "* * * * * *"}},
    )
    assert code == 201, job
    (jp_root_dir / "p" / "echo.sh").write_text("echo after\n")

    async def a_finished_run():
        current = await job_getter(api, job["id"])()
        return next((r for r in current["runs"] if r["status"] == "SUCCESS"), None)

    run = await until(a_finished_run, "a run of the job")
    await api("DELETE", "jobs", job["id"])
    _, run = await api("GET", "runs", run["id"])
    code, log = await api("GET", "runs", run["id"], "steps", run["steps"][0]["uuid"], "log")
    assert log["text"] == "before\n"


async def test_retention_removes_the_oldest_finished_runs_never_an_active_one(api, jp_root_dir):
    release = jp_root_dir / "release"
    step = (
        "import os, time, orchest\n"
        "if orchest.get_step_param('slow'):\n"
        f"    while not os.path.exists({str(release)!r}):\n"
        "        time.sleep(0.05)\n"
    )
    make_pipeline(jp_root_dir / "p", {"Step": ("step.py", step, [])})
    code, job = await api(
        "POST",
        "jobs",
        body={
            "pipeline_path": "p/pipeline.orchest",
            "parameter_grid": {"Step": {"slow": [False, False, False, True]}},
            "max_parallel": 4,
            "max_retained_runs": 1,
            "snapshot": False,
        },
    )
    assert code == 201, job
    get = job_getter(api, job["id"])

    async def fast_ones_settled():
        current = await get()
        statuses = sorted(r["status"] for r in current["runs"])
        return current if statuses == ["STARTED", "SUCCESS"] else None

    current = await until(fast_ones_settled, "retention of the three fast runs")
    active = next(r for r in current["runs"] if r["status"] == "STARTED")
    assert active["job_parameters"] == {"Step": {"slow": True}}
    assert Path(active["run_dir"]).is_dir()
    runs_dir = jp_root_dir / "p" / ".orchest" / "runs"

    async def two_run_dirs_left():
        # the store's rows go first, then the directories (on a thread)
        dirs = await asyncio.to_thread(lambda: sorted(runs_dir.iterdir()))
        return dirs if len(dirs) == 2 else None

    run_dirs = await until(two_run_dirs_left, "the removed runs' directories to go")
    assert Path(active["run_dir"]) in run_dirs

    release.write_text("go")
    finished = await wait_for_run(api, active["id"])
    assert finished["status"] == "SUCCESS"

    async def one_left():
        current = await get()
        return current if len(current["runs"]) == 1 and current["status"] == "DONE" else None

    current = await until(one_left, "retention after the slow run")
    (kept,) = current["runs"]
    assert kept["id"] == active["id"], "the newest run is kept"
    assert len(list((jp_root_dir / "p" / ".orchest" / "runs").iterdir())) == 1
    assert Path(kept["run_dir"]).is_dir()


async def test_deleting_a_job_aborts_its_active_runs(api, backend, jp_root_dir):
    make_pipeline(jp_root_dir / "p", {"Sleep": ("sleep.sh", "echo started\nsleep 600\n", [])})
    code, job = await api(
        "POST", "jobs", body={"pipeline_path": "p/pipeline.orchest", "backend": backend}
    )
    assert code == 201, job

    async def running_step():
        current = await job_getter(api, job["id"])()
        if not current["runs"]:
            return None
        _, run = await api("GET", "runs", current["runs"][0]["id"])
        _, log = await api("GET", "runs", run["id"], "steps", run["steps"][0]["uuid"], "log")
        return run if "started" in log.get("text", "") else None

    run = await until(running_step, "the job's step to start")
    code, deleted = await api("DELETE", "jobs", job["id"])
    assert code == 200, deleted
    run = await wait_for_run(api, run["id"])
    assert run["status"] == "ABORTED"
    await assert_no_step_containers(run)
    leftovers = [
        p.info
        for p in psutil.process_iter(["pid", "cmdline"])
        if p.info["cmdline"] and any("sleep.sh" in part for part in p.info["cmdline"])
    ]
    assert not leftovers, leftovers
    assert Path(run["run_dir"]).is_dir(), "runs are kept unless remove_runs=true"


async def test_bad_job_requests_are_400_naming_the_field(api, jp_root_dir):
    make_pipeline(jp_root_dir / "p", {"Echo": ("echo.sh", "echo x\n", [])})
    base = {"pipeline_path": "p/pipeline.orchest"}
    cases = {
        "schedule.cron": {"schedule": {"cron": "61 * * * *"}},
        "'0 0 31 2 *' never fires": {"schedule": {"cron": "0 0 31 2 *"}},
        "schedule.cron: '* * * * * 61'": {"schedule": {"cron": "* * * * * 61"}},
        "schedule.timezone": {"schedule": {"cron": "0 3 * * *", "timezone": "Mars/Olympus"}},
        "schedule.at": {"schedule": {"at": "2001-01-01T00:00:00Z"}},
        "schedule.at: '9999-12-31T23:59:59-05:00'": {
            "schedule": {"at": "9999-12-31T23:59:59-05:00"}
        },
        "parameter_grid": {"parameter_grid": {}},
        "parameter_grid.Echo.n": {"parameter_grid": {"Echo": {"n": []}}},
        "retries": {"retries": -1},
        "max_parallel": {"max_parallel": 0},
        "overlap_policy": {"overlap_policy": "sometimes"},
        "missed_fire_policy": {"missed_fire_policy": "later"},
        "max_retained_runs": {"max_retained_runs": 0},
    }
    for field, extra in cases.items():
        code, reply = await api("POST", "jobs", body={**base, **extra})
        assert code == 400 and field in reply["message"], (field, reply)
    huge = {"Echo": {"a": list(range(100)), "b": list(range(11))}}
    code, reply = await api("POST", "jobs", body={**base, "parameter_grid": huge})
    assert code == 400 and "parameter_grid" in reply["message"] and "1100" in reply["message"]
    code, reply = await api("POST", "jobs", body={**base, "parameter_grid": {"Nope": {"a": [1]}}})
    assert code == 400 and "parameter_grid" in reply["message"], reply
    code, reply = await api("POST", "runs", body={**base, "retries": -2})
    assert code == 400 and "retries" in reply["message"], reply
    code, reply = await api("PATCH", "jobs", "nope", body={"paused": True})
    assert code == 404
    code, job = await api("POST", "jobs", body={**base, "schedule": {"cron": "0 3 * * *"}})
    assert code == 201
    code, reply = await api("PATCH", "jobs", job["id"], body={"pipeline_path": "x"})
    assert code == 400 and "pipeline_path" in reply["message"]
    code, reply = await api("PATCH", "jobs", job["id"], body={"schedule": {"cron": "bad"}})
    assert code == 400 and "schedule.cron" in reply["message"]
    assert (await api("GET", "jobs"))[1]["jobs"][0]["id"] == job["id"]


class Clock:
    """A clock the test moves (the job manager's timers follow it)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.mark.parametrize("policy", ["run_once", "skip"])
async def test_a_fire_missed_while_down_follows_the_policy(tmp_path: Path, policy: str):
    pipeline_file, _ = make_pipeline(tmp_path / "p", {"Echo": ("echo.sh", "echo x\n", [])})
    pipeline = await asyncio.to_thread(load_pipeline, pipeline_file)
    clock = Clock(datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc))
    events: list[dict] = []

    async def server(clock: Clock) -> tuple[Store, RunManager, JobManager]:
        store = Store(tmp_path / "orchest.db")
        await store.open()
        runs = RunManager(store, {"local": LocalExecutor()}, lambda *_: None)
        jobs = JobManager(store, runs, lambda _, data: events.append(data), clock=clock)
        await jobs.start()
        return store, runs, jobs

    store, runs, jobs = await server(clock)
    body = {
        "schedule": {"cron": "0 3 * * *", "timezone": "Europe/Amsterdam"},
        "missed_fire_policy": policy,
    }
    job = await jobs.create(pipeline, body, job_settings(body))
    assert job["next_fire_time"] == "2030-01-02T02:00:00+00:00"
    await jobs.shutdown()
    await runs.shutdown()
    await store.close()

    clock.now = datetime(2030, 1, 3, 1, 0, tzinfo=timezone.utc)  # two fires passed meanwhile
    store, runs, jobs = await server(clock)

    async def settled():
        current = await jobs.get(job["id"])
        finished = all(run["status"] == "SUCCESS" for run in current["runs"])
        ran = len(current["runs"]) == (1 if policy == "run_once" else 0)
        return current if finished and ran and current["active_runs"] == 0 else None

    job = await until(settled, "the missed fire to be settled")
    assert job["next_fire_time"] == "2030-01-03T02:00:00+00:00"
    if policy == "run_once":
        (run,) = job["runs"]
        assert run["fire_time"] == "2030-01-02T02:00:00+00:00"
        assert run["status"] == "SUCCESS"
        assert [e["action"] for e in events if e["action"] == "fired"] == ["fired"]
    else:
        assert job["runs"] == []
        skipped = [e for e in events if e["action"] == "skipped"]
        assert [e["fire_time"] for e in skipped] == ["2030-01-02T02:00:00+00:00"]
    await jobs.delete(job["id"])
    await jobs.shutdown()
    await runs.shutdown()
    await store.close()


FLAKY = (
    "import os, pathlib, socket\n"
    "run_dir = pathlib.Path(os.environ['ORCHEST_RUN_DIR'])\n"
    "counter = run_dir / 'attempts'\n"
    "n = int(counter.read_text()) + 1 if counter.exists() else 1\n"
    "counter.write_text(str(n))\n"
    "with open(run_dir / 'runners', 'a') as runners:\n"
    "    runners.write(f'{socket.gethostname()}:{os.getpid()}\\n')\n"
    "print(f'attempt {n}', flush=True)\n"
    "if n < 3:\n"
    "    raise RuntimeError('flaky')\n"
)


@pytest.mark.parametrize("kind", ["py", "ipynb"])
async def test_a_flaky_step_succeeds_on_its_third_attempt(
    api, backend, jp_ws_fetch, jp_root_dir, kind: str
):
    flaky = FLAKY if kind == "py" else notebook(FLAKY)
    make_pipeline(jp_root_dir / "p", {"Flaky": (f"flaky.{kind}", flaky, [])})
    ws = await jp_ws_fetch("api", "events", "subscribe")
    code, run = await api(
        "POST",
        "runs",
        body={"pipeline_path": "p/pipeline.orchest", "retries": 2, "backend": backend},
    )
    assert code == 202, run
    events = await collect_run_events(ws, run["id"])
    ws.close()
    run = await wait_for_run(api, run["id"])
    (step,) = run["steps"]
    assert run["status"] == "SUCCESS" and step["attempt"] == 3 and step["retries"] == 2
    steps = [(e["status"], e["attempt"]) for e in events if e["schema_id"] == STEP_STATUS]
    assert steps == [("STARTED", 1), ("STARTED", 2), ("STARTED", 3), ("SUCCESS", 3)], steps
    retry_messages = [e["message"] for e in events if e.get("attempt") in (2, 3)][:2]
    assert all(
        m.startswith(f"attempt {n} failed") for n, m in zip((1, 2), retry_messages, strict=True)
    )
    for attempt in (1, 2, 3):
        code, log = await api(
            "GET", "runs", run["id"], "steps", step["uuid"], "log", attempt=str(attempt)
        )
        assert code == 200 and f"attempt {attempt}\n" in log["text"] and log["complete"], log
    code, log = await api("GET", "runs", run["id"], "steps", step["uuid"], "log", attempt="4")
    assert code == 400 and "attempt" in log["message"]
    runners = (Path(run["run_dir"]) / "runners").read_text().split()
    assert len(set(runners)) == 3, f"each attempt in a fresh process or container: {runners}"
    await assert_no_step_containers(run)


async def test_file_retries_win_and_a_timed_out_attempt_is_retried(api, jp_root_dir, jp_serverapp):
    (app,) = jp_serverapp.extension_manager.extension_apps["orchest_ext"]
    app.step_timeout = 1.0
    pipeline_file, uuids = make_pipeline(jp_root_dir / "p", {"Slow": ("slow.sh", "sleep 30\n", [])})
    data = json.loads(pipeline_file.read_text())
    data["steps"][uuids["Slow"]]["retries"] = 1
    pipeline_file.write_text(json.dumps(data))
    body = {"pipeline_path": "p/pipeline.orchest", "retries": 5}
    code, run = await api("POST", "runs", body=body)
    assert code == 202, run
    run = await wait_for_run(api, run["id"])
    (step,) = run["steps"]
    assert step["status"] == "FAILURE" and step["attempt"] == 2, step
    assert "timed out" in step["message"]

    data["steps"][uuids["Slow"]]["retries"] = -1
    pipeline_file.write_text(json.dumps(data))
    code, reply = await api("POST", "runs", body=body)
    assert code == 422 and reply["issues"][0]["field"] == "retries", reply


@pytest.mark.parametrize("policy", ["skip", "queue"])
async def test_overlapping_fires_follow_the_overlap_policy(api, jp_root_dir, policy: str):
    release = jp_root_dir / "release"
    step = f"import os, time\nwhile not os.path.exists({str(release)!r}):\n    time.sleep(0.05)\n"
    make_pipeline(jp_root_dir / "p", {"Wait": ("wait.py", step, [])})
    code, job = await api(
        "POST",
        "jobs",
        body={
            "pipeline_path": "p/pipeline.orchest",
            "schedule": {"cron": "* * * * * *"},
            "parameter_grid": {"Wait": {"i": [1, 2]}},
            "max_parallel": 1,
            "overlap_policy": policy,
            "snapshot": False,
        },
    )
    assert code == 201, job
    get = job_getter(api, job["id"])

    async def fired_again_while_busy():
        current = await get()
        if not current["runs"] or current["last_fire_time"] is None:
            return None
        first = min(datetime.fromisoformat(r["fire_time"]) for r in current["runs"])
        later = datetime.fromisoformat(current["last_fire_time"])
        return current if (later - first).total_seconds() >= 2 else None

    busy = await until(fired_again_while_busy, "two more fires during the first run")
    assert len(busy["runs"]) == 1 and busy["active_runs"] == 1, "max_parallel 1 holds"
    if policy == "skip":
        assert busy["queued_runs"] == 1  # the first fire's second combination only
    else:
        assert busy["queued_runs"] >= 1 + 2  # a later fire waits with both combinations
    code, _ = await api("PATCH", "jobs", job["id"], body={"paused": True})
    assert code == 200
    queued = (await get())["queued_runs"]
    release.write_text("go")
    far = {"paused": False, "schedule": {"cron": "0 3 1 1 *"}}
    code, _ = await api("PATCH", "jobs", job["id"], body=far)
    assert code == 200

    async def drained():
        current = await get()
        idle = current["active_runs"] == current["queued_runs"] == 0
        return current if idle and {r["status"] for r in current["runs"]} <= TERMINAL else None

    current = await until(drained, "the queued runs")
    runs = sorted(current["runs"], key=lambda r: r["created_time"])
    assert {r["status"] for r in runs} == {"SUCCESS"}
    if policy == "skip":
        assert len(runs) == 2 and len({r["fire_time"] for r in runs}) == 1
    else:
        assert len(runs) == 1 + queued and len({r["fire_time"] for r in runs}) >= 2
    for earlier, later in itertools.pairwise(runs):
        assert later["started_time"] >= earlier["finished_time"], "one run at a time"
    await api("DELETE", "jobs", job["id"], remove_runs="true")


async def test_of_two_servers_sharing_a_store_one_fires_a_job(tmp_path: Path):
    pipeline_file, _ = make_pipeline(tmp_path / "p", {"Echo": ("echo.sh", "echo x\n", [])})
    pipeline = await asyncio.to_thread(load_pipeline, pipeline_file)
    clock = Clock(datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc))

    async def server() -> tuple[Store, RunManager, JobManager]:
        store = Store(tmp_path / "orchest.db")
        await store.open()
        runs = RunManager(
            store, {"local": LocalExecutor()}, lambda *_: None, root_dir=str(tmp_path)
        )
        await runs.start(recover=False)
        jobs = JobManager(store, runs, lambda *_: None, clock=clock)
        await jobs.start()
        return store, runs, jobs

    first = await server()
    body = {"schedule": {"cron": "0 3 * * *"}}
    job = await first[2].create(pipeline, body, job_settings(body))
    second = await server()
    assert [j["id"] for j in await first[2].list()] == [job["id"]]
    assert [j["id"] for j in await second[2].list()] == [job["id"]], "each sees the other's"
    assert (await second[2].get(job["id"]))["next_fire_time"] == job["next_fire_time"]
    with pytest.raises(OwnedElsewhere):  # the first server is alive: it fires the job
        await second[2].update(job["id"], {"name": "renamed"})

    store, runs, jobs = first
    await jobs.shutdown()
    await runs.shutdown()
    await store.close()
    store, runs, jobs = second
    await jobs.adopt()
    assert [j["id"] for j in await jobs.list()] == [job["id"]]
    assert (await jobs.list())[0]["next_fire_time"] == job["next_fire_time"]
    assert (await jobs.update(job["id"], {"name": "renamed"}))["name"] == "renamed"
    await jobs.shutdown()
    await runs.shutdown()
    await store.close()


def test_a_killed_servers_job_fires_again_after_a_restart(tmp_path: Path):
    root = tmp_path / "root"
    make_pipeline(root / "p", {"Echo": ("echo.sh", "echo tick\n", [])})
    body = {"pipeline_path": "p/pipeline.orchest", "schedule": {"cron": "* * * * * */2"}}

    def fired_after(server: ServerProcess, job_id: str, after: datetime) -> dict:
        deadline = time.monotonic() + 120
        while True:
            code, job = server.request("GET", f"/orchest/api/jobs/{job_id}")
            assert code == 200, job
            done = [
                run
                for run in job["runs"]
                if run["status"] == "SUCCESS" and datetime.fromisoformat(run["fire_time"]) > after
            ]
            if done:
                return job
            assert time.monotonic() < deadline, f"no run fired after {after}: {job}"
            time.sleep(0.1)

    first = ServerProcess(root, tmp_path / "state").start()
    try:
        code, job = first.request("POST", "/orchest/api/jobs", body)
        assert code == 201, job
        fired_after(first, job["id"], datetime.fromisoformat(job["created_time"]))
    finally:
        first.kill()
    killed = datetime.now(timezone.utc)
    second = ServerProcess(root, tmp_path / "state").start()
    try:
        adopted = fired_after(second, job["id"], killed)
        assert adopted["status"] == "ACTIVE" and adopted["schedule"]["cron"] == "* * * * * */2"
        assert second.request("DELETE", f"/orchest/api/jobs/{job['id']}")[0] == 200
    finally:
        second.stop()


def test_two_servers_on_one_store_see_each_others_jobs_and_only_the_owner_fires_them(
    tmp_path: Path,
):
    root, db = tmp_path / "root", tmp_path / "shared" / "orchest.db"
    make_pipeline(root / "p", {"Echo": ("echo.sh", "echo tick\n", [])})
    body = {"pipeline_path": "p/pipeline.orchest", "schedule": {"cron": "* * * * * */2"}}
    lease = ["--OrchestApp.server_lease=3"]
    first = ServerProcess(root, tmp_path / "first", lease, db_path=db).start()
    second = ServerProcess(root, tmp_path / "second", lease, db_path=db)
    try:
        second.start()
        code, job = first.request("POST", "/orchest/api/jobs", body)
        assert code == 201, job
        path = f"/orchest/api/jobs/{job['id']}"
        code, listed = second.request("GET", "/orchest/api/jobs")
        assert code == 200 and [j["id"] for j in listed["jobs"]] == [job["id"]]
        seen = wait_for_runs(second, path, lambda runs: len(runs) >= 2)
        assert seen["schedule"]["cron"] == "* * * * * */2"
        for method, change in (("PATCH", {"name": "renamed"}), ("DELETE", None)):
            code, refused = second.request(method, path, change)
            assert code == 409 and f"pid {first.process.pid} " in refused["message"], refused

        first.kill()
        killed = datetime.now(timezone.utc)
        adopted = wait_for_runs(
            second,
            path,
            lambda runs: any(
                run["status"] == "SUCCESS" and datetime.fromisoformat(run["fire_time"]) > killed
                for run in runs
            ),
        )
        fires = [run["fire_time"] for run in adopted["runs"]]
        assert len(fires) == len(set(fires)), f"a fire ran twice: {sorted(fires)}"
        code, renamed = second.request("PATCH", path, {"name": "renamed"})
        assert code == 200 and renamed["name"] == "renamed", renamed
        assert second.request("DELETE", path)[0] == 200
    finally:
        first.kill()
        second.stop()


def wait_for_runs(server: ServerProcess, path: str, enough, timeout: float = 120) -> dict:
    """GET a job until ``enough`` accepts its runs; the job."""
    deadline = time.monotonic() + timeout
    while True:
        code, job = server.request("GET", path)
        assert code == 200, job
        if enough(job["runs"]):
            return job
        assert time.monotonic() < deadline, f"not within {timeout} s: {job}"
        time.sleep(0.1)


async def test_a_snapshot_over_the_limit_is_refused(api, jp_root_dir, jp_serverapp):
    (app,) = jp_serverapp.extension_manager.extension_apps["orchest_ext"]
    app.job_snapshot_max_bytes = 100
    make_pipeline(jp_root_dir / "p", {"Echo": ("echo.sh", "echo x\n" * 50, [])})
    body = {"pipeline_path": "p/pipeline.orchest", "schedule": {"cron": "0 3 * * *"}}
    code, reply = await api("POST", "jobs", body=body)
    assert code == 400 and reply["message"].startswith("snapshot: "), reply
    assert "OrchestApp.job_snapshot_max_bytes" in reply["message"]
    assert not (jp_root_dir / "p" / ".orchest" / "jobs").exists()
    code, job = await api("POST", "jobs", body={**body, "snapshot": False})
    assert code == 201 and job["snapshot_dir"] is None
