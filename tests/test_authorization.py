"""Authorization: reading needs ``read`` on ``orchest``; starting or aborting runs, launching
or stopping sessions and seeing a session's tokens need ``execute``; registering, changing,
deleting or testing webhooks need ``write`` (pytest-jupyter's authorizer, with the
identity's permissions set per test)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .helpers import make_pipeline, wait_for_run
from .launch_support import SESSION_IMAGES, remove_scope, wait_for_status, wait_until_gone

READ_ONLY = {"actions": ["read"], "resources": ["orchest"]}
EVERYTHING = {"actions": ["read", "write", "execute"], "resources": ["orchest"]}


@pytest.fixture
def jp_server_auth_resources(jp_server_auth_core_resources):
    return {**jp_server_auth_core_resources, r"/orchest/api/.*": "orchest"}


@pytest.fixture
def authorizer(jp_server_authorizer):
    """pytest-jupyter's authorizer, recording each (method, path, action) it is asked about
    instead of asserting tornado's method-to-action default."""

    class Recording(jp_server_authorizer):
        asked: list[tuple[str, str, str]] = []
        permissions = READ_ONLY

        def is_authorized(self, handler, user, action, resource):
            url = self.normalize_url(handler.request.path)
            assert resource == self.match_url_to_resource(url)
            self.asked.append((handler.request.method, url, action))
            return (
                action in self.permissions["actions"] and resource in self.permissions["resources"]
            )

    return Recording


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], authorizer) -> dict[str, Any]:
    return {
        **jp_server_config,
        "ServerApp": {**jp_server_config["ServerApp"], "authorizer_class": authorizer},
    }


READS = [
    ("GET", ("runs",)),
    ("GET", ("runs", "compare")),
    ("GET", ("runs", "compare", "notebook")),
    ("GET", ("runs", "RUN")),
    ("GET", ("runs", "RUN", "steps", "STEP", "log")),
    ("GET", ("runs", "RUN", "steps", "STEP", "notebook")),
    ("GET", ("runs", "RUN", "steps", "STEP", "outputs")),
    ("GET", ("pipelines",)),
    ("POST", ("pipelines", "validate")),
    ("GET", ("backends",)),
    ("GET", ("openapi.yaml",)),
    ("GET", ("launches",)),
    ("GET", ("launches", "PIPELINE")),
    ("GET", ("jobs",)),
    ("GET", ("jobs", "JOB")),
    ("GET", ("jobs", "JOB", "matrix")),
    ("GET", ("webhooks",)),
    ("GET", ("webhooks", "HOOK")),
    ("GET", ("webhooks", "HOOK", "deliveries")),
]
EXECUTES = [
    ("POST", ("runs",)),
    ("DELETE", ("runs", "RUN")),
    ("POST", ("launches",)),
    ("DELETE", ("launches", "PIPELINE")),
    ("POST", ("jobs",)),
    ("PATCH", ("jobs", "JOB")),
    ("DELETE", ("jobs", "JOB")),
]
WRITES = [
    ("POST", ("webhooks",)),
    ("PATCH", ("webhooks", "HOOK")),
    ("POST", ("webhooks", "HOOK", "test")),
    ("DELETE", ("webhooks", "HOOK")),
]


async def test_a_read_only_identity_reads_but_cannot_run_abort_or_launch(
    api, jp_fetch, jp_root_dir, authorizer
):
    make_pipeline(jp_root_dir / "p", {"A": ("a.sh", "sleep 30\n", [])})
    authorizer.permissions = EVERYTHING
    code, run = await api("POST", "runs", body={"pipeline_path": "p/pipeline.orchest"})
    assert code == 202, run
    code, job = await api(
        "POST",
        "jobs",
        body={"pipeline_path": "p/pipeline.orchest", "schedule": {"cron": "0 3 * * *"}},
    )
    assert code == 201, job
    hook = {"url": "http://127.0.0.1:9/hook", "events": ["run.failed"]}
    code, webhook = await api("POST", "webhooks", body=hook)
    assert code == 201, webhook
    ids = {
        "RUN": run["id"],
        "STEP": run["steps"][0]["uuid"],
        "PIPELINE": "nothing-launched",
        "JOB": job["id"],
        "HOOK": webhook["id"],
    }
    bodies = {
        ("runs",): {"pipeline_path": "p/pipeline.orchest"},
        ("jobs",): {"pipeline_path": "p/pipeline.orchest"},
        ("jobs", "JOB"): {"paused": True},
        ("pipelines", "validate"): {"pipeline_path": "p/pipeline.orchest"},
        ("launches",): {"pipeline_uuid": "demo", "pipeline_dir": "p"},
        ("webhooks",): hook,
        ("webhooks", "HOOK"): {"events": ["run.aborted"]},
        ("webhooks", "HOOK", "test"): {},
    }
    authorizer.permissions = READ_ONLY
    authorizer.asked.clear()
    for method, path in READS + EXECUTES + WRITES:
        concrete = tuple(ids.get(part, part) for part in path)
        response = await jp_fetch(
            "orchest",
            "api",
            *concrete,
            method=method,
            body=json.dumps(bodies[path]) if method in ("POST", "PATCH") else None,
            raise_error=False,
        )
        if (method, path) in EXECUTES + WRITES:
            assert response.code == 403, (method, path, response.body)
        else:
            assert response.code != 403, (method, path, response.body)
    assert {(method, action) for method, _, action in authorizer.asked} == {
        ("GET", "read"),
        ("POST", "read"),
        ("POST", "execute"),
        ("PATCH", "execute"),
        ("DELETE", "execute"),
        ("POST", "write"),
        ("PATCH", "write"),
        ("DELETE", "write"),
    }
    assert sorted(path for method, path, action in authorizer.asked if action == "execute") == [
        "/orchest/api/jobs",
        f"/orchest/api/jobs/{job['id']}",
        f"/orchest/api/jobs/{job['id']}",
        "/orchest/api/launches",
        "/orchest/api/launches/nothing-launched",
        "/orchest/api/runs",
        f"/orchest/api/runs/{run['id']}",
    ]
    assert sorted(path for method, path, action in authorizer.asked if action == "write") == [
        "/orchest/api/webhooks",
        f"/orchest/api/webhooks/{webhook['id']}",
        f"/orchest/api/webhooks/{webhook['id']}",
        f"/orchest/api/webhooks/{webhook['id']}/test",
    ]
    code, webhooks = await api("GET", "webhooks")
    assert [w["events"] for w in webhooks["webhooks"]] == [["run.failed"]]
    code, jobs = await api("GET", "jobs")
    assert [j["status"] for j in jobs["jobs"]] == ["ACTIVE"]
    code, listing = await api("GET", "runs")
    assert listing["total"] == 1
    code, still = await api("GET", "runs", run["id"])
    assert still["status"] in ("PENDING", "STARTED")

    authorizer.permissions = EVERYTHING
    code, _ = await api("DELETE", "runs", run["id"])
    assert code in (200, 202)  # 200 if the run had no step started yet
    assert (await wait_for_run(api, run["id"]))["status"] == "ABORTED"


@pytest.mark.docker
async def test_session_tokens_reach_only_identities_that_may_execute(
    api, jp_serverapp, jp_root_dir: Path, authorizer
):
    from .docker_support import require_image

    for image in SESSION_IMAGES:
        require_image(image)
    (app,) = jp_serverapp.extension_manager.extension_apps["orchest_ext"]
    (jp_root_dir / "p").mkdir()
    authorizer.permissions = EVERYTHING
    try:
        code, launch = await api(
            "POST", "launches", body={"pipeline_uuid": "auth-demo", "pipeline_dir": "p"}
        )
        assert code == 202, launch
        running = await wait_for_status(api, "auth-demo", {"RUNNING", "FAILED"})
        assert running["status"] == "RUNNING", running
        assert running["server_info"]["token"] and running["gateway_info"]["token"]

        authorizer.permissions = READ_ONLY
        code, one = await api("GET", "launches", "auth-demo")
        code, listing = await api("GET", "launches")
        for seen in (one, *listing["launches"]):
            assert seen["status"] == "RUNNING"
            assert seen["server_info"]["url"] == running["server_info"]["url"]
            assert "token" not in seen["server_info"] and "token" not in seen["gateway_info"]
            text = json.dumps(seen)
            assert running["server_info"]["token"] not in text
            assert running["gateway_info"]["token"] not in text
        code, _ = await api("DELETE", "launches", "auth-demo")
        assert code == 403

        authorizer.permissions = EVERYTHING
        code, stopping = await api("DELETE", "launches", "auth-demo")
        assert code == 202, stopping
        await wait_until_gone(api, "auth-demo")
    finally:
        remove_scope(app.sessions.scope)
