"""`jupyter orchest jobs ...` against a real server process, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from .helpers import make_pipeline
from .server import ServerProcess


def test_jobs_create_list_show_pause_resume_delete(tmp_path):
    root = tmp_path / "root"
    make_pipeline(root / "p", {"Echo": ("echo.py", "import orchest\nprint('ok')\n", [])})
    server = ServerProcess(root, tmp_path / "state").start()
    try:
        connection = ["--url", server.url, "--token", server.token]

        def jobs(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "orchest_ext.cli", "jobs", *connection, *args],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )

        created = jobs(
            "create",
            "p/pipeline.orchest",
            "--name",
            "nightly",
            "--cron",
            "0 3 * * *",
            "--timezone",
            "Europe/Amsterdam",
            "--grid",
            "Echo.n=[1,2]",
            "--max-parallel",
            "2",
        )
        assert created.returncode == 0, created.stderr
        job_id = created.stdout.split()[0]
        assert "ACTIVE" in created.stdout and "0 3 * * * (Europe/Amsterdam)" in created.stdout

        listed = jobs("list")
        assert listed.returncode == 0 and job_id in listed.stdout and "'nightly'" in listed.stdout
        shown = json.loads(jobs("show", job_id).stdout)
        assert shown["parameter_grid"] == {"Echo": {"n": [1, 2]}} and shown["runs"] == []
        assert "PAUSED" in jobs("pause", job_id).stdout
        assert "ACTIVE" in jobs("resume", job_id).stdout

        bad = jobs("create", "p/pipeline.orchest", "--cron", "not a cron")
        assert bad.returncode == 1 and "schedule.cron" in bad.stderr

        deleted = jobs("delete", job_id, "--remove-runs")
        assert deleted.returncode == 0 and f"{job_id}  deleted" in deleted.stdout
        missing = jobs("show", job_id)
        assert missing.returncode == 1 and "404" in missing.stderr
        assert "No jobs." in jobs("list").stdout

        once = jobs("create", str(root / "p" / "pipeline.orchest"), "--name", "once")
        assert once.returncode == 1 and "pipeline_path" in once.stderr  # absolute, no root dir
        once = jobs("create", "p/pipeline.orchest", "--name", "once")
        assert once.returncode == 0, once.stderr
        deadline = time.monotonic() + 120
        while server.request("GET", "/orchest/api/jobs")[1]["jobs"][0]["status"] != "DONE":
            assert time.monotonic() < deadline, "the one-off job did not finish"
            time.sleep(0.1)
        assert "DONE" in jobs("list").stdout
    finally:
        server.stop()


def test_every_jobs_command_describes_itself_in_its_help():
    for command in ("create", "list", "show", "pause", "resume", "delete"):
        result = subprocess.run(
            [sys.executable, "-m", "orchest_ext.cli", "jobs", command, "--help"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        description = result.stdout.split("\n\n", 1)[0]
        assert "A Jupyter Application" not in description, (command, description)
        assert command in description or "Create" in description, (command, description)
