"""Races found in review: two writers of one notebook, the session lock map, papermill's
import on the IOLoop."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import threading
import uuid as uuidlib
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from orchest_ext.executors.local.notebook import write_notebook
from orchest_ext.infra.docker_engine import DockerEngine
from orchest_ext.sessions import PipelineSessionManager

WRITES = 200


def test_two_writers_of_one_notebook_never_meet_in_a_temporary_file(tmp_path: Path):
    path = tmp_path / "analysis.ipynb"
    notebooks = [new_notebook(cells=[new_code_cell(f"writer = {n}")]) for n in range(2)]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def write_many(nb: nbformat.NotebookNode) -> None:
        start.wait()
        for _ in range(WRITES):
            try:
                write_notebook(nb, path)
            except BaseException as err:  # what the other writer's replace did to ours
                errors.append(err)

    writers = [threading.Thread(target=write_many, args=(nb,)) for nb in notebooks]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert errors == []
    assert nbformat.read(path, as_version=4).cells[0].source in ("writer = 0", "writer = 1")
    assert [p.name for p in tmp_path.iterdir()] == ["analysis.ipynb"], "temporary files left"


async def test_session_locks_are_forgotten_once_no_request_holds_them(tmp_path: Path):
    engine = DockerEngine()
    sessions = PipelineSessionManager(tmp_path, engine=engine)
    try:
        for _ in range(500):  # client-supplied pipeline uuids with no session
            assert await sessions.stop(str(uuidlib.uuid4())) is None
        gc.collect()
        assert len(sessions._locks) == 0
        held = sessions._lock("p")
        async with held:
            assert sessions._lock("p") is held, "one lock per pipeline while it is held"
    finally:
        await sessions.close()


PAPERMILL_IMPORT = """
import asyncio, sys, threading
from importlib.abc import MetaPathFinder

loop_thread = threading.main_thread()
imported_on = []

class Watch(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "papermill":
            imported_on.append(threading.current_thread())
        return None

sys.meta_path.insert(0, Watch())
sys.path.insert(0, {tests!r})
from pathlib import Path
from nbformat.v4 import new_code_cell, new_notebook
from helpers import step_spec
from orchest_ext.executors.local import LocalExecutor

nb = new_notebook(cells=[new_code_cell("alpha = 0"), new_code_cell("print(alpha)")])
nb.cells[0].metadata["tags"] = ["parameters"]
nb.metadata["kernelspec"] = {{"name": "python3", "display_name": "Python 3", "language": "python"}}

async def main():
    spec = step_spec(Path({tmp!r}), "step.ipynb", nb, parameters={{"alpha": 7}})
    result = await LocalExecutor().run(spec)
    assert result.status == "SUCCESS", result
    assert "7" in spec.log_path.read_text()

asyncio.run(main())
assert "papermill" not in sys.modules or imported_on, "papermill imported before the watch"
assert imported_on and loop_thread not in imported_on, imported_on
print("papermill imported on", imported_on[0].name)
"""


def test_papermill_is_imported_off_the_ioloop(tmp_path: Path):
    tests = str(Path(__file__).parent)
    script = PAPERMILL_IMPORT.format(tests=tests, tmp=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "papermill imported on asyncio" in done.stdout, done.stdout
