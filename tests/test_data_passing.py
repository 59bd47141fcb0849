"""Orchest's step API inside steps: outputs, inputs, parameters and env vars, on both backends."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat

from .helpers import make_pipeline, notebook, steps_by_title, wait_for_run

EXAMPLES = Path(__file__).parent.parent / "examples"
SCRIPT = (
    "import orchest\n"
    "print(orchest.get_step_param('lr'), orchest.get_pipeline_param('seed'),\n"
    "      orchest.get_step_param('missing', 'dflt'))\n"
)


async def run_pipeline(api, backend: str, path: str = "p/pipeline.orchest", **body) -> dict:
    code, run = await api("POST", "runs", body={"pipeline_path": path, "backend": backend, **body})
    assert code == 202, run
    return await wait_for_run(api, run["id"], timeout=300)


async def step_log(api, run: dict, title: str) -> str:
    uuid = steps_by_title(run)[title]["uuid"]
    _, log = await api("GET", "runs", run["id"], "steps", uuid, "log")
    return log["text"]


def notebook_outputs(run: dict, title: str) -> str:
    step = steps_by_title(run)[title]
    path = Path(run["run_dir"]) / "steps" / step["uuid"] / Path(step["file_path"]).name
    nb = nbformat.read(path, as_version=4)
    texts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            texts.append(out.get("text") or out.get("data", {}).get("text/plain", ""))
    return "".join(texts)


async def test_named_and_unnamed_outputs_in_connection_order(api, jp_root_dir, backend):
    collect = notebook(
        "import orchest\ninputs = orchest.get_inputs()",
        "print(json.dumps(inputs, sort_keys=True))",
    ).replace("import orchest", "import json, orchest")
    make_pipeline(
        jp_root_dir / "p",
        {
            "First": ("first.py", "import orchest\norchest.output('from first')\n", []),
            "Named": ("named.py", "import orchest\norchest.output({'n': 2}, name='two')\n", []),
            "Last": (
                "last.py",
                "import orchest\norchest.output('x')\norchest.output('from last')\n",
                [],
            ),
            "Silent": ("silent.sh", "echo no output\n", []),
            "Collect": ("collect.ipynb", collect, ["Last", "Silent", "First", "Named"]),
        },
    )
    run = await run_pipeline(api, backend)
    assert run["status"] == "SUCCESS", run
    inputs = json.loads((await step_log(api, run, "Collect")).strip().splitlines()[-1])
    assert inputs == {"two": {"n": 2}, "unnamed": ["from last", "from first"]}


async def test_selection_run_reads_the_latest_earlier_output(api, jp_root_dir, backend):
    _, uuids = make_pipeline(
        jp_root_dir / "p",
        {
            "Produce": (
                "produce.py",
                "import orchest\norchest.output(orchest.get_pipeline_param('v'))\n",
                [],
            ),
            "Consume": (
                "consume.py",
                "import orchest\nprint('got', orchest.get_inputs()['unnamed'])\n",
                ["Produce"],
            ),
        },
    )
    for value in (1, 2):
        run = await run_pipeline(api, backend, parameters={"pipeline_parameters": {"v": value}})
        assert run["status"] == "SUCCESS", run
        assert (await step_log(api, run, "Consume")).strip() == f"got [{value}]"
    run = await run_pipeline(api, backend, run_type="selection", uuids=[uuids["Consume"]])
    assert [s["title"] for s in run["steps"]] == ["Consume"]
    assert run["status"] == "SUCCESS", run
    assert (await step_log(api, run, "Consume")).strip() == "got [2]"


async def test_parameters_from_file_overrides_and_papermill_injection(api, jp_root_dir, backend):
    papermill_style = notebook(
        "alpha = 0.1\nepochs = 1",
        "import orchest\nprint('params', alpha, epochs, orchest.get_params())",
        tags={0: ["parameters"]},
    )
    pipeline_file, uuids = make_pipeline(
        jp_root_dir / "p",
        {
            "Script": ("script.py", SCRIPT, []),
            "Notebook": ("nb.ipynb", papermill_style, []),
        },
    )
    description = json.loads(pipeline_file.read_text())
    description["parameters"] = {"seed": 7}
    description["steps"][uuids["Script"]]["parameters"] = {"lr": 0.5}
    description["steps"][uuids["Notebook"]]["parameters"] = {"alpha": 0.9}
    pipeline_file.write_text(json.dumps(description))

    run = await run_pipeline(api, backend)
    assert run["status"] == "SUCCESS", run
    assert (await step_log(api, run, "Script")).strip() == "0.5 7 dflt"
    assert "params 0.9 1 ({'alpha': 0.9}, {'seed': 7})" in notebook_outputs(run, "Notebook")

    overrides = {"Notebook": {"epochs": 5, "extra": "yes"}, "pipeline_parameters": {"seed": 8}}
    run = await run_pipeline(api, backend, parameters=overrides)
    assert run["status"] == "SUCCESS", run
    assert (await step_log(api, run, "Script")).strip() == "0.5 8 dflt"
    expected = "params 0.9 5 ({'alpha': 0.9, 'epochs': 5, 'extra': 'yes'}, {'seed': 8})"
    assert expected in notebook_outputs(run, "Notebook")
    step = steps_by_title(run)["Notebook"]
    executed = nbformat.read(
        Path(run["run_dir"]) / "steps" / step["uuid"] / "nb.ipynb", as_version=4
    )
    assert executed.cells[1].metadata["tags"] == ["injected-parameters"]


async def test_parameter_overrides_for_unknown_steps_are_rejected(api, jp_root_dir):
    make_pipeline(jp_root_dir / "p", {"A": ("a.sh", "echo a\n", [])})
    code, reply = await api(
        "POST",
        "runs",
        body={"pipeline_path": "p/pipeline.orchest", "parameters": {"Ghost": {"x": 1}}},
    )
    assert code == 400 and "Ghost" in reply["message"]


async def test_pipeline_env_variables_and_run_env(api, jp_root_dir, backend):
    pipeline_file, _ = make_pipeline(
        jp_root_dir / "p",
        {"Env": ("env.sh", 'echo "$FROM_PIPELINE $FROM_RUN $SHARED $ORCHEST_PIPELINE_UUID"\n', [])},
    )
    description = json.loads(pipeline_file.read_text())
    description["env_variables"] = {"FROM_PIPELINE": "p", "SHARED": "pipeline"}
    pipeline_file.write_text(json.dumps(description))
    run = await run_pipeline(api, backend, env={"FROM_RUN": "r", "SHARED": "run"})
    assert run["status"] == "SUCCESS", run
    assert (await step_log(api, run, "Env")).strip() == f"p r run {description['uuid']}"


async def test_unserializable_output_fails_the_step_naming_it(api, jp_root_dir, backend):
    make_pipeline(
        jp_root_dir / "p",
        {
            "Bad": (
                "bad.py",
                "import orchest, threading\norchest.output(threading.Lock(), name='lock')\n",
                [],
            ),
            "Child": ("child.py", "import orchest\norchest.get_inputs()\n", ["Bad"]),
        },
    )
    run = await run_pipeline(api, backend)
    steps = steps_by_title(run)
    assert steps["Bad"]["status"] == "FAILURE"
    assert "Cannot serialize output 'lock'" in steps["Bad"]["message"]
    assert steps["Child"]["status"] == "ABORTED"


async def test_quickstart_example(api, jp_root_dir, backend):
    shutil.copytree(EXAMPLES / "sklearn-quickstart", jp_root_dir / "quickstart")
    run = await run_pipeline(api, backend, path="quickstart/quickstart.orchest")
    assert run["status"] == "SUCCESS", run
    collected = notebook_outputs(run, "Collect scores")
    for model in ("logistic_regression", "random_forest", "svc"):
        assert model in collected, collected


async def test_elyra_pipeline_runs_in_order(api, jp_root_dir, backend):
    shutil.copytree(EXAMPLES / "elyra", jp_root_dir / "elyra")
    pipeline_file = next((jp_root_dir / "elyra").glob("*.pipeline"))
    run = await run_pipeline(api, backend, path=f"elyra/{pipeline_file.name}")
    assert run["status"] == "SUCCESS", run
    order = sorted(run["steps"], key=lambda s: s["started_time"])
    position = {s["uuid"]: i for i, s in enumerate(order)}
    for step in run["steps"]:
        for parent in step["parents"]:
            assert position[parent] < position[step["uuid"]]


async def test_the_last_step_of_the_elyra_example_reruns_alone(api, jp_root_dir):
    shutil.copytree(EXAMPLES / "elyra", jp_root_dir / "elyra")
    path = "elyra/hello.pipeline"
    assert (await run_pipeline(api, "local", path=path))["status"] == "SUCCESS"
    alone = await run_pipeline(
        api, "local", path=path, run_type="selection", uuids=["consume.ipynb"]
    )
    assert alone["status"] == "SUCCESS", alone
    assert (
        await step_log(api, alone, "consume.ipynb")
        == "Hello from Elyra: pipelines from Elyra (total 150)\n"
    )


async def test_a_megabyte_of_parameters_reaches_scripts_and_notebooks(api, jp_root_dir, backend):
    """Over the 128 KiB a single argument or environment string may have on Linux."""
    blob = "x" * (1 << 20)
    make_pipeline(
        jp_root_dir / "p",
        {
            "Script": (
                "script.py",
                "import orchest\n"
                "print('script', len(orchest.get_step_param('blob')),"
                " orchest.get_pipeline_param('seed'))\n",
                [],
            ),
            "Notebook": (
                "nb.ipynb",
                notebook(
                    "blob = ''",
                    "import orchest\n"
                    "print('notebook', len(blob), len(orchest.get_step_param('blob')))",
                    tags={0: ["parameters"]},
                ),
                [],
            ),
        },
    )
    run = await run_pipeline(
        api,
        backend,
        parameters={
            "Script": {"blob": blob},
            "Notebook": {"blob": blob},
            "pipeline_parameters": {"seed": 7},
        },
    )
    assert run["status"] == "SUCCESS", run
    assert f"script {len(blob)} 7" in await step_log(api, run, "Script")
    assert f"notebook {len(blob)} {len(blob)}" in await step_log(api, run, "Notebook")
