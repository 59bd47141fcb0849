"""The pure run state: transitions and the events they cause, without executors or a server."""

from __future__ import annotations

from pathlib import Path

from orchest_ext.pipeline import parse_pipeline
from orchest_ext.runs.state import (
    ABORTED,
    FAILURE,
    PENDING,
    STARTED,
    SUCCESS,
    RunState,
    StepState,
)


def make_run(tmp_path: Path, parents: dict[str, list[str]], policy: str = "continue") -> RunState:
    description = {
        "name": "p",
        "uuid": "pipeline-1",
        "steps": {
            uuid: {
                "uuid": uuid,
                "title": uuid,
                "file_path": f"{uuid}.sh",
                "incoming_connections": p,
            }
            for uuid, p in parents.items()
        },
    }
    pipeline = parse_pipeline(description, tmp_path, check_files=False)
    steps = {
        uuid: StepState(uuid, uuid, f"{uuid}.sh", position, list(p))
        for position, (uuid, p) in enumerate(parents.items())
    }
    return RunState(
        id="run-1",
        pipeline=pipeline,
        run_type="full",
        uuids=[],
        inclusive=False,
        backend="local",
        failure_policy=policy,
        parameters={},
        env={},
        write_back=False,
        run_dir=tmp_path / "run",
        steps=steps,
    )


def statuses(transition) -> list[tuple[str | None, str]]:
    return [(change.step, change.fields["status"]) for change in transition.changes]


def test_begin_announces_the_run_and_finds_the_roots(tmp_path):
    run = make_run(tmp_path, {"a": [], "b": ["a"], "c": []})
    transition = run.begin()
    assert statuses(transition) == [(None, PENDING)]
    assert transition.ready == ["a", "c"]


def test_a_success_readies_children_whose_parents_all_succeeded(tmp_path):
    run = make_run(tmp_path, {"a": [], "b": [], "c": ["a", "b"]})
    run.begin()
    assert statuses(run.start_step("a")) == [(None, STARTED), ("a", STARTED)]
    assert statuses(run.start_step("b")) == [("b", STARTED)]
    assert run.finish_step("a", SUCCESS, None).ready == []
    assert run.finish_step("b", SUCCESS, None).ready == ["c"]
    run.start_step("c")
    transition = run.finish_step("c", SUCCESS, None)
    assert transition.finished and statuses(transition) == [("c", SUCCESS), (None, SUCCESS)]
    assert run.status == SUCCESS and run.message is None


def test_a_step_becomes_terminal_once(tmp_path):
    run = make_run(tmp_path, {"a": []})
    run.begin()
    run.start_step("a")
    assert run.finish_step("a", FAILURE, "boom").changes
    assert run.finish_step("a", SUCCESS, None).changes == []
    assert run.steps["a"].status == FAILURE
    assert run.start_step("a").changes == []


def test_a_failure_aborts_descendants_only_under_continue(tmp_path):
    run = make_run(tmp_path, {"a": [], "b": ["a"], "c": ["b"], "d": []})
    run.begin()
    run.start_step("a")
    run.start_step("d")
    transition = run.finish_step("a", FAILURE, "boom")
    assert statuses(transition) == [("a", FAILURE), ("b", ABORTED), ("c", ABORTED)]
    assert not transition.finished and transition.cancel == []
    transition = run.finish_step("d", SUCCESS, None)
    assert transition.finished and run.status == FAILURE
    assert run.message == "failed step(s): a"


def test_fail_fast_aborts_pending_and_cancels_running_steps(tmp_path):
    run = make_run(tmp_path, {"a": [], "b": [], "c": ["a"]}, policy="fail_fast")
    run.begin()
    run.start_step("a")
    run.start_step("b")
    transition = run.finish_step("a", FAILURE, "boom")
    assert statuses(transition) == [("a", FAILURE), ("c", ABORTED)]
    assert transition.cancel == ["b"] and not transition.finished
    transition = run.finish_step("b", ABORTED, run.message)
    assert transition.finished and run.status == FAILURE
    assert run.message == "stopped because step 'a' failed"


def test_a_users_abort_ends_the_run_aborted_once_running_steps_ended(tmp_path):
    run = make_run(tmp_path, {"a": [], "b": ["a"]})
    run.begin()
    run.start_step("a")
    transition = run.stop("aborted by user", abort=True)
    assert statuses(transition) == [("b", ABORTED)] and transition.cancel == ["a"]
    assert run.finish_step("a", ABORTED, "aborted by user").finished
    assert run.status == ABORTED
    assert run.stop("again", abort=True).changes == []


def test_a_restored_run_resumes_after_its_succeeded_steps(tmp_path):
    run = make_run(tmp_path, {"a": [], "b": ["a"], "c": ["b"], "d": []})
    run.steps["a"].status = SUCCESS
    run.steps["d"].status = STARTED
    run.seq, run.status = 4, STARTED
    run = RunState(**{k: getattr(run, k) for k in RunState.__dataclass_fields__ if k[0] != "_"})
    transition = run.begin()
    assert transition.changes == [] and transition.ready == ["b"]


def test_an_orphaned_run_fails_what_ran_and_aborts_what_waited(tmp_path):
    run = make_run(tmp_path, {"a": [], "b": ["a"]})
    run.begin()
    run.start_step("a")
    transition = run.settle_orphaned()
    assert statuses(transition) == [("a", FAILURE), ("b", ABORTED), (None, FAILURE)]
    assert "server" in run.message


def test_handles_are_persisted_but_not_events(tmp_path):
    run = make_run(tmp_path, {"a": []})
    run.begin()
    run.start_step("a")
    [change] = run.record_handle("a", {"pid": 1}).changes
    assert change.fields == {"handle": {"pid": 1}} and not change.emit
