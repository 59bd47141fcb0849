"""Notebook kernels forked from a template process: the step's own directory, environment and
files, abort and shutdown leave nothing, a dead template is replaced, and kernels that are not
the template's start as usual."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from orchest_ext.executors.local import LocalExecutor
from orchest_ext.executors.local.fork_template import KernelTemplates

from .helpers import notebook, step_spec, until

REPORT = (
    "import json, os, sys, helper\n"
    "json.dump({'cwd': os.getcwd(), 'var': os.environ.get('USER_VAR'), 'pid': os.getpid(),\n"
    "           'ppid': os.getppid(), 'pgid': os.getpgid(0), 'helper': helper.VALUE,\n"
    "           'path': sys.path}, open('report.json', 'w'))\n"
    "os.write(2, b'to the kernel log\\n')\n"
)


@pytest.fixture
def executor(jp_asyncio_loop: asyncio.AbstractEventLoop) -> Iterator[LocalExecutor]:
    """A local executor (forking kernels, the default), closed after the test."""
    executor = LocalExecutor(kill_grace_seconds=0.5, kernel_shutdown_wait=0.5)
    yield executor
    jp_asyncio_loop.run_until_complete(executor.close())


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def report_step(tmp_path: Path, **kw: Any):
    """A notebook step that reports its kernel's directory, variables and process, importing
    a module that sits beside it in the pipeline directory."""
    spec = step_spec(tmp_path, "report.ipynb", notebook(REPORT), **kw)
    (spec.working_dir / "helper.py").write_text("VALUE = 'from the pipeline dir'\n")
    return spec


async def run_report(executor: LocalExecutor, spec) -> dict[str, Any]:
    result = await executor.run(spec)
    assert result.status == "SUCCESS", result.message
    return json.loads((spec.working_dir / "report.json").read_text())


def template_pid(executor: LocalExecutor) -> int:
    templates = executor.kernel_templates()
    assert templates is not None and templates.template is not None
    assert templates.template.pid is not None
    return templates.template.pid


async def test_forked_kernel_runs_the_step_in_its_directory_and_environment(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    spec = report_step(tmp_path)
    report = await run_report(executor, spec)
    assert report["ppid"] == template_pid(executor), "the kernel was not forked"
    assert report["pgid"] == report["pid"], "a forked kernel leads a process group of its own"
    assert report["cwd"] == str(spec.working_dir)
    assert report["var"] == "from-user"
    assert report["helper"] == "from the pipeline dir"
    assert "to the kernel log" in (spec.step_dir / "kernel.log").read_text()

    plain = LocalExecutor(fork_kernels=False)
    plain_report = await run_report(plain, report_step(tmp_path / "plain"))
    assert plain_report["ppid"] == os.getpid()
    assert report["path"] == plain_report["path"], "sys.path differs from a plain start"


async def test_abort_kills_a_forked_kernel_and_leaves_no_process(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    code = (
        "import subprocess, time\n"
        "child = subprocess.Popen(['sleep', '100'])\n"
        "print('child', child.pid, flush=True)\n"
        "time.sleep(100)"
    )
    spec = step_spec(tmp_path, "step.ipynb", notebook(code))
    handles: list[dict[str, Any]] = []
    task = asyncio.create_task(executor.run(spec, handles.append))
    await until(lambda: spec.log_path.exists() and "child" in spec.log_path.read_text())
    child_pid = int(spec.log_path.read_text().split()[1])
    kernel_pid = handles[0]["pid"]
    template = template_pid(executor)
    assert psutil.Process(kernel_pid).ppid() == template

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    await until(lambda: gone(kernel_pid) and gone(child_pid))
    await until(lambda: not psutil.Process(template).children())


async def test_a_killed_template_is_replaced(executor: LocalExecutor, tmp_path: Path) -> None:
    first = await run_report(executor, report_step(tmp_path / "first"))
    old = first["ppid"]
    os.kill(old, signal.SIGKILL)
    await until(lambda: gone(old))

    second = await run_report(executor, report_step(tmp_path / "second"))
    assert second["ppid"] not in (old, os.getpid()), "not forked from a new template"
    assert second["ppid"] == template_pid(executor)


def wrapped_python(directory: Path) -> Path:
    """This interpreter under another path: a kernelspec running it is not the template's."""
    directory.mkdir(parents=True)
    wrapper = directory / "python"
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return wrapper


async def test_kernelspec_of_another_interpreter_starts_as_usual(
    executor: LocalExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec_dir = tmp_path / "jupyter" / "kernels" / "other"
    spec_dir.mkdir(parents=True)
    argv = [str(wrapped_python(tmp_path / "bin")), "-m", "ipykernel_launcher"]
    kernel_json = {"argv": [*argv, "-f", "{connection_file}"], "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps({**kernel_json, "display_name": "Other"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))

    report = await run_report(executor, report_step(tmp_path / "p", kernel_name="other"))

    assert report["ppid"] == os.getpid()
    assert report["helper"] == "from the pipeline dir"


async def test_a_step_changing_python_startup_variables_starts_as_usual(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    spec = report_step(tmp_path)
    spec.env["PYTHONHASHSEED"] = "7"
    report = await run_report(executor, spec)
    assert report["ppid"] == os.getpid()


async def test_close_stops_the_template_and_the_kernels_it_forked(tmp_path: Path) -> None:
    executor = LocalExecutor(kill_grace_seconds=0.5)
    spec = step_spec(tmp_path, "step.ipynb", notebook("import time\ntime.sleep(100)"))
    handles: list[dict[str, Any]] = []
    task = asyncio.create_task(executor.run(spec, handles.append))
    await until(lambda: handles)
    template = template_pid(executor)

    await executor.close()

    await until(lambda: gone(template) and gone(handles[0]["pid"]))
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_template_that_cannot_start_leaves_kernels_to_start_as_usual(
    tmp_path: Path,
) -> None:
    broken = wrapped_python(tmp_path / "bin")
    broken.write_text("#!/bin/sh\nexit 3\n")
    templates = KernelTemplates(dict(os.environ), LocalExecutor().log, python=str(broken))
    cmd = [str(broken), "-m", "ipykernel_launcher", "-f", "x.json"]
    assert await templates.for_kernel(cmd, dict(os.environ)) is None
    assert templates.failed
    await templates.close()
