"""Sphinx extension: the configuration reference, written as MyST from the traitlets of every
class the server extension configures, at every build.

The classes are discovered, not listed: the extension app comes from the package's
``_jupyter_server_extension_points()``, then every class it configures (its
``configurable_classes()``, or ``classes``), the classes its ``Type`` traits select, and their
configurable bases inside the package. Moving a module moves nothing here."""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Iterator
from typing import Any

from mdtext import code, generated_page, text
from sphinx.application import Sphinx
from traitlets import Enum, TraitType, Type
from traitlets.config import Application, Configurable

PACKAGE = "orchest_ext"
OUTPUT = "_generated/config-reference.md"


def extension_apps() -> list[type[Application]]:
    """The package's Jupyter Server extension apps, as Jupyter Server finds them."""
    package = importlib.import_module(PACKAGE)
    return [point["app"] for point in package._jupyter_server_extension_points()]


def in_package(cls: type) -> bool:
    return cls.__module__ == PACKAGE or cls.__module__.startswith(PACKAGE + ".")


def configured_classes(app_class: type[Application]) -> list[type[Configurable]]:
    """The app class, every class it configures, and their configurable bases in the package."""
    app = app_class()
    listed = getattr(app, "configurable_classes", None)
    found: list[type] = [app_class, *(listed() if callable(listed) else app.classes)]
    for name, trait in app_class.class_traits(config=True).items():
        if isinstance(trait, Type):
            found.append(getattr(app, name))
    ordered: list[type[Configurable]] = []
    for cls in found:
        for klass in reversed(cls.__mro__):
            configurable = inspect.isclass(klass) and issubclass(klass, Configurable)
            if configurable and in_package(klass) and klass not in ordered:
                ordered.append(klass)
    return ordered


def has_dynamic_default(cls: type, name: str) -> bool:
    """Whether the trait's default is computed when an instance is made (``@default``)."""
    return any(name in vars(klass).get("_trait_default_generators", {}) for klass in cls.__mro__)


def trait_type(trait: TraitType) -> str:
    if isinstance(trait, Enum):
        return "one of " + ", ".join(code(repr(value)) for value in trait.values)
    return trait.__class__.__name__


def trait_default(cls: type, name: str, trait: TraitType) -> str:
    if has_dynamic_default(cls, name):
        return "computed when the server starts (see the description)"
    try:
        shown = trait.default_value_repr()
    except Exception:  # a default traitlets itself cannot show: say so rather than fail
        return "see its description"
    if shown == repr(sys.executable):  # the building machine's path means "this Python"
        return "the server's Python (`sys.executable`)"
    return code(shown)


def class_lines(cls: type[Configurable]) -> Iterator[str]:
    name = cls.__name__
    yield f"(config-{name.lower()})="
    yield f"## {name}"
    yield ""
    doc = inspect.getdoc(cls) or ""
    yield text(doc.split("\n\n")[0]) + f" Defined in {code(cls.__module__)}."
    yield ""
    inherited = [
        base.__name__
        for base in cls.__mro__[1:]
        if issubclass(base, Configurable)
        and in_package(base)
        and base.class_own_traits(config=True)
    ]
    if inherited:
        names = ", ".join(f"{{ref}}`{base} <config-{base.lower()}>`" for base in inherited)
        yield f"Also takes every option of {names}, as `{name}.<option>`."
        yield ""
    for trait_name, trait in sorted(cls.class_own_traits(config=True).items()):
        yield code(f"{name}.{trait_name}")
        yield f": {trait_type(trait)}, default {trait_default(cls, trait_name, trait)}."
        yield f"  {text(trait.help or '(no description)')}"
        yield ""


def reference_lines() -> list[str]:
    lines: list[str] = []
    for app_class in extension_apps():
        for cls in configured_classes(app_class):
            if cls.class_own_traits(config=True):
                lines += class_lines(cls)
    return lines


def setup(app: Sphinx) -> dict[str, Any]:
    return generated_page(app, OUTPUT, reference_lines)
