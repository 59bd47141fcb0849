"""Runs through the REST API of a real Jupyter server, on every backend."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from .helpers import (
    assert_no_step_containers,
    make_pipeline,
    notebook,
    steps_by_title,
    wait_for_run,
)

EXAMPLE = Path(__file__).parent.parent / "examples" / "quickstart"


async def test_example_pipeline_runs_to_success(api, backend, jp_root_dir):
    shutil.copytree(EXAMPLE, jp_root_dir / "quickstart")
    source = (jp_root_dir / "quickstart" / "stats.ipynb").read_text()

    code, run = await api(
        "POST", "runs", body={"pipeline_path": "quickstart/quickstart.orchest", "backend": backend}
    )
    assert code == 202, run
    assert run["status"] == "PENDING"
    assert {s["status"] for s in run["steps"]} == {"PENDING"}

    run = await wait_for_run(api, run["id"])
    await assert_no_step_containers(run)
    assert run["status"] == "SUCCESS", run
    assert all(step["status"] == "SUCCESS" for step in run["steps"])
    assert all(step["started_time"] and step["finished_time"] for step in run["steps"])

    run_dir = Path(run["run_dir"])
    assert run_dir.parent == jp_root_dir / "quickstart" / ".orchest" / "runs"
    report = steps_by_title(run)["Report"]
    executed = nbformat.read(run_dir / "steps" / report["uuid"] / "report.ipynb", as_version=4)
    outputs = [o for cell in executed.cells if cell.cell_type == "code" for o in cell.outputs]
    assert any("mean=25.25" in o.get("text", "") for o in outputs)
    assert (jp_root_dir / "quickstart" / "stats.ipynb").read_text() == source

    code, log = await api(
        "GET", "runs", run["id"], "steps", steps_by_title(run)["Load data"]["uuid"], "log"
    )
    assert code == 200 and "loaded 100 numbers" in log["text"] and log["complete"]

    code, nb = await api("GET", "runs", run["id"], "steps", report["uuid"], "notebook")
    assert code == 200 and nb["cells"]


async def test_executed_notebook_is_available_while_its_first_cell_runs(api, backend, jp_root_dir):
    wait_for_go = (
        "import os, time\n"
        "while not os.path.exists(os.path.join(os.environ['ORCHEST_STEP_DIR'], 'go')):\n"
        "    time.sleep(0.05)"
    )
    make_pipeline(
        jp_root_dir / "p", {"Slow": ("slow.ipynb", notebook(wait_for_go, "print('done')"), [])}
    )
    body = {"pipeline_path": "p/pipeline.orchest", "backend": backend}
    _, run = await api("POST", "runs", body=body)
    uuid = run["steps"][0]["uuid"]
    deadline = time.monotonic() + 60
    while True:
        code, nb = await api("GET", "runs", run["id"], "steps", uuid, "notebook")
        if code == 200:
            break
        assert code == 404, nb
        assert time.monotonic() < deadline, "no executed notebook while the first cell ran"
        await asyncio.sleep(0.05)
    assert ["".join(cell["source"]) for cell in nb["cells"]] == [wait_for_go, "print('done')"]
    assert all(not cell["outputs"] for cell in nb["cells"])
    (Path(run["run_dir"]) / "steps" / uuid / "go").touch()
    assert (await wait_for_run(api, run["id"]))["status"] == "SUCCESS"


async def test_log_offset_tails_a_log(api, backend, jp_root_dir):
    make_pipeline(jp_root_dir / "p", {"Echo": ("echo.sh", "echo first\necho second\n", [])})
    _, run = await api(
        "POST", "runs", body={"pipeline_path": "p/pipeline.orchest", "backend": backend}
    )
    run = await wait_for_run(api, run["id"])
    await assert_no_step_containers(run)
    uuid = run["steps"][0]["uuid"]
    _, whole = await api("GET", "runs", run["id"], "steps", uuid, "log")
    assert whole["text"] == "first\nsecond\n"
    _, tail = await api("GET", "runs", run["id"], "steps", uuid, "log", offset=str(len("first\n")))
    assert tail["text"] == "second\n" and tail["next_offset"] == tail["size"]


async def read_whole_log(api, run_id: str, uuid: str, offset: int = 0) -> tuple[str, int]:
    """Follow a step's log from ``offset`` through ``next_offset`` until it is complete."""
    text = ""
    while True:
        code, chunk = await api("GET", "runs", run_id, "steps", uuid, "log", offset=str(offset))
        assert code == 200, chunk
        text += chunk["text"]
        offset = chunk["next_offset"]
        if chunk["complete"]:
            return text, offset


async def test_log_chunks_never_split_a_character(api, jp_root_dir):
    # 400,000 three-byte characters: the first 1 MiB chunk ends inside one of them.
    make_pipeline(jp_root_dir / "p", {"Ticks": ("ticks.py", "print('✓' * 400_000)\n", [])})
    _, run = await api("POST", "runs", body={"pipeline_path": "p/pipeline.orchest"})
    run = await wait_for_run(api, run["id"])
    text, end = await read_whole_log(api, run["id"], run["steps"][0]["uuid"])
    assert text == "✓" * 400_000 + "\n"
    assert end == len(text.encode())


async def test_a_character_being_written_is_left_for_the_next_read(api, jp_root_dir):
    # The step writes the first two bytes of "✓", then the last one once the test says so.
    script = (
        "import os, sys, time\n"
        "sys.stdout.buffer.write('✓'.encode()[:2]); sys.stdout.flush()\n"
        "go = os.path.join(os.environ['ORCHEST_STEP_DIR'], 'go')\n"
        "while not os.path.exists(go):\n"
        "    time.sleep(0.05)\n"
        "sys.stdout.buffer.write('✓'.encode()[2:] + b'\\n')\n"
    )
    make_pipeline(jp_root_dir / "p", {"Slow": ("slow.py", script, [])})
    _, run = await api("POST", "runs", body={"pipeline_path": "p/pipeline.orchest"})
    uuid = run["steps"][0]["uuid"]
    deadline = time.monotonic() + 60
    while True:
        _, chunk = await api("GET", "runs", run["id"], "steps", uuid, "log")
        if chunk["size"] == 2:
            break
        assert time.monotonic() < deadline, f"the first two bytes were never written: {chunk}"
        await asyncio.sleep(0.05)
    assert (chunk["text"], chunk["next_offset"], chunk["complete"]) == ("", 0, False)
    (Path(run["run_dir"]) / "steps" / uuid / "go").touch()
    run = await wait_for_run(api, run["id"])
    assert run["status"] == "SUCCESS", run
    assert await read_whole_log(api, run["id"], uuid, chunk["next_offset"]) == ("✓\n", 4)


async def test_failing_step_aborts_only_its_descendants(api, backend, jp_root_dir):
    make_pipeline(
        jp_root_dir / "p",
        {
            "Root": ("root.sh", "echo root\n", []),
            "Broken": ("broken.py", "raise SystemExit(3)\n", ["Root"]),
            "After broken": ("after.sh", "echo after\n", ["Broken"]),
            "Leaf after broken": ("leaf.sh", "echo leaf\n", ["After broken"]),
            "Independent": ("independent.sh", "sleep 0.3; echo independent\n", ["Root"]),
        },
    )
    _, run = await api(
        "POST", "runs", body={"pipeline_path": "p/pipeline.orchest", "backend": backend}
    )
    run = await wait_for_run(api, run["id"])
    await assert_no_step_containers(run)
    steps = steps_by_title(run)
    assert run["status"] == "FAILURE"
    assert "Broken" in run["message"]
    assert steps["Root"]["status"] == "SUCCESS"
    assert steps["Broken"]["status"] == "FAILURE"
    assert "code 3" in steps["Broken"]["message"]
    assert steps["After broken"]["status"] == "ABORTED"
    assert steps["Leaf after broken"]["status"] == "ABORTED"
    assert "Broken" in steps["After broken"]["message"]
    assert steps["Independent"]["status"] == "SUCCESS"


async def test_fail_fast_stops_the_whole_run(api, backend, jp_root_dir):
    make_pipeline(
        jp_root_dir / "p",
        {
            "Broken": ("broken.sh", "exit 1\n", []),
            "Slow": ("slow.sh", "sleep 30\n", []),
            "After slow": ("after.sh", "echo never\n", ["Slow"]),
        },
    )
    _, run = await api(
        "POST",
        "runs",
        body={
            "pipeline_path": "p/pipeline.orchest",
            "failure_policy": "fail_fast",
            "backend": backend,
        },
    )
    run = await wait_for_run(api, run["id"])
    await assert_no_step_containers(run)
    steps = steps_by_title(run)
    assert run["status"] == "FAILURE"
    assert steps["Broken"]["status"] == "FAILURE"
    assert steps["Slow"]["status"] == "ABORTED"
    assert steps["After slow"]["status"] == "ABORTED"


async def test_abort_mid_run_leaves_no_process(api, backend, jp_root_dir):
    script = (
        'echo $$ > "$ORCHEST_STEP_DIR/pids"\n'
        "sleep 300 &\n"
        'echo $! >> "$ORCHEST_STEP_DIR/pids"\n'
        "wait\n"
    )
    kernel = (
        "import os, pathlib, time\n"
        'pathlib.Path(os.environ["ORCHEST_STEP_DIR"], "pids").write_text(str(os.getpid()))\n'
        "time.sleep(300)"
    )
    make_pipeline(
        jp_root_dir / "p",
        {
            "Sleeper": ("sleeper.sh", script, []),
            "Kernel": ("kernel.ipynb", notebook(kernel), []),
            "Never": ("never.sh", "echo never\n", ["Sleeper"]),
        },
    )
    _, run = await api(
        "POST", "runs", body={"pipeline_path": "p/pipeline.orchest", "backend": backend}
    )
    steps_dir = Path(run["run_dir"]) / "steps"
    sleeper = steps_dir / steps_by_title(run)["Sleeper"]["uuid"] / "pids"
    kernel_pid = steps_dir / steps_by_title(run)["Kernel"]["uuid"] / "pids"
    deadline = time.monotonic() + 60
    while not (
        sleeper.exists()
        and len(sleeper.read_text().split()) == 2
        and kernel_pid.exists()
        and kernel_pid.read_text().strip()
    ):
        assert time.monotonic() < deadline, "the sleeper step or the notebook never started"
        await asyncio.sleep(0.05)
    # the steps' processes, the notebook's kernel included (in containers: the containers')
    pids = [*map(int, sleeper.read_text().split()), int(kernel_pid.read_text())]

    code, aborting = await api("DELETE", "runs", run["id"])
    assert code == 202, aborting  # at once: the steps are stopped in the background
    assert aborting["status"] == "STARTED"
    aborted = await wait_for_run(api, run["id"])
    assert aborted["status"] == "ABORTED"
    assert {s["status"] for s in aborted["steps"]} == {"ABORTED"}
    for pid in pids if backend == "local" else []:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    await assert_no_step_containers(aborted)

    code, again = await api("DELETE", "runs", run["id"])
    assert code == 200 and again["status"] == "ABORTED"


async def test_an_aborted_notebook_keeps_what_its_interrupted_cell_printed(
    api, backend, jp_root_dir
):
    source = "import time\nprint('before the abort', flush=True)\ntime.sleep(300)"
    make_pipeline(jp_root_dir / "p", {"Sleepy": ("sleepy.ipynb", notebook(source), [])})
    _, run = await api(
        "POST", "runs", body={"pipeline_path": "p/pipeline.orchest", "backend": backend}
    )
    uuid = run["steps"][0]["uuid"]
    deadline = time.monotonic() + 60
    while (
        "before the abort"
        not in (await api("GET", "runs", run["id"], "steps", uuid, "log"))[1]["text"]
    ):
        assert time.monotonic() < deadline, "the cell never printed"
        await asyncio.sleep(0.05)

    code, _ = await api("DELETE", "runs", run["id"])
    assert code == 202
    assert (await wait_for_run(api, run["id"]))["status"] == "ABORTED"
    while True:
        code, nb = await api("GET", "runs", run["id"], "steps", uuid, "notebook")
        assert code == 200, nb
        outputs = nb["cells"][0]["outputs"]
        if outputs:
            break
        assert time.monotonic() < deadline, "the executed notebook has no output of its cell"
        await asyncio.sleep(0.05)
    assert outputs[0]["name"] == "stdout"
    assert "".join(outputs[0]["text"]) == "before the abort\n"


WAIT_FOR_OTHER = (
    'touch "$ORCHEST_RUN_DIR/{me}"\n'
    "for i in $(seq 600); do\n"
    '  [ -e "$ORCHEST_RUN_DIR/{other}" ] && exit 0\n'
    "  sleep 0.1\n"
    "done\n"
    "exit 1\n"
)


async def test_independent_steps_run_in_parallel(api, backend, jp_root_dir):
    """Each step waits (up to a minute) for the other to have started: both succeed only if
    they run at the same time."""
    make_pipeline(
        jp_root_dir / "p",
        {
            "A": ("a.sh", WAIT_FOR_OTHER.format(me="a", other="b"), []),
            "B": ("b.sh", WAIT_FOR_OTHER.format(me="b", other="a"), []),
        },
    )
    _, run = await api(
        "POST", "runs", body={"pipeline_path": "p/pipeline.orchest", "backend": backend}
    )
    run = await wait_for_run(api, run["id"])
    await assert_no_step_containers(run)
    assert run["status"] == "SUCCESS", run


@pytest.mark.parametrize(
    ("run_type", "selection", "inclusive", "expected"),
    [
        ("full", [], False, ["A", "B", "C", "D"]),
        ("selection", ["A", "C"], False, ["A", "C"]),
        ("incoming", ["C"], False, ["A", "B"]),
        ("incoming", ["C"], True, ["A", "B", "C"]),
        ("descendants", ["B"], False, ["B", "C", "D"]),
    ],
)
async def test_run_types_run_the_right_steps(
    api, backend, jp_root_dir, run_type, selection, inclusive, expected
):
    _, uuids = make_pipeline(
        jp_root_dir / "p",
        {
            "A": ("a.sh", "echo a\n", []),
            "B": ("b.sh", "echo b\n", ["A"]),
            "C": ("c.sh", "echo c\n", ["B"]),
            "D": ("d.sh", "echo d\n", ["C"]),
        },
    )
    body = {
        "pipeline_path": "p/pipeline.orchest",
        "backend": backend,
        "run_type": run_type,
        "uuids": [uuids[t] for t in selection],
        "inclusive": inclusive,
    }
    code, run = await api("POST", "runs", body=body)
    assert code == 202, run
    run = await wait_for_run(api, run["id"])
    await assert_no_step_containers(run)
    assert run["status"] == "SUCCESS"
    assert [s["title"] for s in run["steps"]] == expected
    starts = [s["started_time"] for s in run["steps"]]
    assert starts == sorted(starts)


async def test_inline_description_with_env_and_write_back(api, backend, jp_root_dir):
    pipeline_file, _ = make_pipeline(
        jp_root_dir / "p",
        {
            "Env": (
                "env.py",
                "import os\nprint(os.environ['GREETING'], os.environ['ORCHEST_STEP_UUID'])\n",
                [],
            ),
            "Note": ("note.ipynb", notebook("print(1 + 1)"), []),
        },
    )
    description = json.loads(pipeline_file.read_text())
    code, run = await api(
        "POST",
        "runs",
        body={
            "pipeline_description": description,
            "pipeline_dir": "p",
            "backend": backend,
            "env": {"GREETING": "hello"},
            "write_back": True,
        },
    )
    assert code == 202, run
    run = await wait_for_run(api, run["id"])
    await assert_no_step_containers(run)
    assert run["status"] == "SUCCESS"
    env_step = steps_by_title(run)["Env"]
    _, log = await api("GET", "runs", run["id"], "steps", env_step["uuid"], "log")
    assert log["text"].strip() == f"hello {env_step['uuid']}"
    written_back = nbformat.read(jp_root_dir / "p" / "note.ipynb", as_version=4)
    assert written_back.cells[0].outputs[0].text == "2\n"


async def test_an_unsaved_edit_runs_under_its_file_without_touching_it(api, jp_root_dir):
    pipeline_file, uuids = make_pipeline(jp_root_dir / "p", {"A": ("a.sh", "echo saved\n", [])})
    (jp_root_dir / "p" / "b.sh").write_text("echo unsaved step\n")
    on_disk = pipeline_file.read_bytes()
    description = json.loads(on_disk)
    description["steps"]["b"] = {
        "uuid": "b",
        "title": "B",
        "file_path": "b.sh",
        "incoming_connections": [uuids["A"]],
    }
    code, run = await api(
        "POST",
        "runs",
        body={
            "pipeline_description": description,
            "pipeline_dir": "p",
            "unsaved_edit_of": "p/pipeline.orchest",
        },
    )
    assert code == 202, run
    run = await wait_for_run(api, run["id"])
    assert run["status"] == "SUCCESS", run
    assert set(steps_by_title(run)) == {"A", "B"}
    assert run["pipeline_path"] == "p/pipeline.orchest"
    _, listed = await api("GET", "runs", pipeline_path="p/pipeline.orchest")
    assert [r["id"] for r in listed["runs"]] == [run["id"]]
    assert pipeline_file.read_bytes() == on_disk

    code, error = await api(
        "POST", "runs", body={"pipeline_path": "p/pipeline.orchest", "unsaved_edit_of": "p/x"}
    )
    assert code == 400 and "unsaved_edit_of" in error["message"], error


async def test_answers_give_pipeline_path_relative_to_the_root_dir(api, jp_root_dir):
    """Runs (and jobs) show ``pipeline_path`` as requests give it: relative to the root dir,
    in every answer that shows one."""
    make_pipeline(jp_root_dir / "rel" / "sub", {"A": ("a.sh", "true\n", [])})
    path = "rel/sub/pipeline.orchest"
    code, started = await api("POST", "runs", body={"pipeline_path": path})
    assert code == 202 and started["pipeline_path"] == path, started
    run = await wait_for_run(api, started["id"])
    assert run["pipeline_path"] == path
    _, listed = await api("GET", "runs", pipeline_path=path)
    assert [r["pipeline_path"] for r in listed["runs"]] == [path]
    _, pipelines = await api("GET", "pipelines")
    (mine,) = [p for p in pipelines["pipelines"] if p["path"] == path]
    assert mine["last_run"]["pipeline_path"] == path
    code, aborted = await api("DELETE", "runs", run["id"])
    assert code == 200 and aborted["pipeline_path"] == path

    code, job = await api("POST", "jobs", body={"pipeline_path": path, "name": "rel"})
    assert code == 201 and job["pipeline_path"] == path, job
    deadline = time.monotonic() + 120
    while not (shown := (await api("GET", "jobs", job["id"]))[1])["runs"]:
        assert time.monotonic() < deadline, shown
        await asyncio.sleep(0.1)
    assert shown["pipeline_path"] == path
    # a job's run ran the job's snapshot of the file, inside the pipeline's directory
    assert shown["runs"][0]["pipeline_path"].startswith("rel/sub/.orchest/jobs/")
    _, jobs = await api("GET", "jobs")
    assert [j["pipeline_path"] for j in jobs["jobs"] if j["id"] == job["id"]] == [path]


async def test_list_runs_filters_and_paginates(api, jp_root_dir):
    make_pipeline(jp_root_dir / "p", {"A": ("a.sh", "echo a\n", [])})
    ids = []
    for _ in range(3):
        _, run = await api("POST", "runs", body={"pipeline_path": "p/pipeline.orchest"})
        ids.append(run["id"])
        await wait_for_run(api, run["id"])
    code, page = await api("GET", "runs", limit="2")
    assert code == 200 and page["total"] == 3 and len(page["runs"]) == 2
    assert [r["id"] for r in page["runs"]] == ids[::-1][:2]
    _, page = await api("GET", "runs", limit="2", offset="2")
    assert [r["id"] for r in page["runs"]] == ids[:1]
    _, filtered = await api("GET", "runs", status="FAILURE")
    assert filtered["total"] == 0
    _, filtered = await api("GET", "runs", pipeline_uuid=run["pipeline_uuid"], status="SUCCESS")
    assert filtered["total"] == 3


async def test_unknown_run_and_step_are_404(api, jp_root_dir):
    code, reply = await api("GET", "runs", "no-such-run")
    assert code == 404 and "no-such-run" in reply["message"]
    code, _ = await api("DELETE", "runs", "no-such-run")
    assert code == 404
    make_pipeline(jp_root_dir / "p", {"A": ("a.sh", "echo a\n", [])})
    _, run = await api("POST", "runs", body={"pipeline_path": "p/pipeline.orchest"})
    await wait_for_run(api, run["id"])
    code, reply = await api("GET", "runs", run["id"], "steps", "nope", "log")
    assert code == 404 and "nope" in reply["message"]
    code, reply = await api("GET", "runs", run["id"], "steps", run["steps"][0]["uuid"], "notebook")
    assert code == 404 and "not a notebook" in reply["message"]


async def test_a_notebook_step_that_never_ran_has_no_executed_notebook(api, jp_root_dir):
    make_pipeline(
        jp_root_dir / "p",
        {"Broken": ("broken.sh", "exit 1\n", []), "Nb": ("nb.ipynb", notebook("1"), ["Broken"])},
    )
    _, run = await api("POST", "runs", body={"pipeline_path": "p/pipeline.orchest"})
    run = await wait_for_run(api, run["id"])
    code, reply = await api(
        "GET", "runs", run["id"], "steps", steps_by_title(run)["Nb"]["uuid"], "notebook"
    )
    assert code == 404
    assert (
        reply["message"] == "Step 'Nb' has no executed notebook (it ended ABORTED before running)."
    )
