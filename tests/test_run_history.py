"""A run is a record: GET runs/{id} returns the pipeline the run ran, as stored when it started
(parameters after the run's overrides, environment variables by name only), whatever happens
to the pipeline file afterwards; the response is what the OpenAPI document describes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from orchest_ext.web.contract import spec

from .helpers import make_pipeline, wait_for_run

SECRET = "s3cr3t-value"


def run_schema_validator() -> Draft202012Validator:
    """A validator of the document's Run schema (its $refs resolved within the document)."""
    document = spec()
    return Draft202012Validator({**document, "$ref": "#/components/schemas/Run"})


def with_parameters_and_env(pipeline_file: Path, uuids: dict[str, str]) -> None:
    description = json.loads(pipeline_file.read_text())
    description["parameters"] = {"seed": 1, "size": "small"}
    description["env_variables"] = {"API_TOKEN": SECRET}
    train = description["steps"][uuids["Train"]]
    train["parameters"] = {"lr": 0.1, "epochs": 2}
    train["env_variables"] = {"DB_PASSWORD": SECRET}
    train["environment"] = "python-ds"
    pipeline_file.write_text(json.dumps(description))


async def test_a_run_keeps_the_pipeline_it_ran_after_the_file_changes(api, jp_root_dir):
    pipeline_file, uuids = make_pipeline(
        jp_root_dir / "p",
        {
            "Load": ("load.sh", "echo load\n", []),
            "Train": ("train.sh", "echo train\n", ["Load"]),
            "Report": ("report.sh", "echo report\n", ["Train"]),
        },
    )
    with_parameters_and_env(pipeline_file, uuids)
    overrides = {"Train": {"lr": 0.5}, "pipeline_parameters": {"seed": 2}}
    body = {"pipeline_path": "p/pipeline.orchest", "parameters": overrides}
    code, started = await api("POST", "runs", body=body)
    assert code == 202, started
    finished = await wait_for_run(api, started["id"])
    assert finished["status"] == "SUCCESS", finished

    description = json.loads(pipeline_file.read_text())
    del description["steps"][uuids["Report"]]
    description["steps"][uuids["Train"]]["title"] = "Train (renamed)"
    description["parameters"] = {"seed": 99}
    pipeline_file.write_text(json.dumps(description))

    code, again = await api("GET", "runs", started["id"])
    assert code == 200, again
    ran: dict[str, Any] = again["pipeline"]
    assert list(ran["steps"]) == [uuids["Load"], uuids["Train"], uuids["Report"]]
    train = ran["steps"][uuids["Train"]]
    assert train["title"] == "Train"
    assert train["file_path"] == "train.sh"
    assert train["incoming_connections"] == [uuids["Load"]]
    assert train["parameters"] == {"lr": 0.5, "epochs": 2}
    assert train["environment"] == "python-ds"
    assert train["env_variable_names"] == ["DB_PASSWORD"]
    assert ran["steps"][uuids["Report"]]["title"] == "Report"
    assert ran["parameters"] == {"seed": 2, "size": "small"}
    assert ran["env_variable_names"] == ["API_TOKEN"]
    assert SECRET not in json.dumps(again)
    errors = [error.message for error in run_schema_validator().iter_errors(again)]
    assert errors == []


async def test_a_running_run_shows_the_same_record(api, jp_root_dir):
    pipeline_file, uuids = make_pipeline(
        jp_root_dir / "p",
        {
            "Load": ("load.sh", "echo load\n", []),
            "Train": ("train.sh", "sleep 30\n", ["Load"]),
        },
    )
    with_parameters_and_env(pipeline_file, uuids)
    code, started = await api("POST", "runs", body={"pipeline_path": "p/pipeline.orchest"})
    assert code == 202, started
    code, live = await api("GET", "runs", started["id"])
    assert code == 200 and live["status"] in ("PENDING", "STARTED"), live
    assert live["pipeline"]["steps"][uuids["Train"]]["parameters"] == {"lr": 0.1, "epochs": 2}
    assert SECRET not in json.dumps(live)
    assert [error.message for error in run_schema_validator().iter_errors(live)] == []
    code, aborting = await api("DELETE", "runs", started["id"])
    assert code in (200, 202), aborting  # 202: its steps are being stopped in the background
    assert (await wait_for_run(api, started["id"]))["status"] == "ABORTED"
