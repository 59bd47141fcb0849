"""The languages steps are written in: which kernel names mean which language, the kernels
that run it, and how to install one. Orchest names kernels by language (``python``, ``r``,
``julia``); a notebook runs only on an installed kernel of its own language."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    """A step language and the kernels that run it."""

    name: str
    """As kernelspecs name it, lower case (``python``, ``r``, ``julia``)."""
    display_name: str
    kernel_names: tuple[str, ...]
    """Kernelspec names to prefer, in order; any other kernelspec of the language also runs."""
    aliases: tuple[str, ...]
    """Names pipelines use for the language's kernel (Orchest: ``python``, ``r``, ``julia``)."""
    prefix: str | None
    """Kernel names starting with it stand for the language too (``python3.11``)."""
    install_hint: str

    def names(self, kernel_name: str) -> bool:
        """Whether a requested kernel (or language) name stands for this language."""
        name = kernel_name.lower()
        in_prefix = self.prefix is not None and name.startswith(self.prefix)
        return name == self.name or name in self.aliases or name in self.kernel_names or in_prefix


LANGUAGES: tuple[Language, ...] = (
    Language(
        "python",
        "Python",
        ("python3",),
        ("python", "python3"),
        "python",
        "pip install ipykernel && python -m ipykernel install",
    ),
    Language(
        "r",
        "R",
        ("ir",),
        ("r", "ir"),
        None,
        "apt-get install r-base-core r-cran-irkernel (Debian), or in R: "
        "install.packages('IRkernel'); IRkernel::installspec()",
    ),
    Language(
        "julia",
        "Julia",
        (),
        ("julia",),
        "julia",
        'install Julia, then in Julia: using Pkg; Pkg.add("IJulia") '
        "(Julia is not in the package registries of this project's images)",
    ),
)


class KernelMissing(Exception):
    """No installed kernel runs the notebook's language; the message says how to get one."""


def language_named(name: str | None) -> Language | None:
    """The language a kernel or language name stands for (``r``, ``ir``, ``R``, ``python3``)."""
    if not name:
        return None
    return next((lang for lang in LANGUAGES if lang.names(name)), None)


def kernel_for(language: Language, installed: Mapping[str, str], requested: str) -> str:
    """The installed kernelspec to run ``language`` on: a preferred one, else any of that
    language. ``installed`` maps kernelspec names to their (lower-case) language."""
    for name in language.kernel_names:
        if name in installed:
            return name
    same = sorted(name for name, lang in installed.items() if lang == language.name)
    if same:
        return same[0]
    available = ", ".join(sorted(installed)) or "none"
    raise KernelMissing(
        f"Kernel {requested!r} runs {language.display_name} and no {language.display_name} "
        f"kernel is installed (installed kernels: {available}). To install one: "
        f"{language.install_hint}."
    )
