"""Env values and secrets: answers mask env values (read-only users always, everyone unless
``show_env_values``), ``{"secret": NAME}`` resolves on the server, is never stored or logged,
and is masked in step logs and notebooks. The server runs a real jupyter_server ``Authorizer``
subclass whose allowed actions the test sets."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

import pytest
from jupyter_server.auth import Authorizer

from .helpers import make_pipeline, notebook, wait_for_run

SECRET = "s3cr3t-value-that-must-not-leak"
PLAIN = "plain-value-42"


class ActionsAuthorizer(Authorizer):
    """Allows exactly the actions in ``allowed`` (on every resource)."""

    allowed: ClassVar[set[str]] = {"read", "write", "execute"}

    def is_authorized(self, handler, user, action, resource) -> bool:
        return action in self.allowed


@pytest.fixture
def allowed():
    ActionsAuthorizer.allowed = {"read", "write", "execute"}
    yield ActionsAuthorizer.allowed
    ActionsAuthorizer.allowed = {"read", "write", "execute"}


@pytest.fixture
def show_env_values() -> bool:
    return False


@pytest.fixture
def secret_source() -> str:
    return "environment"


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], show_env_values, secret_source, tmp_path
) -> dict[str, Any]:
    orchest = {
        **jp_server_config["OrchestApp"],
        "show_env_values": show_env_values,
        "secret_source": secret_source,
        "secret_file": str(tmp_path / "secrets.json"),
    }
    return {
        **jp_server_config,
        "ServerApp": {**jp_server_config["ServerApp"], "authorizer_class": ActionsAuthorizer},
        "OrchestApp": orchest,
    }


def read_only(allowed: set[str]) -> None:
    allowed.clear()
    allowed.add("read")


async def submit(api, env: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return await api("POST", "runs", body={"pipeline_path": "p/pipeline.orchest", "env": env})


async def test_read_only_users_see_env_names_not_values(api, jp_root_dir, allowed):
    make_pipeline(jp_root_dir / "p", {"A": ("a.sh", "true\n", [])})
    code, run = await submit(api, {"API_KEY": PLAIN})
    assert code == 202, run
    assert run["env"] == {"API_KEY": "***"}
    code, job = await api(
        "POST",
        "jobs",
        body={
            "pipeline_path": "p/pipeline.orchest",
            "schedule": {"cron": "0 3 * * *"},
            "env": {"API_KEY": PLAIN},
        },
    )
    assert code == 201, job
    await wait_for_run(api, run["id"])

    read_only(allowed)
    answers = [
        await api("GET", "runs", run["id"]),
        await api("GET", "runs"),
        await api("GET", "jobs"),
        await api("GET", "jobs", job["id"]),
    ]
    for code, body in answers:
        assert code == 200, body
        assert PLAIN not in repr(body), body
    assert answers[0][1]["env"] == {"API_KEY": "***"}
    assert answers[1][1]["runs"][0]["env"] == {"API_KEY": "***"}


@pytest.mark.parametrize("show_env_values", [True])
async def test_show_env_values_reveals_them_to_executors_only(api, jp_root_dir, allowed):
    make_pipeline(jp_root_dir / "p", {"A": ("a.sh", "true\n", [])})
    code, run = await submit(api, {"API_KEY": PLAIN})
    assert code == 202 and run["env"] == {"API_KEY": PLAIN}
    await wait_for_run(api, run["id"])
    read_only(allowed)
    code, shown = await api("GET", "runs", run["id"])
    assert code == 200 and shown["env"] == {"API_KEY": "***"}


async def test_secret_resolves_on_the_server_and_is_masked_everywhere(
    api, jp_root_dir, jp_serverapp, allowed, monkeypatch, caplog
):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("MY_SECRET", SECRET)
    half = len(SECRET) // 2
    _, uuids = make_pipeline(
        jp_root_dir / "p",
        {
            "Shell": ("a.sh", 'echo "token=$TOKEN plain=$OTHER"\nprintf "%s" "$TOKEN"\n', []),
            "Notebook": (
                "b.ipynb",
                notebook("import os\nprint(os.environ['TOKEN'])\nos.environ['TOKEN']"),
                [],
            ),
        },
    )
    code, run = await submit(api, {"TOKEN": {"secret": "MY_SECRET"}, "OTHER": PLAIN})
    assert code == 202, run
    assert run["env"] == {"TOKEN": {"secret": "MY_SECRET"}, "OTHER": "***"}
    finished = await wait_for_run(api, run["id"])
    assert finished["status"] == "SUCCESS", finished

    shell, nb = uuids["Shell"], uuids["Notebook"]
    code, log = await api("GET", "runs", run["id"], "steps", shell, "log")
    assert code == 200 and SECRET not in log["text"]
    assert f"token={'*' * len(SECRET)} plain={PLAIN}" in log["text"]
    code, tail = await api(
        "GET", "runs", run["id"], "steps", shell, "log", offset=log["size"] - half
    )
    assert code == 200 and tail["text"] == "*" * half, tail

    response = await api("GET", "runs", run["id"], "steps", nb, "notebook")
    assert response[0] == 200 and SECRET not in repr(response[1])
    assert "*" * len(SECRET) in repr(response[1])

    state = Path(jp_serverapp.config["OrchestApp"]["db_path"]).parent
    for path in state.iterdir():
        assert SECRET.encode() not in path.read_bytes(), path
    assert SECRET not in caplog.text


async def test_unknown_secret_is_a_400_naming_the_entry(api, jp_root_dir, allowed):
    make_pipeline(jp_root_dir / "p", {"A": ("a.sh", "true\n", [])})
    code, body = await submit(api, {"TOKEN": {"secret": "NO_SUCH_SECRET_HERE"}})
    assert (
        code == 400 and "env.TOKEN" in body["message"] and "NO_SUCH_SECRET_HERE" in body["message"]
    )
    code, body = await api(
        "POST",
        "jobs",
        body={
            "pipeline_path": "p/pipeline.orchest",
            "schedule": {"cron": "0 3 * * *"},
            "env": {"TOKEN": {"secret": "NO_SUCH_SECRET_HERE"}},
        },
    )
    assert code == 400 and "env.TOKEN" in body["message"], body
    code, body = await submit(api, {"TOKEN": {"secret": "X", "extra": 1}})
    assert code == 400 and "env" in body["message"], body


@pytest.mark.parametrize("secret_source", ["file"])
async def test_secret_file_must_be_private(api, jp_root_dir, tmp_path, allowed):
    secret_file = tmp_path / "secrets.json"
    secret_file.write_text(f'{{"FROM_FILE": "{SECRET}"}}')
    secret_file.chmod(0o600)
    make_pipeline(jp_root_dir / "p", {"A": ("a.sh", 'test "$T" = "$WANT"\n', [])})
    code, run = await submit(api, {"T": {"secret": "FROM_FILE"}, "WANT": SECRET})
    assert code == 202, run
    assert (await wait_for_run(api, run["id"]))["status"] == "SUCCESS"
    secret_file.chmod(0o644)
    code, body = await submit(api, {"T": {"secret": "FROM_FILE"}})
    assert code == 400 and "env.T" in body["message"] and "chmod 600" in body["message"], body


SPLIT_SHELL = f"""half={len(SECRET) // 2}
echo "token=$TOKEN"
printf "%s" "${{TOKEN:0:$half}}"
sleep 0.3
printf "%s\\n" "${{TOKEN:$half}}"
echo "$TOKEN" >&2
exit 3
"""
SPLIT_NOTEBOOK = f"""import os, time
token = os.environ['TOKEN']
print(token[:{len(SECRET) // 2}], end='', flush=True)
time.sleep(0.3)
print(token[{len(SECRET) // 2}:])
os.system('echo kernel-fd $TOKEN')
token"""


def files_holding(directory: Path, value: str) -> list[Path]:
    """Every file under ``directory`` whose bytes contain ``value``."""
    return [
        path
        for path in directory.rglob("*")
        if path.is_file() and not path.is_symlink() and value.encode() in path.read_bytes()
    ]


async def test_no_file_a_run_writes_holds_a_secret(
    api, jp_root_dir, jp_serverapp, allowed, monkeypatch, backend
):
    """Step output is masked where it is written (a value split across two writes too), so
    no file under the run's directory, nor the store, holds the secret; the failing step's
    message quotes its output masked."""
    monkeypatch.setenv("MY_SECRET", SECRET)
    _, uuids = make_pipeline(
        jp_root_dir / "p",
        {"Shell": ("a.sh", SPLIT_SHELL, []), "Notebook": ("b.ipynb", notebook(SPLIT_NOTEBOOK), [])},
    )
    code, run = await api(
        "POST",
        "runs",
        body={
            "pipeline_path": "p/pipeline.orchest",
            "backend": backend,
            "env": {"TOKEN": {"secret": "MY_SECRET"}},
        },
    )
    assert code == 202, run
    finished = await wait_for_run(api, run["id"], timeout=180)
    steps = {step["uuid"]: step for step in finished["steps"]}
    assert steps[uuids["Notebook"]]["status"] == "SUCCESS", steps[uuids["Notebook"]]["message"]
    shell = steps[uuids["Shell"]]
    assert shell["status"] == "FAILURE" and "*" * len(SECRET) in shell["message"], shell

    assert files_holding(jp_root_dir, SECRET) == []
    state = Path(jp_serverapp.config["OrchestApp"]["db_path"]).parent
    assert files_holding(state, SECRET) == []
    masked = "*" * len(SECRET)
    steps_dir = Path(finished["run_dir"]) / "steps"
    shell_log = (steps_dir / uuids["Shell"] / "step.log").read_text()
    assert shell_log == f"token={masked}\n{masked}\n{masked}\n", shell_log
    notebook_log = (steps_dir / uuids["Notebook"] / "step.log").read_text()
    assert f"{masked}\n" in notebook_log, notebook_log
    kernel_log = (steps_dir / uuids["Notebook"] / "kernel.log").read_text()
    assert f"kernel-fd {masked}" in kernel_log or backend != "local", kernel_log
