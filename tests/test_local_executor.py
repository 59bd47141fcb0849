"""LocalExecutor against real kernels and processes."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import psutil
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from orchest_ext.executors.local import LocalExecutor
from orchest_ext.executors.local.notebook import inject_parameters, resolve_kernel
from orchest_ext.executors.local.process import process_handle

from .helpers import step_spec, until


@pytest.fixture
def executor(jp_asyncio_loop: asyncio.AbstractEventLoop) -> Iterator[LocalExecutor]:
    executor = LocalExecutor(kill_grace_seconds=0.5)
    yield executor
    jp_asyncio_loop.run_until_complete(executor.close())


make_spec = step_spec


def notebook(*sources: str, skip: tuple[int, ...] = ()) -> nbformat.NotebookNode:
    nb = new_notebook(cells=[new_markdown_cell("# A step")])
    for index, source in enumerate(sources):
        cell = new_code_cell(source)
        if index in skip:
            cell.metadata["tags"] = ["skip"]
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    return nb


def is_gone(pid: int) -> bool:
    """True when the process is gone or a zombie (dead, waiting to be reaped)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def descendants(pid: int) -> list[int]:
    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def outputs_text(nb: nbformat.NotebookNode) -> str:
    texts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            texts.append(out.get("text") or out.get("data", {}).get("text/plain", ""))
    return "\n".join(texts)


async def test_notebook_success(executor: LocalExecutor, tmp_path: Path) -> None:
    nb = notebook(
        'print("hello from a cell")',
        "6 * 7",
        "import os\nprint(os.getcwd())",
        "print(os.environ['USER_VAR'], os.environ['ORCHEST_STEP_UUID'])",
    )
    spec = make_spec(tmp_path, "step.ipynb", nb)
    source_before = spec.source_path.read_bytes()
    sigterm_handler = signal.getsignal(signal.SIGTERM)
    handles: list[dict[str, Any]] = []

    result = await executor.run(spec, handles.append)

    assert result.status == "SUCCESS", result.message
    assert signal.getsignal(signal.SIGTERM) is sigterm_handler
    assert handles and handles[0]["pid"] > 0 and handles[0]["pgid"] > 0
    executed = outputs_text(nbformat.read(spec.output_notebook_path, as_version=4))
    assert "hello from a cell" in executed
    assert "42" in executed
    assert str(spec.working_dir) in executed
    assert "from-user step-1" in executed
    log = spec.log_path.read_text()
    assert "hello from a cell" in log
    assert "42" in log
    assert spec.source_path.read_bytes() == source_before
    assert is_gone(handles[0]["pid"])


async def test_notebook_write_back(executor: LocalExecutor, tmp_path: Path) -> None:
    spec = make_spec(tmp_path, "step.ipynb", notebook('print("written back")'), write_back=True)

    result = await executor.run(spec)

    assert result.status == "SUCCESS", result.message
    assert "written back" in outputs_text(nbformat.read(spec.source_path, as_version=4))


async def test_notebook_skip_tagged_cell_not_executed(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    nb = notebook('raise RuntimeError("must not run")', 'print("ran")', skip=(0,))
    spec = make_spec(tmp_path, "step.ipynb", nb)

    result = await executor.run(spec)

    assert result.status == "SUCCESS", result.message
    cells = nbformat.read(spec.output_notebook_path, as_version=4).cells
    assert cells[1].outputs == [] and cells[1].execution_count is None
    assert "ran" in outputs_text(nbformat.read(spec.output_notebook_path, as_version=4))


async def test_notebook_failing_cell(executor: LocalExecutor, tmp_path: Path) -> None:
    spec = make_spec(tmp_path, "step.ipynb", notebook('print("before")', "1 / 0", 'print("after")'))

    result = await executor.run(spec)

    assert result.status == "FAILURE"
    assert result.message == "Cell 3 (In [2]) raised ZeroDivisionError: division by zero"
    cells = nbformat.read(spec.output_notebook_path, as_version=4).cells
    assert cells[2].outputs[0].output_type == "error"
    assert cells[3].outputs == []
    log = spec.log_path.read_text()
    assert "before" in log and "ZeroDivisionError" in log
    assert "\x1b[" not in log


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{broken", "Expecting property name"),
        ('{"nbformat": 4, "nbformat_minor": 5, "cells": 5, "metadata": {}}', "not iterable"),
        ('{"nbformat": 4, "nbformat_minor": 5}', "missing an expected key"),
    ],
)
async def test_a_file_that_is_no_notebook_fails_its_step_naming_it(
    executor: LocalExecutor, tmp_path: Path, caplog: pytest.LogCaptureFixture, content, reason
) -> None:
    spec = make_spec(tmp_path, "step.ipynb", content)

    result = await executor.run(spec)

    assert result.status == "FAILURE"
    assert result.message.startswith("steps/step.ipynb is not a readable notebook: ")
    assert reason in result.message and len(result.message) < 200
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_python_keyword_as_parameter_fails_the_step_naming_it(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    nb = notebook("alpha = 0", 'print("must not run")')
    nb.cells[1].metadata["tags"] = ["parameters"]
    spec = make_spec(
        tmp_path, "step.ipynb", nb, parameters={"alpha": 1}, pipeline_parameters={"class": 2}
    )

    result = await executor.run(spec)

    assert result == result.__class__(
        "FAILURE",
        "Cannot inject parameters: 'class' cannot be a Python variable (a keyword); "
        "rename the parameter.",
    )


async def test_a_notebook_on_a_substitute_kernel_says_so_in_its_log(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    nb = notebook('print("ran")')
    nb.metadata["kernelspec"] = {"name": "no-such-kernel", "display_name": "Nothing"}
    spec = make_spec(tmp_path, "step.ipynb", nb)

    result = await executor.run(spec)

    assert result.status == "SUCCESS", result.message
    assert spec.log_path.read_text() == (
        "Kernel 'no-such-kernel' is not installed: this notebook runs on 'python3' instead.\nran\n"
    )


def test_kernel_name_resolution(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("test")
    assert resolve_kernel("python3", "python3", log) == ("python3", "python", None)
    assert resolve_kernel("python", "python3", log) == ("python3", "python", None)
    assert resolve_kernel(None, "python3", log) == ("python3", "python", None)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    with caplog.at_level(logging.WARNING):
        assert resolve_kernel("no-such-kernel", "python3", log) == (
            "python3",
            "python",
            "Kernel 'no-such-kernel' is not installed: this notebook runs on 'python3' instead.\n",
        )
    assert "no-such-kernel" in caplog.text


def test_parameters_are_injected_in_the_kernels_language(tmp_path, monkeypatch) -> None:
    spec_dir = tmp_path / "kernels" / "r-like"
    spec_dir.mkdir(parents=True)
    spec = {"argv": ["R", "{connection_file}"], "display_name": "R", "language": "R"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    kernel, language, _ = resolve_kernel("r-like", "python3", logging.getLogger("test"))
    assert (kernel, language) == ("r-like", "R")

    nb = new_notebook(cells=[new_code_cell("alpha <- 0")])
    nb.cells[0].metadata["tags"] = ["parameters"]
    inject_parameters(nb, {"alpha": 0.5, "flag": True, "name": "x"}, kernel, language)
    assert nb.cells[1].metadata["tags"] == ["injected-parameters"]
    assert nb.cells[1].source.split("\n")[1:4] == ["alpha = 0.5", "flag = TRUE", 'name = "x"']

    inject_parameters(nb, {"flag": False}, "python3", "python")
    assert [cell.source.split("\n")[1] for cell in nb.cells[1:]] == ["flag = False"]
    with pytest.raises(ValueError, match="cobol"):
        inject_parameters(nb, {"flag": False}, "cobol-kernel", "cobol")


async def test_python_step_env_and_cwd(
    executor: LocalExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERVER_VAR", "from-server")
    code = (
        "import os\n"
        "print(os.getcwd())\n"
        "for key in ('SERVER_VAR', 'USER_VAR', 'ORCHEST_STEP_UUID'):\n"
        "    print(key, os.environ[key])\n"
    )
    spec = make_spec(tmp_path, "step.py", code)
    handles: list[dict[str, Any]] = []

    async def record(handle: dict[str, Any]) -> None:
        handles.append(handle)

    result = await executor.run(spec, record)

    assert result.status == "SUCCESS", result.message
    assert handles and handles[0]["pgid"] == handles[0]["pid"]
    log = spec.log_path.read_text().splitlines()
    assert log == [
        str(spec.working_dir),
        "SERVER_VAR from-server",
        "USER_VAR from-user",
        "ORCHEST_STEP_UUID step-1",
    ]


async def test_shell_step_success_and_stderr(executor: LocalExecutor, tmp_path: Path) -> None:
    spec = make_spec(tmp_path, "step.sh", 'echo "out $USER_VAR"; echo err >&2; pwd\n')

    result = await executor.run(spec)

    assert result.status == "SUCCESS", result.message
    assert spec.log_path.read_text().splitlines() == [
        "out from-user",
        "err",
        str(spec.working_dir),
    ]


async def test_exit_code_failure(executor: LocalExecutor, tmp_path: Path) -> None:
    spec = make_spec(tmp_path, "step.sh", "echo about to fail\nexit 3\n")

    result = await executor.run(spec)

    assert result.status == "FAILURE"
    assert "exited with code 3" in result.message
    assert "about to fail" in result.message


async def test_python_exception_failure(executor: LocalExecutor, tmp_path: Path) -> None:
    spec = make_spec(tmp_path, "step.py", "raise SystemExit('bad input')\n")

    result = await executor.run(spec)

    assert result.status == "FAILURE"
    assert "exited with code 1" in result.message and "bad input" in result.message


async def test_missing_file_failure(executor: LocalExecutor, tmp_path: Path) -> None:
    spec = make_spec(tmp_path, "step.sh", "")
    spec.source_path.unlink()

    result = await executor.run(spec)

    assert result.status == "FAILURE"
    assert "not found" in result.message


async def test_a_shell_step_with_its_own_path_still_starts(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    spec = make_spec(tmp_path, "step.sh", 'echo "PATH=$PATH"\n')
    spec.env["PATH"] = str(tmp_path / "bin")

    result = await executor.run(spec)

    assert result.status == "SUCCESS", result.message
    assert spec.log_path.read_text() == f"PATH={tmp_path / 'bin'}\n"


async def test_an_interpreter_that_cannot_start_fails_the_step_naming_it(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "no-such-python"
    executor = LocalExecutor(python_interpreter=str(missing))
    spec = make_spec(tmp_path, "step.py", "print('never')\n")

    result = await executor.run(spec)

    assert result == result.__class__(
        "FAILURE", f"Cannot start {missing}: No such file or directory"
    )


async def test_r_step_without_rscript(
    executor: LocalExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R not on the server's PATH: the step fails naming what to install."""
    monkeypatch.setenv("PATH", str(tmp_path / "no-r-here"))
    spec = make_spec(tmp_path, "step.R", 'print("hi")\n')

    result = await executor.run(spec)

    assert result == result.__class__(
        "FAILURE",
        "Rscript is not installed: .R steps need R (Debian: apt-get install r-base-core "
        "r-cran-jsonlite)",
    )


async def test_log_written_while_running(executor: LocalExecutor, tmp_path: Path) -> None:
    spec = make_spec(tmp_path, "step.sh", "echo started\nsleep 100\n")
    task = asyncio.create_task(executor.run(spec))

    await until(lambda: spec.log_path.exists() and "started" in spec.log_path.read_text())

    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_cancel_kills_process_group(executor: LocalExecutor, tmp_path: Path) -> None:
    spec = make_spec(tmp_path, "step.sh", "sleep 100 &\nsleep 100\n")
    handles: list[dict[str, Any]] = []
    task = asyncio.create_task(executor.run(spec, handles.append))
    await until(lambda: handles and len(descendants(handles[0]["pid"])) >= 2)
    pids = [handles[0]["pid"], *descendants(handles[0]["pid"])]
    assert handles[0]["pgid"] == handles[0]["pid"] == os.getpgid(pids[-1])

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    await until(lambda: all(is_gone(pid) for pid in pids))


async def test_timeout_kills_process(executor: LocalExecutor, tmp_path: Path) -> None:
    spec = make_spec(tmp_path, "step.py", "import time\ntime.sleep(100)\n")
    handles: list[dict[str, Any]] = []

    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(executor.run(spec, handles.append), 0.5)

    await until(lambda: is_gone(handles[0]["pid"]))


async def test_cancel_kills_kernel(executor: LocalExecutor, tmp_path: Path) -> None:
    code = (
        "import subprocess, time\n"
        "child = subprocess.Popen(['sleep', '100'])\n"
        "print('child', child.pid, flush=True)\n"
        "time.sleep(100)"
    )
    spec = make_spec(tmp_path, "step.ipynb", notebook(code))
    handles: list[dict[str, Any]] = []
    task = asyncio.create_task(executor.run(spec, handles.append))
    await until(lambda: spec.log_path.exists() and "child" in spec.log_path.read_text())
    child_pid = int(spec.log_path.read_text().split()[1])
    kernel_pid = handles[0]["pid"]

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    await until(lambda: is_gone(kernel_pid) and is_gone(child_pid))


async def test_cleanup_orphan_kills_process_group(executor: LocalExecutor) -> None:
    script = "setsid bash -c 'sleep 100 & sleep 100' >/dev/null 2>&1 </dev/null & echo $!"
    leader = int(subprocess.run(["bash", "-c", script], capture_output=True, text=True).stdout)
    await until(lambda: len(descendants(leader)) >= 2 and os.getpgid(leader) == leader)
    pids = [leader, *descendants(leader)]
    handle = process_handle(leader)

    await executor.cleanup_orphan({**handle, "identity": "another-boot:1"})
    assert not any(is_gone(pid) for pid in pids), "a reused pid must not be killed"

    await executor.cleanup_orphan(handle)

    await until(lambda: all(is_gone(pid) for pid in pids))
    await executor.cleanup_orphan(handle)


async def test_cancel_during_kernel_startup(executor: LocalExecutor, tmp_path: Path) -> None:
    spec = make_spec(tmp_path, "step.ipynb", notebook("1"))
    handles: list[dict[str, Any]] = []

    def cancel_on_start(handle: dict[str, Any]) -> None:
        handles.append(handle)
        task.cancel()

    task = asyncio.create_task(executor.run(spec, cancel_on_start))
    with pytest.raises(asyncio.CancelledError):
        await task

    await until(lambda: is_gone(handles[0]["pid"]))


async def test_cell_timeout(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, "step.ipynb", notebook("import time\ntime.sleep(30)"))
    handles: list[dict[str, Any]] = []

    executor = LocalExecutor(cell_timeout=1)
    result = await executor.run(spec, handles.append)
    await executor.close()

    assert result.status == "FAILURE"
    assert result.message == "Cell 2 (In [1]) timed out after 1 s"
    await until(lambda: is_gone(handles[0]["pid"]))
