"""Small helpers to write MyST Markdown from data: escaped text, tables, generated files."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
_SPECIAL = re.compile(r"([\\*<>\[\]|_])")


def text(value: object) -> str:
    """``value`` as one line of Markdown: whitespace collapsed, Markdown syntax escaped
    outside code spans (backticks in the source stay code)."""
    source = " ".join(str(value).split())
    out, last = [], 0
    for match in _CODE_SPAN.finditer(source):
        out.append(_SPECIAL.sub(r"\\\1", source[last : match.start()]))
        out.append(code(match.group(2)))
        last = match.end()
    out.append(_SPECIAL.sub(r"\\\1", source[last:]))
    return "".join(out)


def code(value: object) -> str:
    """``value`` as an inline code span that survives a table cell."""
    body = " ".join(str(value).split()).replace("|", "\\|")
    fence = "``" if "`" in body else "`"
    pad = " " if body.startswith("`") or body.endswith("`") else ""
    return f"{fence}{pad}{body}{pad}{fence}"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A GitHub-style table (cells already Markdown), with a blank line after it."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    return [*lines, ""]


def write_if_changed(path: Path, lines: Iterable[str]) -> None:
    """Write ``path`` only when its content changes, so Sphinx rebuilds only what changed."""
    content = "\n".join(lines).rstrip() + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != content:
        path.write_text(content, encoding="utf-8")
