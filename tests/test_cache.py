"""Step caching (run option ``cache``): what a ``use`` run reuses, what it reruns and why."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import time
from pathlib import Path

import nbformat
import pytest

from orchest_ext.events import STEP_STATUS
from orchest_ext.store import SCHEMA, CacheEntry, Store

from .docker_support import require_image
from .helpers import make_pipeline, notebook, steps_by_title, wait_for_run
from .test_events import collect_run_events

EXAMPLES = Path(__file__).parent.parent / "examples"
PRODUCE = "import orchest\norchest.output(orchest.get_step_param('n', 1) * 10, name='x')\n"
CONSUME = "import orchest\nprint('got', orchest.get_inputs()['x'])\n"


async def run(api, path: str = "p/pipeline.orchest", **body) -> dict:
    """POST a run and wait until it has finished."""
    code, started = await api("POST", "runs", body={"pipeline_path": path, **body})
    assert code == 202, started
    return await wait_for_run(api, started["id"], timeout=300)


def reasons(run_: dict) -> dict[str, str | None]:
    """Step title -> why it ran (None: it was cached)."""
    assert run_["status"] == "SUCCESS", run_
    return {
        title: None if step["cached"] else step["run_reason"]
        for title, step in steps_by_title(run_).items()
    }


def chain(directory: Path) -> dict[str, str]:
    """A -> B -> C, and D on its own: four quick Python steps."""
    _, uuids = make_pipeline(
        directory,
        {
            "A": ("a.py", PRODUCE, []),
            "B": ("b.py", CONSUME + "import orchest\norchest.output('b', name='b')\n", ["A"]),
            "C": ("c.py", "import orchest\nprint(orchest.get_inputs()['b'])\n", ["B"]),
            "D": ("d.py", "print('d')\n", []),
        },
    )
    return uuids


def edit_pipeline(directory: Path, title: str, **fields) -> None:
    """Set fields of the step titled ``title`` in ``directory/pipeline.orchest``."""
    path = directory / "pipeline.orchest"
    description = json.loads(path.read_text())
    step = next(s for s in description["steps"].values() if s["title"] == title)
    step.update(fields)
    path.write_text(json.dumps(description))


async def test_second_use_run_of_the_quickstart_reuses_every_step(api, jp_root_dir):
    shutil.copytree(EXAMPLES / "quickstart", jp_root_dir / "quickstart")
    path = "quickstart/quickstart.orchest"
    first = await run(api, path, cache="use")
    assert set(reasons(first).values()) == {"no_earlier_key"}

    second = await run(api, path, cache="use")
    assert set(reasons(second).values()) == {None}
    for step in second["steps"]:
        assert step["cached_from"] == first["id"]
        assert step["message"] == f"cached: reused the result of run {first['id']}"
        assert step["attempt"] == 1
        source = Path(first["run_dir"]) / "steps" / step["uuid"]
        target = Path(second["run_dir"]) / "steps" / step["uuid"]
        names = sorted(p.relative_to(source) for p in source.rglob("*"))
        assert names and names == sorted(p.relative_to(target) for p in target.rglob("*"))
    notebook_step = next(s for s in second["steps"] if s["file_path"].endswith(".ipynb"))
    code, executed = await api(
        "GET", "runs", second["id"], "steps", notebook_step["uuid"], "notebook"
    )
    assert code == 200, executed


async def test_the_quickstart_reruns_a_part_or_what_changed(api, jp_root_dir):
    # the README's runs of the example: its steps pass data with orchest.output, so a run
    # of a part, or one that reuses cached parents, reads what earlier runs produced
    shutil.copytree(EXAMPLES / "quickstart", jp_root_dir / "quickstart")
    path = "quickstart/quickstart.orchest"
    await run(api, path, cache="use")
    part = await run(api, path, run_type="descendants", uuids=["Statistics"])
    assert part["status"] == "SUCCESS", part
    assert sorted(steps_by_title(part)) == ["Report", "Statistics"]

    stats = jp_root_dir / "quickstart" / "stats.ipynb"
    nb = nbformat.read(stats, as_version=4)
    nb.cells[2].source = nb.cells[2].source.replace("statistics.stdev", "statistics.pstdev")
    nbformat.write(nb, stats)
    changed = await run(api, path, cache="use")
    assert reasons(changed) == {
        "Load data": None,
        "Statistics": "key_changed",
        "Histogram": None,
        "Count bytes": None,
        "Report": "key_changed",
    }
    report = steps_by_title(changed)["Report"]["uuid"]
    _, log = await api("GET", "runs", changed["id"], "steps", report, "log")
    assert "mean=25.25 stdev=14.43" in log["text"]


async def test_code_change_reruns_exactly_the_step_and_its_descendants(api, jp_root_dir):
    chain(jp_root_dir / "p")
    await run(api, cache="use")
    changed = CONSUME + "import orchest\norchest.output('b2', name='b')\n"
    (jp_root_dir / "p" / "b.py").write_text(changed)
    second = await run(api, cache="use")
    assert reasons(second) == {"A": None, "B": "key_changed", "C": "key_changed", "D": None}


async def test_output_only_change_to_a_notebook_reruns_nothing(api, jp_root_dir):
    make_pipeline(jp_root_dir / "p", {"N": ("n.ipynb", notebook("x = 1", "print(x)"), [])})
    first = await run(api, cache="use")
    executed = Path(first["run_dir"]) / "steps" / first["steps"][0]["uuid"] / "n.ipynb"
    source = jp_root_dir / "p" / "n.ipynb"
    with_outputs = nbformat.read(executed, as_version=4)
    with_outputs.metadata["widgets"] = {"state": "changed"}
    with_outputs.cells.append(nbformat.v4.new_markdown_cell("a note"))
    nbformat.write(with_outputs, source)
    assert reasons(await run(api, cache="use")) == {"N": None}

    with_outputs.cells[0].source = "x = 2"
    nbformat.write(with_outputs, source)
    assert reasons(await run(api, cache="use")) == {"N": "key_changed"}


async def test_parameter_override_invalidates_the_step_and_its_descendants(api, jp_root_dir):
    chain(jp_root_dir / "p")
    await run(api, cache="use")
    second = await run(api, cache="use", parameters={"A": {"n": 2}})
    assert reasons(second) == {
        "A": "key_changed",
        "B": "key_changed",
        "C": "key_changed",
        "D": None,
    }
    assert reasons(await run(api, cache="use", parameters={"A": {"n": 2}})) == dict.fromkeys("ABCD")


async def test_opted_out_step_always_runs_and_so_do_its_descendants(api, jp_root_dir):
    chain(jp_root_dir / "p")
    edit_pipeline(jp_root_dir / "p", "B", cache=False)
    await run(api, cache="use")
    second = await run(api, cache="use")
    assert reasons(second) == {"A": None, "B": "opted_out", "C": "key_changed", "D": None}
    assert steps_by_title(second)["B"]["cache_key"] is None


async def test_declared_input_change_invalidates(api, jp_root_dir):
    directory = jp_root_dir / "p"
    chain(directory)
    (directory / "data").mkdir()
    (directory / "data" / "one.csv").write_text("a,b\n1,2\n")
    edit_pipeline(directory, "D", cache={"inputs": ["data/*.csv"]})
    await run(api, cache="use")
    assert set(reasons(await run(api, cache="use")).values()) == {None}

    (directory / "data" / "one.csv").write_text("a,b\n1,3\n")
    assert reasons(await run(api, cache="use")) == {
        "A": None,
        "B": None,
        "C": None,
        "D": "key_changed",
    }
    (directory / "data" / "two.csv").write_text("new file\n")
    assert reasons(await run(api, cache="use"))["D"] == "key_changed"


async def test_deleted_source_run_directory_is_a_miss(api, jp_root_dir):
    chain(jp_root_dir / "p")
    first = await run(api, cache="use")
    shutil.rmtree(first["run_dir"])
    second = await run(api, cache="use")
    assert set(reasons(second).values()) == {"source_missing"}
    assert {s["cached_from"] for s in (await run(api, cache="use"))["steps"]} == {second["id"]}


async def test_downstream_step_reads_identical_data_from_cached_outputs(api, jp_root_dir, backend):
    directory = jp_root_dir / "p"
    chain(directory)
    first = await run(api, cache="use", backend=backend)
    (directory / "c.py").write_text("import orchest\nprint('again', orchest.get_inputs()['b'])\n")
    second = await run(api, cache="use", backend=backend)
    assert reasons(second) == {"A": None, "B": None, "C": "key_changed", "D": None}

    async def log(run_: dict, title: str) -> str:
        uuid = steps_by_title(run_)[title]["uuid"]
        _, body = await api("GET", "runs", run_["id"], "steps", uuid, "log")
        return body["text"]

    assert "got 10" in await log(second, "B")
    assert await log(second, "B") == await log(first, "B")
    assert "again b" in await log(second, "C")


async def test_refresh_runs_everything_and_records_new_keys(api, jp_root_dir):
    chain(jp_root_dir / "p")
    await run(api, cache="use")
    refreshed = await run(api, cache="refresh")
    assert set(reasons(refreshed).values()) == {"refresh"}
    assert all(step["cache_key"] for step in refreshed["steps"])
    after = await run(api, cache="use")
    assert {step["cached_from"] for step in after["steps"]} == {refreshed["id"]}


async def test_cache_is_off_by_default(api, jp_root_dir):
    chain(jp_root_dir / "p")
    await run(api, cache="use")
    default = await run(api)
    assert default["cache"] == "off"
    assert set(reasons(default).values()) == {"cache_off"}
    assert not any(step["cached"] for step in default["steps"])


async def test_run_changed_right_after_a_run_all_reruns_nothing(api, jp_root_dir):
    chain(jp_root_dir / "p")
    edit_pipeline(jp_root_dir / "p", "D", cache=False)
    run_all = await run(api)
    assert set(reasons(run_all).values()) == {"cache_off"}
    keys = {s["title"]: s["cache_key"] for s in run_all["steps"]}
    assert all(keys[title] for title in "ABC") and keys["D"] is None  # D opted out
    changed = await run(api, cache="use")
    assert reasons(changed) == {"A": None, "B": None, "C": None, "D": "opted_out"}
    assert {s["cached_from"] for s in changed["steps"] if s["cached"]} == {run_all["id"]}


async def test_ran_because_names_what_changed(api, jp_root_dir):
    directory = jp_root_dir / "p"
    uuids = chain(directory)
    (directory / "data.csv").write_text("1\n")
    edit_pipeline(directory, "D", cache={"inputs": ["data.csv"]})
    await run(api)

    def changes(run_: dict) -> dict[str, tuple[list[str], list[str]] | None]:
        return {
            title: (step["changed"], step["changed_parents"])
            for title, step in steps_by_title(run_).items()
            if step["run_reason"] == "key_changed"
        }

    (directory / "b.py").write_text(CONSUME + "import orchest\norchest.output('b2', name='b')\n")
    (directory / "data.csv").write_text("2\n")
    first = await run(api, cache="use")
    assert changes(first) == {
        "B": (["code"], []),
        "C": (["parents"], [uuids["B"]]),
        "D": (["inputs"], []),
    }
    overridden = await run(api, cache="use", parameters={"A": {"n": 3}})
    assert changes(overridden) == {
        "A": (["parameters"], []),
        "B": (["parents"], [uuids["A"]]),
        "C": (["parents"], [uuids["B"]]),
    }
    with_env = await run(api, cache="use", parameters={"A": {"n": 3}}, env={"WHO": "me"})
    assert changes(with_env) == {
        "A": (["environment"], []),
        "B": (["environment", "parents"], [uuids["A"]]),
        "C": (["environment", "parents"], [uuids["B"]]),
        "D": (["environment"], []),
    }
    assert all(step["changed"] is None for step in first["steps"] if step["cached"])


async def test_cached_step_events_say_so(api, jp_root_dir, jp_ws_fetch):
    chain(jp_root_dir / "p")
    first = await run(api, cache="use")
    ws = await jp_ws_fetch("api", "events", "subscribe")
    code, second = await api(
        "POST", "runs", body={"pipeline_path": "p/pipeline.orchest", "cache": "use"}
    )
    assert code == 202, second
    events = await collect_run_events(ws, second["id"])
    ws.close()
    steps = [e for e in events if e["schema_id"] == STEP_STATUS]
    assert [e["status"] for e in steps] == ["SUCCESS"] * 4
    assert all(e["cached"] and e["cached_from"] == first["id"] for e in steps)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))


@pytest.mark.parametrize(
    ("body", "field"),
    [({"cache": "sometimes"}, "cache"), ({"cache": True}, "cache")],
)
async def test_bad_cache_option_is_a_400_naming_it(api, jp_root_dir, body, field):
    chain(jp_root_dir / "p")
    code, reply = await api("POST", "runs", body={"pipeline_path": "p/pipeline.orchest", **body})
    assert code == 400 and field in reply["message"], reply


@pytest.mark.parametrize(
    ("cache", "words"),
    [
        ({"inputs": "data/*.csv"}, "cache.inputs"),
        ({"inputs": ["../secrets/*"]}, "leaves the pipeline directory"),
        ({"inputs": ["/etc/passwd"]}, "leaves the pipeline directory"),
        ({"input": []}, "cache.input"),
        ("yes", '"cache"'),
    ],
)
async def test_bad_step_cache_field_is_a_422_naming_it(api, jp_root_dir, cache, words):
    chain(jp_root_dir / "p")
    edit_pipeline(jp_root_dir / "p", "D", cache=cache)
    code, reply = await api(
        "POST", "runs", body={"pipeline_path": "p/pipeline.orchest", "cache": "use"}
    )
    assert code == 422, reply
    assert [issue["field"] for issue in reply["issues"]] == ["cache"]
    assert words in reply["issues"][0]["message"]


async def test_a_store_from_before_caching_gains_its_columns(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
    store = Store(path)
    await store.open()
    try:
        entries = await store.cache_entries("pipeline", {"step": "key"})
        assert entries == {"step": CacheEntry([], had_key=False, latest_parts=None)}
    finally:
        await store.close()
    with sqlite3.connect(path) as db:
        steps = {row[1] for row in db.execute("PRAGMA table_info(steps)")}
        runs = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
    assert {"cache_key", "run_reason", "cached", "cached_from", "cache_parts", "changed"} <= steps
    assert "cache" in runs


async def test_a_job_with_cache_use_reuses_an_earlier_runs_results(api, jp_root_dir):
    uuids = chain(jp_root_dir / "p")
    first = await run(api, cache="use")
    code, job = await api(
        "POST", "jobs", body={"pipeline_path": "p/pipeline.orchest", "cache": "use"}
    )
    assert code == 201, job
    deadline = time.monotonic() + 120
    while True:
        code, current = await api("GET", "jobs", job["id"])
        assert code == 200, current
        if current["status"] == "DONE":
            break
        assert time.monotonic() < deadline, current
        await asyncio.sleep(0.1)
    fired = await wait_for_run(api, current["runs"][0]["id"])
    assert fired["cache"] == "use"
    assert {s["uuid"]: s["cached_from"] for s in fired["steps"]} == dict.fromkeys(
        uuids.values(), first["id"]
    )


async def test_the_docker_image_is_part_of_the_key(api, jp_root_dir):
    require_image()
    chain(jp_root_dir / "p")
    local = await run(api, cache="use")
    in_docker = await run(api, cache="use", backend="docker")
    assert set(reasons(in_docker).values()) == {"key_changed"}
    local_keys = {s["uuid"]: s["cache_key"] for s in local["steps"]}
    assert all(s["cache_key"] != local_keys[s["uuid"]] for s in in_docker["steps"])
    assert set(reasons(await run(api, cache="use", backend="docker")).values()) == {None}
