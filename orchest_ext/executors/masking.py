"""Secret values masked where step output is written, as CI systems do: every exact value
(and its JSON-escaped form) becomes as many ``*`` as it has bytes, also when a value arrives
split across two writes.

``python -m orchest_ext.executors.masking LOG -- COMMAND...`` runs COMMAND with its stdout and
stderr through the masker into LOG (appended) and exits as COMMAND did (killed by a signal,
it kills itself with the same signal). The values to mask are the environment variables
named in ``ORCHEST_MASKED_ENV`` (comma-separated names: the values never leave the step's
own environment). Script steps whose environment holds secrets run through it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

MASK_CHARACTER = b"*"
MIN_MASKED_LENGTH = 3
"""Shorter values are not masked (masking every "1" would garble any log)."""
MASKED_ENV_VARIABLE = "ORCHEST_MASKED_ENV"
CHUNK = 65536


def masked_values(env: Mapping[str, str], names: Iterable[str]) -> list[bytes]:
    """The values of ``env[name]`` for ``names`` worth masking, longest first."""
    found = {env[name].encode() for name in names if name in env}
    return sorted((v for v in found if len(v) >= MIN_MASKED_LENGTH), key=len, reverse=True)


def mask(data: bytes, secrets: list[bytes]) -> bytes:
    """``data`` with each secret value (and its JSON-escaped form) replaced by as many ``*``
    as it has bytes, so offsets into the data stay valid."""
    for secret in secrets:
        for form in _forms(secret):
            data = data.replace(form, MASK_CHARACTER * len(form))
    return data


def _forms(secret: bytes) -> set[bytes]:
    return {secret, json.dumps(secret.decode("utf-8", "replace"))[1:-1].encode()}


def secret_prefix_length(data: bytes, secrets: list[bytes]) -> int:
    """The length of the longest end of ``data`` that begins a secret value (0: none)."""
    return max(
        (
            length
            for secret in secrets
            for form in _forms(secret)
            for length in range(1, min(len(form), len(data) + 1))
            if data.endswith(form[:length])
        ),
        default=0,
    )


class StreamMasker:
    """Masks a stream written in pieces: the end of a piece that may begin a secret value is
    held back until the next piece (or ``finish``) shows whether it does."""

    def __init__(self, secrets: list[bytes]) -> None:
        self.secrets = secrets
        self._held = b""

    def feed(self, data: bytes) -> bytes:
        """What of ``held + data`` can be written now, masked."""
        if not self.secrets:
            return data
        data = mask(self._held + data, self.secrets)
        held = secret_prefix_length(data, self.secrets)
        self._held = data[len(data) - held :] if held else b""
        return data[: len(data) - held]

    def finish(self) -> bytes:
        """The rest held back (the stream ended: it was no secret)."""
        rest, self._held = self._held, b""
        return rest


def mask_file(path: Path, secrets: list[bytes]) -> None:
    """Mask ``path`` in place (same length: offsets stay valid); nothing if it is missing or
    holds no secret (blocking)."""
    if not secrets:
        return
    try:
        data = path.read_bytes()
    except OSError:
        return
    masked = mask(data, secrets)
    if masked != data:
        with open(path, "r+b") as handle:
            handle.write(masked)


def masked_command(python: str, log: Path, argv: list[str], script: str = __file__) -> list[str]:
    """``argv`` run through this filter into ``log`` by ``python`` (``script``: where this
    file is for that interpreter, e.g. mounted in a container)."""
    return [python, "-I", script, str(log), "--", *argv]


def run_masked(log: Path, argv: list[str]) -> int:
    """Run ``argv`` with its output masked into ``log``; its return code (negative: the signal
    that killed it)."""
    names = [n for n in os.environ.pop(MASKED_ENV_VARIABLE, "").split(",") if n]
    masker = StreamMasker(masked_values(os.environ, names))
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    for forwarded in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(forwarded, lambda number, _frame: proc.send_signal(number))
    with open(log, "ab", buffering=0) as out:
        while chunk := os.read(proc.stdout.fileno(), CHUNK):
            out.write(masker.feed(chunk))
        out.write(masker.finish())
    return proc.wait()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 3 or args[1] != "--":
        print("usage: python -m orchest_ext.executors.masking LOG -- COMMAND...", file=sys.stderr)
        return 2
    code = run_masked(Path(args[0]), args[2:])
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code


if __name__ == "__main__":
    sys.exit(main())
