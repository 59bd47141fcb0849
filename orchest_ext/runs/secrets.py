"""Secrets: ``env`` values given as ``{"secret": "NAME"}`` resolve here, on the server, from
the server's environment or from a file only the server user can read; they are never stored
with a run, and their values are masked wherever step output is served."""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..executors.masking import MIN_MASKED_LENGTH

SECRET_KEY = "secret"


class SecretError(ValueError):
    """A secret that cannot be had (unknown name, unsafe or unreadable store)."""


def is_secret_ref(value: Any) -> bool:
    """Whether an ``env`` value is a reference ``{"secret": "NAME"}``."""
    return isinstance(value, dict) and set(value) == {SECRET_KEY}


class SecretStore:
    """Secret values by name: the server's environment (``source="environment"``) or a JSON
    object in ``path`` (``source="file"``) that must be owned by the server user and readable
    by no one else. The file is read again when it changes."""

    def __init__(self, source: str = "environment", path: str = "") -> None:
        self.source = source
        self.path = Path(path).expanduser() if path else None
        self._lock = threading.Lock()
        self._loaded: tuple[tuple[int, int], dict[str, str]] | None = None

    def values(self) -> dict[str, str]:
        """Every secret by name (blocking: may read the file)."""
        if self.source == "environment":
            return dict(os.environ)
        if self.path is None:
            return {}
        return self._file_values(self.path)

    def resolve(self, name: str) -> str:
        """The value of secret ``name``; SecretError naming it when there is none."""
        values = self.values()
        if name not in values:
            where = "environment" if self.source == "environment" else f"file {self.path}"
            raise SecretError(f"no secret named {name} in the server's secret {where}")
        return values[name]

    def resolve_env(self, env: Mapping[str, Any]) -> dict[str, str]:
        """``env`` with every secret reference replaced by its value."""
        return {
            key: self.resolve(value[SECRET_KEY]) if is_secret_ref(value) else value
            for key, value in env.items()
        }

    def check_refs(self, env: Mapping[str, Any]) -> None:
        """SecretError naming the ``env`` entry whose secret cannot be resolved."""
        for key, value in env.items():
            if is_secret_ref(value):
                try:
                    self.resolve(value[SECRET_KEY])
                except SecretError as err:
                    raise SecretError(f"env.{key}: {err}") from None

    def masked_values(self, env: Mapping[str, Any]) -> list[bytes]:
        """The values to hide in output: those of the secrets ``env`` references, longest
        first."""
        found = {
            self.resolve(value[SECRET_KEY]).encode()
            for value in env.values()
            if is_secret_ref(value)
        }
        return sorted((v for v in found if len(v) >= MIN_MASKED_LENGTH), key=len, reverse=True)

    def _file_values(self, path: Path) -> dict[str, str]:
        try:
            info = path.stat()
        except OSError as err:
            raise SecretError(f"cannot read the secret file {path}: {err.strerror}") from None
        if info.st_uid != os.getuid() or info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise SecretError(
                f"the secret file {path} must be owned by the server user and readable by no "
                "one else (chmod 600)"
            )
        key = (info.st_mtime_ns, info.st_size)
        with self._lock:
            if self._loaded is None or self._loaded[0] != key:
                self._loaded = (key, _parse_secret_file(path))
            return self._loaded[1]


def _parse_secret_file(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise SecretError(f"cannot read the secret file {path}: {err}") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise SecretError(f"the secret file {path} must hold a JSON object of strings")
    return data
