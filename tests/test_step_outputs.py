"""What a step passed on: each ``orchest.output`` is summarized in the step's process (type,
size, a preview), ``orchest.log_metric`` records numbers, and both are stored with the run when
the step ends, served by GET runs/{id} (metrics) and GET runs/{id}/steps/{uuid}/outputs."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

from orchest_ext.events import STEP_STATUS

from .helpers import make_pipeline, notebook, steps_by_title, wait_for_run
from .test_events import collect_run_events
from .test_r_steps import R_ENVIRONMENT, add_r_environment, r_backend  # noqa: F401

FRAME = (
    "import orchest, pandas as pd\n"
    "frame = pd.DataFrame({'x': range(1, 11), 'label': ['a', 'b', None] + ['c'] * 7})\n"
    "orchest.output(frame, name='frame')\n"
    "orchest.log_metric('rows', len(frame))\n"
    "orchest.log_metric('loss', 0.5)\n"
    "orchest.log_metric('loss', 0.25)\n"
)
ARRAY = (
    "import orchest, numpy as np\n"
    "orchest.output(np.arange(12, dtype='float32').reshape(3, 4) - 2)\n"
)
FIGURE = notebook(
    "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
    "fig, ax = plt.subplots(figsize=(4, 2), dpi=100)\nax.plot([1, 3, 2])",
    "import orchest\norchest.output(fig, name='plot')\norchest.log_metric('auc', 0.91)",
)
CONFIG = "import orchest\norchest.output({'lr': 0.1, 'layers': [64, 32]}, name='config')\n"
SCALAR = "import orchest\norchest.output(42, name='answer')\n"
ODD = (
    "import orchest\n"
    "class Odd:\n"
    "    def __repr__(self):\n"
    "        raise RuntimeError('this object cannot be shown')\n"
    "orchest.output(Odd(), name='odd')\n"
)
BAD_METRICS = (
    "import math, orchest\n"
    "for name, value in [('acc', 'high'), ('acc', math.nan), ('acc', math.inf), ('acc', True),\n"
    "                    ('', 1), (7, 1), ('acc', [1])]:\n"
    "    try:\n"
    "        orchest.log_metric(name, value)\n"
    "    except orchest.OrchestError as err:\n"
    "        print('refused:', err)\n"
    "orchest.log_metric('acc', 0.5)\n"
)


async def outputs_of(api, run: dict, title: str) -> list[dict]:
    uuid = steps_by_title(run)[title]["uuid"]
    code, reply = await api("GET", "runs", run["id"], "steps", uuid, "outputs")
    assert code == 200, reply
    return reply["outputs"]


async def test_outputs_and_metrics_are_summarized_stored_and_outlive_the_run_dir(api, jp_root_dir):
    make_pipeline(
        jp_root_dir / "p",
        {
            "Frame": ("frame.py", FRAME, []),
            "Array": ("array.py", ARRAY, []),
            "Figure": ("figure.ipynb", FIGURE, []),
            "Config": ("config.py", CONFIG, []),
            "Scalar": ("scalar.py", SCALAR, []),
            "Odd": ("odd.py", ODD, []),
            "Silent": ("silent.sh", "echo nothing to pass on\n", []),
        },
    )
    code, run = await api("POST", "runs", body={"pipeline_path": "p/pipeline.orchest"})
    assert code == 202, run
    run = await wait_for_run(api, run["id"], timeout=300)
    assert run["status"] == "SUCCESS", run

    steps = steps_by_title(run)
    assert steps["Frame"]["metrics"] == {"rows": 10, "loss": 0.25}
    assert steps["Figure"]["metrics"] == {"auc": 0.91}
    assert steps["Silent"]["metrics"] == {}
    await check_summaries(api, run)
    frame_output = Path(run["run_dir"]) / "steps" / steps["Frame"]["uuid"] / "output"
    assert (frame_output / "data.csv").is_file()  # for R steps, whatever pandas' version

    shutil.rmtree(run["run_dir"])
    code, again = await api("GET", "runs", run["id"])
    assert code == 200 and steps_by_title(again)["Frame"]["metrics"] == {"rows": 10, "loss": 0.25}
    await check_summaries(api, run)


async def check_summaries(api, run: dict) -> None:
    [frame] = await outputs_of(api, run, "Frame")
    assert frame["name"] == "frame" and frame["type"] == "pandas.DataFrame"
    assert frame["bytes"] > 0
    table = frame["preview"]
    assert table["kind"] == "table" and table["shape"] == [10, 2]
    assert [column["name"] for column in table["columns"]] == ["x", "label"]
    assert table["columns"][0]["dtype"] == "int64"
    assert table["rows"] == [[1, "a"], [2, "b"], [3, None], [4, "c"], [5, "c"]]

    [array] = await outputs_of(api, run, "Array")
    assert array["name"] is None and array["type"] == "numpy.ndarray"
    assert array["preview"] == {
        "kind": "array",
        "dtype": "float32",
        "shape": [3, 4],
        "min": -2.0,
        "max": 9.0,
        "sampled": False,
    }

    [plot] = await outputs_of(api, run, "Figure")
    assert plot["type"] == "matplotlib.figure.Figure" and plot["preview"]["size"] == [400, 200]
    prefix = "data:image/png;base64,"
    assert plot["preview"]["thumbnail"].startswith(prefix)
    png = base64.b64decode(plot["preview"]["thumbnail"][len(prefix) :])
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert png.startswith(b"\x89PNG") and (width, height) == (128, 64)

    [config] = await outputs_of(api, run, "Config")
    assert config["type"] == "builtins.dict"
    assert config["preview"] == {"kind": "value", "value": {"lr": 0.1, "layers": [64, 32]}}
    [scalar] = await outputs_of(api, run, "Scalar")
    assert scalar["preview"] == {"kind": "value", "value": 42} and scalar["bytes"] == 2

    [odd] = await outputs_of(api, run, "Odd")
    assert odd["type"] == "__main__.Odd" and odd["preview"] is None
    assert odd["preview_error"] == "RuntimeError: this object cannot be shown"
    assert await outputs_of(api, run, "Silent") == []


async def test_bad_metric_values_are_refused_naming_the_metric(api, jp_root_dir):
    make_pipeline(jp_root_dir / "p", {"Metrics": ("metrics.py", BAD_METRICS, [])})
    _, run = await api("POST", "runs", body={"pipeline_path": "p/pipeline.orchest"})
    run = await wait_for_run(api, run["id"])
    assert run["status"] == "SUCCESS", run
    step = run["steps"][0]
    assert step["metrics"] == {"acc": 0.5}
    _, log = await api("GET", "runs", run["id"], "steps", step["uuid"], "log")
    refusals = [line for line in log["text"].splitlines() if line.startswith("refused:")]
    assert refusals == [
        "refused: Metric 'acc' must be a number (int or float), got str 'high'.",
        "refused: Metric 'acc' must be a finite number, got nan.",
        "refused: Metric 'acc' must be a finite number, got inf.",
        "refused: Metric 'acc' must be a number (int or float), got bool True.",
        "refused: A metric's name must be a text of 1 to 200 characters, got ''.",
        "refused: A metric's name must be a text of 1 to 200 characters, got 7.",
        "refused: Metric 'acc' must be a number (int or float), got list [1].",
    ]


async def test_outputs_and_metrics_on_every_backend(api, jp_root_dir, backend):
    make_pipeline(
        jp_root_dir / "p",
        {
            "Array": ("array.py", ARRAY + "orchest.log_metric('cells', 12)\n", []),
            "Failing": ("failing.py", "import orchest\norchest.log_metric('x', 1)\n1 / 0\n", []),
        },
    )
    body = {"pipeline_path": "p/pipeline.orchest", "backend": backend}
    code, run = await api("POST", "runs", body=body)
    assert code == 202, run
    run = await wait_for_run(api, run["id"], timeout=300)
    steps = steps_by_title(run)
    assert steps["Array"]["status"] == "SUCCESS" and steps["Failing"]["status"] == "FAILURE", run
    assert steps["Array"]["metrics"] == {"cells": 12}
    assert steps["Failing"]["metrics"] == {"x": 1}  # whatever the step's end
    [array] = await outputs_of(api, run, "Array")
    assert array["preview"]["kind"] == "array" and array["preview"]["max"] == 9.0


async def test_a_steps_last_event_carries_its_metrics(api, jp_root_dir, jp_ws_fetch):
    make_pipeline(
        jp_root_dir / "p", {"A": ("a.py", "import orchest\norchest.log_metric('f1', 0.8)\n", [])}
    )
    ws = await jp_ws_fetch("api", "events", "subscribe")
    code, run = await api("POST", "runs", body={"pipeline_path": "p/pipeline.orchest"})
    assert code == 202, run
    events = await collect_run_events(ws, run["id"])
    ws.close()
    step_events = [event for event in events if event["schema_id"] == STEP_STATUS]
    assert [(e["status"], e["metrics"]) for e in step_events] == [
        ("STARTED", {}),
        ("SUCCESS", {"f1": 0.8}),
    ]


async def test_outputs_of_unknown_runs_and_steps_are_404_naming_them(api, jp_root_dir):
    make_pipeline(jp_root_dir / "p", {"A": ("a.sh", "echo a\n", [])})
    code, run = await api("POST", "runs", body={"pipeline_path": "p/pipeline.orchest"})
    code, reply = await api("GET", "runs", "no-such-run", "steps", "x", "outputs")
    assert code == 404 and "No run with id" in reply["message"]
    assert "no-such-run" in reply["message"]
    code, reply = await api("GET", "runs", run["id"], "steps", "no-such-step", "outputs")
    assert code == 404 and "has no step" in reply["message"]
    assert "no-such-step" in reply["message"]
    await wait_for_run(api, run["id"])


R_STEP = (
    "orchest::output(data.frame(x = c(1.5, NA), who = c('a', 'b')), name = 'frame')\n"
    "orchest::log_metric('rmse', 0.31)\n"
    "orchest::log_metric('rmse', 0.25)\n"
    "refused <- tryCatch(orchest::log_metric('rmse', NaN), error = conditionMessage)\n"
    "cat('refused:', refused, '\\n')\n"
)


async def test_r_steps_summarize_their_outputs_and_log_metrics(
    api,
    jp_root_dir,
    r_backend,  # noqa: F811
):
    pipeline_file, uuids = make_pipeline(jp_root_dir / "p", {"R": ("r_step.R", R_STEP, [])})
    add_r_environment(jp_root_dir / "p")
    description = json.loads(pipeline_file.read_text())
    description["steps"][uuids["R"]]["environment"] = R_ENVIRONMENT
    pipeline_file.write_text(json.dumps(description))
    body = {"pipeline_path": "p/pipeline.orchest", "backend": r_backend}
    code, run = await api("POST", "runs", body=body)
    assert code == 202, run
    run = await wait_for_run(api, run["id"], timeout=600)
    assert run["status"] == "SUCCESS", run
    assert run["steps"][0]["metrics"] == {"rmse": 0.25}
    _, log = await api("GET", "runs", run["id"], "steps", uuids["R"], "log")
    assert "refused: Metric 'rmse' must be a finite number, got NaN" in log["text"]
    [frame] = await outputs_of(api, run, "R")
    assert frame["name"] == "frame" and frame["type"] == "R.data.frame" and frame["bytes"] > 0
    assert frame["preview"] == {
        "kind": "table",
        "columns": [{"name": "x", "dtype": "numeric"}, {"name": "who", "dtype": "character"}],
        "shape": [2, 2],
        "rows": [[1.5, "a"], [None, "b"]],
    }


async def test_a_cached_step_shows_the_outputs_and_metrics_it_reused(api, jp_root_dir):
    make_pipeline(jp_root_dir / "p", {"Frame": ("frame.py", FRAME, [])})
    runs = []
    for _ in range(2):
        body = {"pipeline_path": "p/pipeline.orchest", "cache": "use"}
        code, run = await api("POST", "runs", body=body)
        assert code == 202, run
        runs.append(await wait_for_run(api, run["id"]))
    first, second = runs
    assert second["steps"][0]["cached_from"] == first["id"]
    metrics = {"rows": 10, "loss": 0.25}
    assert second["steps"][0]["metrics"] == first["steps"][0]["metrics"] == metrics
    assert await outputs_of(api, second, "Frame") == await outputs_of(api, first, "Frame")
