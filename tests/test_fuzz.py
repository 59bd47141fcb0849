"""Schemathesis against a live server and the OpenAPI document it serves: schema-valid and
invalid data for every operation, launches included (with Docker up), must give no server
error and no response that the document does not describe."""

from __future__ import annotations

import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from orchest_ext.sessions import default_scope
from orchest_ext.web.contract import spec_text

from .docker_support import project_containers, require_image
from .helpers import make_pipeline
from .launch_support import SESSION_IMAGES, remove_scope
from .server import ServerProcess

EXAMPLES_PER_OPERATION = 15
SKIPPED_CHECKS = [
    # Jupyter Server answers 403, not 401, to a request without a token (documented).
    "missing_required_header",
    # Schema-valid paths of files that do not exist are rightly refused with a 400.
    "positive_data_acceptance",
    # DELETE runs/{id} aborts a run: the run, its steps and logs stay readable.
    "use_after_free",
]


def _operations(document: dict) -> set[str]:
    return {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }


@pytest.mark.docker
@pytest.mark.timeout(900)
def test_schemathesis_finds_no_server_error_or_nonconformance(tmp_path: Path) -> None:
    for image in SESSION_IMAGES:
        require_image(image)
    root = tmp_path / "root"
    # The document's examples name this pipeline (and launch its directory).
    make_pipeline(
        root / "examples" / "quickstart",
        {"A": ("a.sh", "echo a\n", []), "B": ("b.sh", "echo b\n", ["A"])},
        file_name="quickstart.orchest",
    )
    server = ServerProcess(root, tmp_path / "state").start()
    scope = default_scope(root)
    report = tmp_path / "junit.xml"
    try:
        command = [
            sys.executable,
            "-c",
            "from schemathesis.cli import schemathesis; schemathesis()",
            "run",
            f"{server.url}/orchest/api/openapi.yaml",
            "--header",
            f"Authorization: token {server.token}",
            # Without a filter schemathesis leaves out the operation serving the document.
            "--include-path-regex",
            "^/",
            "--checks",
            "all",
            "--exclude-checks",
            ",".join(SKIPPED_CHECKS),
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--seed",
            "12",
            "--generation-database",
            "none",
            "--request-timeout",
            "60",
            "--report",
            "junit",
            "--report-junit-path",
            str(report),
            "--no-color",
        ]
        proc = subprocess.run(
            command, cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False
        )
        assert proc.returncode == 0, proc.stdout[-20000:] + proc.stderr[-3000:]
        tested = {case.get("name") for case in ET.parse(report).iter("testcase")}
        _, listing = server.request("GET", "/orchest/api/launches")
        for launch in listing["launches"]:
            code, _ = server.request("DELETE", f"/orchest/api/launches/{launch['pipeline_uuid']}")
            assert code in (202, 404)
        deadline = time.monotonic() + 120
        while server.request("GET", "/orchest/api/launches")[1]["launches"]:
            assert time.monotonic() < deadline, "sessions still stopping after 120 s"
            time.sleep(0.2)
        assert project_containers(f"orchest_ext.scope={scope}") == []
        log = server.log_path.read_text()
    finally:
        server.stop()
        remove_scope(scope)
    assert _operations(yaml.safe_load(spec_text())) <= tested, tested
    assert "Traceback" not in log and "] 500 " not in log
