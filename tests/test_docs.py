"""The README stays a short front page whose commands are the ones that work and that CI runs;
the developer guide's layout names what the package holds."""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
LAYOUT_PAGE = ROOT / "docs" / "developer" / "architecture.md"
INSTALL = "pip install . && "


def bash_blocks(markdown: str) -> list[str]:
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", markdown, re.DOTALL)]


def readme_commands() -> list[str]:
    """The bash blocks of the README's "Two commands" section."""
    section = README.read_text(encoding="utf-8").split("## Two commands", 1)[1]
    return bash_blocks(section.split("\n## ", 1)[0])


def test_readme_is_a_short_front_page() -> None:
    assert len(README.read_text(encoding="utf-8").splitlines()) < 200


def test_readme_test_command_is_what_ci_runs() -> None:
    commands = readme_commands()
    assert len(commands) == 2
    assert commands[1] == "bash tests/run.sh"
    assert re.search(r"^bash tests/run\.sh\b", (ROOT / ".ci" / "run").read_text(), re.MULTILINE)


def test_ci_builds_the_docs_with_warnings_as_errors() -> None:
    script = (ROOT / "tests" / "run.sh").read_text(encoding="utf-8")
    assert re.search(r"^[^#\n]*sphinx -W .*-b html docs ", script, re.MULTILINE)
    assert '".[test,docs]"' in script


def test_readme_first_command_runs_the_example(tmp_path: Path) -> None:
    """The README's first command, after the install tests/run.sh has done, on a copy of the
    examples: it runs the quickstart on the local backend and exits 0."""
    command = readme_commands()[0]
    assert command.startswith(INSTALL)
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    done = subprocess.run(
        ["bash", "-c", command.removeprefix(INSTALL)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        # the run records into the default store under the Jupyter data dir: a fresh one here
        env={**os.environ, "JUPYTER_DATA_DIR": str(tmp_path / "data")},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^Run \S+: SUCCESS$", done.stdout, re.MULTILINE), done.stdout


def layout_block() -> str:
    page = LAYOUT_PAGE.read_text(encoding="utf-8")
    return page.split("## Layout", 1)[1].split("```", 2)[1]


def test_layout_names_every_package_and_top_level_module() -> None:
    named = set(re.findall(r"[\w.]+", layout_block()))
    package = ROOT / "orchest_ext"
    wanted = {p.parent.name for p in package.rglob("__init__.py") if p.parent != package}
    wanted |= {p.name for p in package.glob("*.py") if p.name != "__init__.py"}
    assert not sorted(wanted - named), "the layout does not name these"


def test_layout_names_nothing_that_is_gone() -> None:
    entries = re.findall(r"^ +([\w.]+(?:\.py|/))", layout_block(), re.MULTILINE)
    present = {p.name for p in (ROOT / "orchest_ext").rglob("*.py")}
    present |= {p.name + "/" for p in (ROOT / "orchest_ext").rglob("*") if p.is_dir()}
    assert not sorted(set(entries) - present), "the layout names these, which do not exist"


BUILT = {"orchest_ext/labextension", "orchest_ext/dockerfiles"}
"""Paths that exist in a built package only (made by the build, named in the docs)."""


def doc_pages() -> list[Path]:
    pages = [README, ROOT / "bench" / "README.md", *(ROOT / "docs").rglob("*.md")]
    return [p for p in pages if not {"_build", "_generated"} & set(p.parts)]


def test_docs_name_only_files_that_exist() -> None:
    missing = set()
    for page in doc_pages():
        for path in re.findall(r"orchest_ext(?:/[\w.-]+)+", page.read_text(encoding="utf-8")):
            path = path.rstrip(".")
            if path not in BUILT and not (ROOT / path).exists():
                missing.add(f"{page.relative_to(ROOT)}: {path}")
    assert not sorted(missing)


def test_docs_name_only_modules_that_exist() -> None:
    """Dotted names starting with one of the package's modules resolve (other dotted names,
    such as the container labels ``orchest_ext.run_id``, are not modules)."""
    top = {p.stem for p in (ROOT / "orchest_ext").iterdir() if p.suffix == ".py" or p.is_dir()}
    missing = set()
    for page in doc_pages():
        text = page.read_text(encoding="utf-8")
        for name in re.findall(r"orchest_ext(?:\.[A-Za-z_]\w*)+", text):
            if name.split(".")[1] in top and not resolves(name):
                missing.add(f"{page.relative_to(ROOT)}: {name}")
    assert not sorted(missing)


def resolves(dotted: str) -> bool:
    """Whether ``dotted`` names a module, or an attribute of one, of this checkout."""
    parts = dotted.split(".")
    for cut in range(len(parts), 1, -1):
        base = ROOT.joinpath(*parts[:cut])
        if base.with_suffix(".py").is_file() or (base / "__init__.py").is_file():
            if cut == len(parts):
                return True
            module = importlib.import_module(".".join(parts[:cut]))
            return hasattr(module, parts[cut])
    return False
