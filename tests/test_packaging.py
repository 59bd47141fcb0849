"""Packaging: what a normal `pip install` of the wheel gives a user."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import subprocess
import sys
import uuid
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .docker_support import docker, require_image

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

REPO_ROOT = Path(__file__).resolve().parent.parent
BASE_IMAGE = "orchest-ext/base:bookworm"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The project's wheel (as `pip install .` builds it) installed into a directory of its
    own, without dependencies (they come from this environment)."""
    root = tmp_path_factory.mktemp("installed")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "-w", str(root / "dist"), str(REPO_ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    wheel = next((root / "dist").glob("orchest_ext-*.whl"))
    subprocess.run(
        [*pip, "install", "--no-deps", "--target", str(root / "site"), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return root / "site"


def python_with(site: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """This Python with the installed package first on its path (not the source checkout)."""
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def test_the_step_api_is_a_top_level_package_of_the_wheel(installed, tmp_path):
    where = python_with(
        installed,
        "-c",
        "import orchest, orchest_ext.executors.base as b; "
        "print(orchest.__file__); print(b.STEP_SDK_PATH); print(orchest.use_pipeline.__name__)",
        cwd=tmp_path,
    )
    assert where.returncode == 0, where.stderr
    api_file, step_path, name = where.stdout.split()
    assert Path(api_file) == installed / "orchest" / "__init__.py"
    assert (Path(step_path) / "orchest" / "__init__.py").is_file()  # still on steps' path
    assert name == "use_pipeline"


def test_the_wheel_ships_the_pipeline_schemas_the_server_reads(installed, tmp_path):
    checked = python_with(
        installed,
        "-c",
        "from orchest_ext.pipeline.schema import schema_issues; "
        "print(schema_issues('orchest', {'steps': {}})[0].message)",
        cwd=tmp_path,
    )
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == 'Pipeline: field "uuid" is required.'


def test_an_editable_install_imports_the_step_api_from_the_source_tree(tmp_path):
    """`pip install -e .` puts orchest_ext/sdk on the path: `import orchest` is the source,
    so edits to it are live (the labextension build is skipped: not what this checks)."""
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
        check=True,
        timeout=120,
    )
    python = venv / "bin" / "python"
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "--quiet"]
    installed = subprocess.run(
        [*pip, "install", "--no-deps", "-e", str(REPO_ROOT)],
        env={**os.environ, "SKIP_JUPYTER_BUILDER": "1", "PYTHONPATH": ""},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    where = subprocess.run(
        [
            str(python),
            "-c",
            "import orchest, orchest_ext; print(orchest.__file__, orchest_ext.__file__)",
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert where.returncode == 0, where.stderr
    api_file, package_file = where.stdout.split()
    assert Path(api_file) == REPO_ROOT / "orchest_ext" / "sdk" / "orchest" / "__init__.py"
    assert Path(package_file) == REPO_ROOT / "orchest_ext" / "__init__.py"


@pytest.mark.docker
def test_images_build_from_a_pip_install(installed, tmp_path):
    require_image(BASE_IMAGE)
    where = python_with(
        installed, "-c", "import orchest_ext.infra.images as i; print(i.IMAGES_DIR)", cwd=tmp_path
    )
    assert where.stdout.strip() == str(installed / "orchest_ext" / "dockerfiles"), where.stderr
    tag = f"test-{uuid.uuid4().hex[:12]}"
    image = f"orchest-ext/step:{tag}"
    build = ["images", "build", "--only", "step", "--base-image", BASE_IMAGE, "--tag", tag]
    try:
        result = python_with(installed, "-m", "orchest_ext.cli", *build, cwd=tmp_path)
        assert result.returncode == 0, result.stderr[-3000:]
        assert f"built {image}" in result.stderr
        check = (
            "import orchest_ext.executors.containers.container_main, orchest_ext; "
            "print(orchest_ext.__file__)"
        )
        ran = docker("run", "--rm", image, "python", "-c", check)
        assert ran.returncode == 0 and ran.stdout.startswith("/opt/venv/"), ran.stderr
    finally:
        docker("image", "rm", "--force", image)


def example_imports() -> dict[str, set[str]]:
    """Top-level modules the example pipelines' steps import, with the files importing them."""
    imports: dict[str, set[str]] = {}
    for path in sorted((REPO_ROOT / "examples").rglob("*")):
        if path.suffix == ".py":
            sources = [path.read_text()]
        elif path.suffix == ".ipynb":
            cells = nbformat.read(path, as_version=4).cells
            sources = [cell.source for cell in cells if cell.cell_type == "code"]
        else:
            continue
        for source in sources:
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    imports.setdefault(name.split(".")[0], set()).add(path.name)
    return imports


def test_the_examples_extra_installs_what_the_examples_import():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    declared = {
        canonicalize_name(Requirement(line).name)
        for line in [*project["dependencies"], *project["optional-dependencies"]["examples"]]
    }
    distributions = importlib.metadata.packages_distributions()
    provided_by_steps = {"orchest"}  # the step API: a top-level package of this distribution
    missing = {
        module: files
        for module, files in example_imports().items()
        if module not in sys.stdlib_module_names
        and module not in provided_by_steps
        and not declared.intersection(canonicalize_name(d) for d in distributions.get(module, []))
    }
    assert not missing, f"modules the examples import that no extra installs: {missing}"
    assert "sklearn" in example_imports()
