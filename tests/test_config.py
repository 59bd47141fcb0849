"""Configuration: invalid settings stop the server with a message naming the setting."""

from __future__ import annotations

import pytest

from .server import ServerProcess


@pytest.mark.parametrize(
    ("argument", "setting"),
    [
        ("--OrchestApp.max_parallel=0", "max_parallel"),
        ("--DockerExecutor.memory_limit=lots", "DockerExecutor.memory_limit"),
        ("--DockerExecutor.extra_mounts=['nocolon']", "DockerExecutor.extra_mounts"),
        (
            "--OrchestApp.webhooks={'url': 'ftp://x.org', 'events': ['run.failed']}",
            "OrchestApp.webhooks[0]: url",
        ),
        (
            "--OrchestApp.webhooks={'url': 'https://x.org', 'events': ['run.exploded']}",
            "run.exploded",
        ),
        ("--WebhookDelivery.max_attempts=0", "max_attempts"),
    ],
)
def test_invalid_settings_stop_the_server(tmp_path, argument, setting):
    (tmp_path / "root").mkdir()
    server = ServerProcess(tmp_path / "root", tmp_path / "state", extra_args=[argument])
    with pytest.raises(RuntimeError, match="server exited early") as failure:
        server.start(timeout=60)
    assert server.process.returncode != 0
    assert setting in str(failure.value)
