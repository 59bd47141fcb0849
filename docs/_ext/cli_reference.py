"""Sphinx extension: the command-line reference, each `jupyter orchest` command's own help
(what it does, its subcommands, its options, its examples), written as MyST at every build.

The commands are discovered, not listed: the installed console script `jupyter-orchest`
names a ``main``; the traitlets Application named like the script in
``main``'s module is the top command, and its ``subcommands`` (recursively) the rest."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator
from importlib.metadata import entry_points
from typing import Any

from jupyter_core.application import JupyterApp
from mdtext import code, generated_page, text
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


def option_blocks(app: Application) -> list[list[str]]:
    """The app's flags and aliases as ``--help`` describes them, one block of lines each."""
    blocks: list[list[str]] = []
    for line in [*app.emit_flag_help(), *app.emit_alias_help()]:
        if line and not line[0].isspace():
            blocks.append([line])
        elif blocks:
            blocks[-1].append(line)
    return blocks


def option_name(block: list[str]) -> str:
    return block[0].split("=", 1)[0].split(" ", 1)[0]


def command_lines(words: str, app: Application, common: set[str]) -> list[str]:
    """A command's section: what it does, its subcommands, its own options, its examples."""
    out = [f"## `{words}`", ""]
    description = " ".join(app.emit_description()).strip()
    if description and description != "A Jupyter Application":
        out += [text(description), ""]
    for name, (_sub, summary) in app.subcommands.items():
        out.append(f"- {code(f'{words} {name}')}: {text(summary)}")
    if app.subcommands:
        out.append("")
    own = [b for b in option_blocks(app) if option_name(b) not in common]
    if own:
        out += ["```text", *(line for block in own for line in block), "```", ""]
    if app.examples.strip():
        out += ["Examples:", "", "```bash", app.examples.strip(), "```", ""]
    return out


def reference_lines() -> list[str]:
    generic = JupyterApp()
    common = {option_name(block) for block in option_blocks(generic)}
    lines = [
        "Every command also takes Jupyter's common options: "
        + ", ".join(code(name) for name in sorted(common))
        + "; and `--help` (its options), `--help-all` (every configurable option).",
        "",
    ]
    for words, app_class in commands(top_command(), "jupyter orchest"):
        lines += command_lines(words, app_class(), common)
    return lines


def setup(app: Sphinx) -> dict[str, Any]:
    return generated_page(app, OUTPUT, reference_lines)
