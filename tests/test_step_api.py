"""The `orchest` step module on its own: output files, inputs in connection order, errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from orchest_ext.executors.base import STEP_SDK_PATH

sys.path.insert(0, str(STEP_SDK_PATH))
import orchest


def as_step(monkeypatch, run_dir: Path, uuid: str, parents=()) -> None:
    monkeypatch.setenv("ORCHEST_RUN_DIR", str(run_dir))
    monkeypatch.setenv("ORCHEST_STEP_DIR", str(run_dir / "steps" / uuid))
    monkeypatch.setenv("ORCHEST_STEP_UUID", uuid)
    monkeypatch.setenv(
        "ORCHEST_STEP_PARENTS", json.dumps([{"uuid": p, "in_run": True} for p in parents])
    )


def test_large_arrays_round_trip_out_of_band(monkeypatch, tmp_path):
    array = np.arange(4_000_000, dtype=np.float64).reshape(2000, 2000)
    frame = {"array": array, "blob": b"x" * 5_000_000, "small": [1, "two"]}
    as_step(monkeypatch, tmp_path, "parent")
    orchest.output(frame, name="frame")
    as_step(monkeypatch, tmp_path, "child", ["parent"])
    received = orchest.get_inputs()["frame"]
    np.testing.assert_array_equal(received["array"], array)
    assert received["array"].flags.writeable
    assert received["blob"] == frame["blob"] and received["small"] == [1, "two"]


def test_second_output_replaces_the_first(monkeypatch, tmp_path):
    as_step(monkeypatch, tmp_path, "parent")
    orchest.output("first", name="a")
    orchest.output("second")
    as_step(monkeypatch, tmp_path, "child", ["parent"])
    assert orchest.get_inputs() == {"unnamed": ["second"]}


def test_reserved_name_and_unserializable_objects(monkeypatch, tmp_path):
    as_step(monkeypatch, tmp_path, "parent")
    with pytest.raises(orchest.OutputError, match="reserved"):
        orchest.output(1, name="unnamed")
    with pytest.raises(orchest.OutputError, match="Cannot serialize output 'gen'"):
        orchest.output((x for x in range(3)), name="gen")


def test_outside_a_step_and_a_notebook_the_error_says_so_and_how_to_choose(monkeypatch):
    for name in ("ORCHEST_STEP_DIR", "ORCHEST_STEP_UUID", "JPY_SESSION_NAME"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(orchest.OrchestError, match="Not inside a step run by orchest_ext") as err:
        orchest.output(1)
    assert "orchest.use_pipeline(" in str(err.value)


def test_inside_a_run_use_pipeline_changes_nothing(monkeypatch, tmp_path):
    as_step(monkeypatch, tmp_path, "parent")
    orchest.output("from the run")
    as_step(monkeypatch, tmp_path, "child", ["parent"])
    orchest.use_pipeline(tmp_path / "no-such.orchest", "Nobody")
    assert orchest.get_inputs() == {"unnamed": ["from the run"]}
