"""Sphinx extension: the command-line reference, each `jupyter orchest` command's own help,
written as MyST at every build.

The commands are discovered, not listed: the installed console script `jupyter-orchest`
names a ``main``; the traitlets Application named like the script in
``main``'s module is the top command, and its ``subcommands`` (recursively) the rest."""

from __future__ import annotations

import importlib
import inspect
import io
from collections.abc import Iterator
from contextlib import redirect_stdout
from importlib.metadata import entry_points
from typing import Any

from mdtext import generated_page
from sphinx.application import Sphinx
from traitlets.config import Application
from traitlets.utils.importstring import import_item

SCRIPT = "jupyter-orchest"
OUTPUT = "_generated/cli-reference.md"


def top_command() -> type[Application]:
    """The Application class the console script ``SCRIPT`` launches."""
    (script,) = entry_points(group="console_scripts", name=SCRIPT)
    main = script.load()
    home = importlib.import_module(main.__module__)
    apps = [
        obj
        for obj in vars(home).values()
        if inspect.isclass(obj) and issubclass(obj, Application) and obj.name == SCRIPT
    ]
    if len(apps) != 1:
        raise RuntimeError(f"expected one Application named {SCRIPT} in {home.__name__}")
    return apps[0]


def commands(app: type[Application], words: str) -> Iterator[tuple[str, type[Application]]]:
    """``(command line, Application class)`` of ``app`` and of its subcommands, depth first."""
    yield words, app
    for name, (sub, _help) in app().subcommands.items():
        sub_class = import_item(sub) if isinstance(sub, str) else sub
        if inspect.isclass(sub_class):
            yield from commands(sub_class, f"{words} {name}")


def help_text(app: type[Application]) -> str:
    """What ``--help`` prints for the command (its description, options and examples)."""
    out = io.StringIO()
    with redirect_stdout(out):
        app().print_help(classes=False)
    return out.getvalue().strip()


def reference_lines() -> list[str]:
    lines: list[str] = []
    for words, app in commands(top_command(), "jupyter orchest"):
        fence = "`" * 3
        lines += [f"## `{words}`", "", f"{fence}text", help_text(app), fence, ""]
    return lines


def setup(app: Sphinx) -> dict[str, Any]:
    return generated_page(app, OUTPUT, reference_lines)
