"""Developing a step interactively: `import orchest` in a notebook's kernel started by the
server (sessions API, so jupyter_server sets JPY_SESSION_NAME) reads the step's pipeline file
and its parents' outputs from their latest successful run."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from orchest_ext.executors.base import STEP_SDK_PATH

from .helpers import make_pipeline, notebook, wait_for_run

LOAD = (
    "import orchest\n"
    "value = orchest.get_pipeline_param('v')\n"
    "orchest.output(value, name='data')\n"
    "assert value != 'bad', 'told to fail'\n"
)
SHOW = "import json, orchest\n"


@pytest.fixture(autouse=True)
def step_api_of_this_checkout(jp_environ, monkeypatch) -> None:
    """Kernels import the step API under test (an install puts the same directory on the path:
    see test_packaging); after ``jp_environ``, which sets PYTHONPATH too."""
    paths = [str(STEP_SDK_PATH), *filter(None, [os.environ.get("PYTHONPATH")])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))


class Kernel:
    """A notebook's kernel, started through the sessions API as JupyterLab starts it."""

    def __init__(self, jp_fetch, serverapp, path: str, name: bool = True) -> None:
        self.jp_fetch = jp_fetch
        self.serverapp = serverapp
        self.path = path
        self.name = name
        self.session_id = ""
        self.client: Any = None

    async def __aenter__(self) -> Kernel:
        body = {"path": self.path, "type": "notebook", "kernel": {"name": "python3"}}
        if self.name:
            body["name"] = Path(self.path).name
        response = await self.jp_fetch("api", "sessions", method="POST", body=json.dumps(body))
        session = json.loads(response.body)
        self.session_id = session["id"]
        manager = self.serverapp.kernel_manager.get_kernel(session["kernel"]["id"])
        self.client = manager.client()
        self.client.start_channels()
        await self.client.wait_for_ready(timeout=60)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.client.stop_channels()
        await self.jp_fetch("api", "sessions", self.session_id, method="DELETE")

    async def run(self, code: str) -> tuple[str, str]:
        """Execute ``code``; its stdout, and its error (``Name: message``) or stderr."""
        out: list[str] = []
        err: list[str] = []

        def hook(msg: dict[str, Any]) -> None:
            content = msg["content"]
            if msg["msg_type"] == "stream":
                (out if content["name"] == "stdout" else err).append(content["text"])
            elif msg["msg_type"] == "error":
                err.append(f"{content['ename']}: {content['evalue']}")

        await self.client.execute_interactive(code, output_hook=hook, timeout=60)
        return "".join(out), "".join(err)

    async def value(self, expression: str) -> Any:
        """The JSON value of ``expression`` evaluated in the kernel."""
        out, err = await self.run(f"{SHOW}print(json.dumps({expression}))")
        assert out, err
        return json.loads(out.strip().splitlines()[-1])


def develop_pipeline(directory: Path, name: str = "pipeline.orchest") -> dict[str, str]:
    """Load (script) -> Explore (notebook) -> Report (notebook), with parameters in the file."""
    pipeline_file, uuids = make_pipeline(
        directory,
        {
            "Load": ("load.py", LOAD, []),
            "Explore": ("explore.ipynb", notebook("1 + 1"), ["Load"]),
            "Report": ("report.ipynb", notebook("2 + 2"), ["Explore"]),
        },
        file_name=name,
    )
    description = json.loads(pipeline_file.read_text())
    description["parameters"] = {"v": "good", "seed": 7}
    description["steps"][uuids["Explore"]]["parameters"] = {"threshold": 0.5}
    pipeline_file.write_text(json.dumps(description))
    return uuids


async def run_pipeline(api, **body: Any) -> dict[str, Any]:
    body = {"pipeline_path": "p/pipeline.orchest", **body}
    code, run = await api("POST", "runs", body=body)
    assert code == 202, run
    return await wait_for_run(api, run["id"])


@pytest.mark.parametrize("name", [True, False], ids=["lab-session", "path-only-session"])
async def test_a_steps_notebook_reads_its_parents_outputs_and_its_parameters(
    api, jp_fetch, jp_serverapp, jp_root_dir, name
):
    uuids = develop_pipeline(jp_root_dir / "p")
    assert (await run_pipeline(api))["status"] == "SUCCESS"
    async with Kernel(jp_fetch, jp_serverapp, "p/explore.ipynb", name=name) as kernel:
        assert await kernel.value("orchest.get_inputs()") == {"data": "good", "unnamed": []}
        assert await kernel.value("orchest.get_step_param('threshold')") == 0.5
        assert await kernel.value("orchest.get_pipeline_param('seed')") == 7
        assert await kernel.value("orchest.get_params()") == [
            {"threshold": 0.5},
            {"v": "good", "seed": 7},
        ]
        assert await kernel.value("orchest.get_step_uuid()") == uuids["Explore"]
        _, err = await kernel.run("import orchest\norchest.get_run_uuid()")
        assert "OrchestError: No run" in err


async def test_a_failed_run_does_not_replace_the_inputs(api, jp_fetch, jp_serverapp, jp_root_dir):
    develop_pipeline(jp_root_dir / "p")
    assert (await run_pipeline(api))["status"] == "SUCCESS"
    failed = await run_pipeline(api, parameters={"pipeline_parameters": {"v": "bad"}})
    assert failed["status"] == "FAILURE"  # Load wrote its output, then failed
    async with Kernel(jp_fetch, jp_serverapp, "p/explore.ipynb") as kernel:
        assert await kernel.value("orchest.get_inputs()['data']") == "good"
    second = await run_pipeline(api, parameters={"pipeline_parameters": {"v": "better"}})
    assert second["status"] == "SUCCESS"
    async with Kernel(jp_fetch, jp_serverapp, "p/explore.ipynb") as kernel:
        assert await kernel.value("orchest.get_inputs()['data']") == "better"


async def test_parameters_are_read_from_the_file_as_saved_now(
    api, jp_fetch, jp_serverapp, jp_root_dir
):
    uuids = develop_pipeline(jp_root_dir / "p")
    async with Kernel(jp_fetch, jp_serverapp, "p/explore.ipynb") as kernel:
        assert await kernel.value("orchest.get_step_param('threshold')") == 0.5
        pipeline_file = jp_root_dir / "p" / "pipeline.orchest"
        description = json.loads(pipeline_file.read_text())
        description["steps"][uuids["Explore"]]["parameters"] = {"threshold": 0.9}
        pipeline_file.write_text(json.dumps(description))
        assert await kernel.value("orchest.get_step_param('threshold')") == 0.9
        out, err = await kernel.run(f"{SHOW}print(json.dumps(orchest.get_inputs()))")
        assert json.loads(out) == {"unnamed": []}
        assert "Step 'Load'" in err and "has no output yet" in err


async def test_an_output_while_developing_is_the_input_of_the_child_developed_next(
    api, jp_fetch, jp_serverapp, jp_root_dir
):
    uuids = develop_pipeline(jp_root_dir / "p")
    assert (await run_pipeline(api))["status"] == "SUCCESS"
    async with Kernel(jp_fetch, jp_serverapp, "p/explore.ipynb") as kernel:
        _, err = await kernel.run("import orchest\norchest.output({'rows': 3})")
        assert not err
    async with Kernel(jp_fetch, jp_serverapp, "p/report.ipynb") as kernel:
        assert await kernel.value("orchest.get_inputs()") == {"unnamed": [{"rows": 3}]}
    runs = jp_root_dir / "p" / ".orchest" / "runs"
    assert not list(runs.glob(f"*/steps/{uuids['Explore']}/output"))  # no run was touched
    rerun = await run_pipeline(api, run_type="selection", uuids=[uuids["Report"]])
    assert rerun["status"] == "SUCCESS", rerun  # inside a run: the runs' outputs only


async def test_while_developing_outputs_are_summarized_and_metrics_kept_in_the_step_dir(
    jp_fetch, jp_serverapp, jp_root_dir
):
    uuids = develop_pipeline(jp_root_dir / "p")
    async with Kernel(jp_fetch, jp_serverapp, "p/explore.ipynb") as kernel:
        _, err = await kernel.run(
            "import orchest\norchest.output([1, 2], name='pair')\norchest.log_metric('r2', 0.7)"
        )
        assert not err
    step_dir = jp_root_dir / "p" / ".orchest" / "interactive" / "steps" / uuids["Explore"]
    summary = json.loads((step_dir / "output" / "summary.json").read_text())
    assert summary == {
        "name": "pair",
        "type": "builtins.list",
        "bytes": len("[1, 2]"),
        "preview": {"kind": "value", "value": [1, 2]},
    }
    assert json.loads((step_dir / "metrics.json").read_text()) == {"r2": 0.7}


async def test_a_notebook_of_no_pipeline_or_of_several_is_told_how_to_choose(
    api, jp_fetch, jp_serverapp, jp_root_dir
):
    develop_pipeline(jp_root_dir / "p")
    (jp_root_dir / "p" / "scratch.ipynb").write_text(notebook("1"))
    async with Kernel(jp_fetch, jp_serverapp, "p/scratch.ipynb") as kernel:
        _, err = await kernel.run("import orchest\norchest.get_inputs()")
        assert "scratch.ipynb is not a step of any pipeline" in err
        assert "orchest.use_pipeline(" in err
        out, err = await kernel.run(
            f"{SHOW}orchest.use_pipeline('pipeline.orchest', 'Explore')\n"
            "print(json.dumps(orchest.get_step_param('threshold')))"
        )
        assert out.strip() == "0.5", err
        _, err = await kernel.run("import orchest\norchest.use_pipeline('pipeline.orchest', 'X')")
        assert "has no step 'X'; its steps are 'Load', 'Explore', 'Report'" in err

    develop_pipeline(jp_root_dir / "p", name="copy.orchest")
    async with Kernel(jp_fetch, jp_serverapp, "p/explore.ipynb") as kernel:
        _, err = await kernel.run("import orchest\norchest.get_step_param('threshold')")
        assert "explore.ipynb is a step of more than one pipeline" in err
        assert "copy.orchest: step 'Explore'" in err and "pipeline.orchest: step 'Explore'" in err
        out, err = await kernel.run(
            f"{SHOW}orchest.use_pipeline('copy.orchest')\n"
            "print(json.dumps(orchest.get_step_param('threshold')))"
        )
        assert out.strip() == "0.5", err
