"""GET jobs/{id}/matrix through a real Jupyter server: a grid job's runs as one table, a row
per combination in the grid's order, as JSON (what the OpenAPI document describes) and CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

from jsonschema import Draft202012Validator

from orchest_ext.web.contract import spec

from .helpers import make_pipeline, until

PARAMS_STEP = (
    "import orchest\n"
    "print('a=%s b=%s' % (orchest.get_pipeline_param('a'), orchest.get_step_param('b')))\n"
)


LOAD_STEP = (
    "import orchest, pandas as pd\n"
    "n = orchest.get_pipeline_param('n')\n"
    "orchest.output(pd.DataFrame({'x': range(n), 'y': [0.5] * n}), name='frame')\n"
    "orchest.log_metric('loss', n / 10)\n"
)
TRAIN_STEP = (
    "import orchest\n"
    "n = orchest.get_pipeline_param('n')\n"
    "orchest.log_metric('accuracy', 1 - 1 / n)\n"
    "orchest.log_metric('loss', 1 / n)\n"
    "orchest.output(n * 2, name='score')\n"
)


def matrix_validator() -> Draft202012Validator:
    return Draft202012Validator({**spec(), "$ref": "#/components/schemas/JobMatrix"})


async def finished_job(api, body: dict[str, Any]) -> dict[str, Any]:
    """Create a job and wait until it is DONE."""
    code, job = await api("POST", "jobs", body=body)
    assert code == 201, job

    async def done():
        code, current = await api("GET", "jobs", job["id"])
        assert code == 200, current
        return current if current["status"] == "DONE" else None

    return await until(done, "the job's runs")


async def test_a_grid_jobs_matrix_has_a_row_per_combination_as_json_and_csv(
    api, jp_fetch, jp_root_dir
):
    make_pipeline(jp_root_dir / "p", {"Echo": ("echo.py", PARAMS_STEP, [])})
    grid = {"pipeline_parameters": {"a": [1, 2]}, "Echo": {"b": ["x", "y", "z"]}}
    job = await finished_job(
        api,
        {
            "pipeline_path": "p/pipeline.orchest",
            "name": "sweep a/b",
            "parameter_grid": grid,
            "max_parallel": 3,
        },
    )
    code, matrix = await api("GET", "jobs", job["id"], "matrix")
    assert code == 200, matrix
    matrix_validator().validate(matrix)
    assert matrix["job_id"] == job["id"] and matrix["parameters"] == ["a", "Echo.b"]
    combos = [row["parameters"] for row in matrix["rows"]]
    assert combos == [{"a": a, "Echo.b": b} for a in (1, 2) for b in "xyz"]
    by_run = {run["id"]: run for run in job["runs"]}
    for row in matrix["rows"]:
        run = by_run[row["run_id"]]
        assert run["job_parameters"]["pipeline_parameters"]["a"] == row["parameters"]["a"]
        assert run["job_parameters"]["Echo"]["b"] == row["parameters"]["Echo.b"]
        assert row["status"] == "SUCCESS" and row["runs"] == 1
        assert isinstance(row["duration"], float) and row["duration"] >= 0

    response = await jp_fetch(
        "orchest", "api", "jobs", job["id"], "matrix", params={"format": "csv"}
    )
    assert response.headers["Content-Type"].startswith("text/csv")
    assert 'filename="sweep-a-b-matrix.csv"' in response.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(response.body.decode())))
    assert table[0] == ["run_id", "a", "Echo.b", "status", "duration_s"]
    assert [row[:4] for row in table[1:]] == [
        [row["run_id"], str(row["parameters"]["a"]), row["parameters"]["Echo.b"], "SUCCESS"]
        for row in matrix["rows"]
    ]
    assert [float(row[4]) for row in table[1:]] == [row["duration"] for row in matrix["rows"]]


async def test_the_matrix_shows_each_runs_metrics_and_output_previews(api, jp_fetch, jp_root_dir):
    make_pipeline(
        jp_root_dir / "p",
        {"Load": ("load.py", LOAD_STEP, []), "Train": ("train.py", TRAIN_STEP, ["Load"])},
    )
    grid = {"pipeline_parameters": {"n": [2, 4]}}
    job = await finished_job(
        api, {"pipeline_path": "p/pipeline.orchest", "parameter_grid": grid, "max_parallel": 2}
    )
    assert {run["status"] for run in job["runs"]} == {"SUCCESS"}, job["runs"]
    code, matrix = await api("GET", "jobs", job["id"], "matrix")
    assert code == 200, matrix
    matrix_validator().validate(matrix)
    # "loss" is logged by two steps: its columns name the step
    assert matrix["metrics"] == ["Load.loss", "Train.loss", "accuracy"]
    assert matrix["outputs"] == ["Load.frame", "Train.score"]
    first, second = matrix["rows"]
    assert first["metrics"] == {"Load.loss": 0.2, "accuracy": 0.5, "Train.loss": 0.5}
    assert first["outputs"] == {"Load.frame": "2\u00d72 table", "Train.score": "4"}
    assert second["outputs"] == {"Load.frame": "4\u00d72 table", "Train.score": "8"}

    response = await jp_fetch(
        "orchest", "api", "jobs", job["id"], "matrix", params={"format": "csv"}
    )
    table = list(csv.reader(io.StringIO(response.body.decode())))
    assert table[0][4:] == ["Load.loss", "Train.loss", "accuracy", "Load.frame", "Train.score"]
    assert table[2][4:] == ["0.4", "0.25", "0.75", "4\u00d72 table", "8"]


async def test_a_job_without_a_grid_has_one_row(api, jp_root_dir):
    make_pipeline(jp_root_dir / "p", {"Echo": ("echo.sh", "echo hi\n", [])})
    job = await finished_job(api, {"pipeline_path": "p/pipeline.orchest"})
    code, matrix = await api("GET", "jobs", job["id"], "matrix")
    assert code == 200, matrix
    matrix_validator().validate(matrix)
    assert matrix["parameters"] == [] and len(matrix["rows"]) == 1
    row = matrix["rows"][0]
    assert row["run_id"] == job["runs"][0]["id"] and row["status"] == "SUCCESS"


async def test_the_matrix_of_an_unknown_job_is_404_and_a_bad_format_400(api, jp_root_dir):
    code, reply = await api("GET", "jobs", "no-such-job", "matrix")
    assert code == 404 and "no-such-job" in reply["message"]
    make_pipeline(jp_root_dir / "p", {"Echo": ("echo.sh", "echo hi\n", [])})
    code, job = await api("POST", "jobs", body={"pipeline_path": "p/pipeline.orchest"})
    assert code == 201, job
    code, reply = await api("GET", "jobs", job["id"], "matrix", format="xlsx")
    assert code == 400 and "format" in reply["message"]
