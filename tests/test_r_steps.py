"""R steps: R notebooks (IRkernel) and .R scripts with parameters, passing data to and from
Python steps through the orchest R package; a notebook never runs in another language."""

from __future__ import annotations

import json
import logging
import shutil
import uuid
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from orchest_ext.executors.languages import KernelMissing
from orchest_ext.executors.local.notebook import resolve_kernel

from .docker_support import require_image, require_swarm
from .helpers import make_pipeline, notebook, steps_by_title
from .test_data_passing import notebook_outputs, run_pipeline, step_log


def r_notebook(*sources: str, parameters: int | None = None, kernel: str = "ir") -> str:
    """An R notebook (IRkernel's metadata) with a cell per source."""
    nb = new_notebook(cells=[new_code_cell(source) for source in sources])
    if parameters is not None:
        nb.cells[parameters].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": "R", "language": "R"}
    return nbformat.writes(nb)


SYSTEM_KERNELS = [Path("/usr/share/jupyter/kernels"), Path("/usr/local/share/jupyter/kernels")]


def require_r(data_dir: Path) -> None:
    """R and IRkernel must be installed (fail, not skip, in CI: tests/run.sh installs them);
    IRkernel's kernelspec is copied where the test server looks (pytest-jupyter hides the
    system's)."""
    ir = next((d / "ir" for d in SYSTEM_KERNELS if (d / "ir" / "kernel.json").is_file()), None)
    if shutil.which("Rscript") is None or ir is None:
        pytest.fail("R and IRkernel are not installed: apt-get install r-base-core r-cran-irkernel")
    shutil.copytree(ir, data_dir / "kernels" / "ir", dirs_exist_ok=True)


def set_kernels(pipeline_file, uuids: dict[str, str], kernels: dict[str, str]) -> None:
    """Give steps Orchest's kernel names (``r``, ``python``)."""
    description = json.loads(pipeline_file.read_text())
    for title, name in kernels.items():
        description["steps"][uuids[title]]["kernel"] = {"name": name, "display_name": name}
    pipeline_file.write_text(json.dumps(description))


MIXED = {
    "Make": (
        "make.py",
        "import orchest\norchest.output({'xs': [1, 2, 3], 'label': 'py'}, name='made')\n",
        [],
    ),
    "Scale": (
        "scale.ipynb",
        r_notebook(
            "factor <- 1",
            "inputs <- orchest::get_inputs()\n"
            "scaled <- inputs$made$xs * factor\n"
            "orchest::output(list(scaled = scaled, label = inputs$made$label), name = 'scaled')\n"
            "cat('scaled', scaled, '\\n')",
            parameters=0,
        ),
        ["Make"],
    ),
    "Frame": (
        "frame.R",
        "inputs <- orchest::get_inputs()\n"
        "offset <- orchest::get_step_param('offset', 0)\n"
        "df <- data.frame(x = inputs$scaled$scaled + offset, who = 'R')\n"
        "orchest::output(df, name = 'frame')\n"
        "cat('offset', offset, 'seed', orchest::get_pipeline_param('seed'), '\\n')\n",
        ["Scale"],
    ),
    "Check": (
        "check.ipynb",
        notebook(
            "import orchest\ninputs = orchest.get_inputs()\n"
            "frame = inputs['frame']\n"
            "print('frame', frame['x'].tolist(), frame['who'].tolist())\n"
            "print('scaled', inputs['scaled'])"
        ),
        ["Frame", "Scale"],
    ),
}


R_ENVIRONMENT = "3c1b5e4e-r-test-environment"
"""An R environment of the test projects: a fixed uuid and content, so its image (built on
demand by the first run that needs it) serves every later run."""


def add_r_environment(project_dir: Path) -> None:
    """Give a project the R environment (``"language": "r"``) with a setup script."""
    directory = project_dir / ".orchest" / "environments" / R_ENVIRONMENT
    directory.mkdir(parents=True)
    properties = {"name": "R test", "language": "r", "gpu_support": False}
    (directory / "properties.json").write_text(json.dumps(properties))
    (directory / "setup_script.sh").write_text("#!/bin/bash\necho R environment setup ran\n")


@pytest.fixture(params=["local", "docker", "swarm"])
def r_backend(request, jp_data_dir) -> str:
    """Each backend R steps run on: local needs R and IRkernel on this machine, docker the
    engine and the step image, swarm a swarm manager (R environments are built on demand)."""
    if request.param == "local":
        require_r(jp_data_dir)
    elif request.param == "docker":
        require_image()
    else:
        require_swarm()
    return request.param


async def test_r_and_python_steps_pass_data_both_ways(api, jp_root_dir, r_backend):
    backend = r_backend
    pipeline_file, uuids = make_pipeline(jp_root_dir / "p", MIXED)
    set_kernels(pipeline_file, uuids, {"Scale": "r"})
    add_r_environment(jp_root_dir / "p")
    description = json.loads(pipeline_file.read_text())
    for title in ("Scale", "Frame"):
        description["steps"][uuids[title]]["environment"] = R_ENVIRONMENT
    description["parameters"] = {"seed": 7}
    description["steps"][uuids["Scale"]]["parameters"] = {"factor": 10}
    description["steps"][uuids["Frame"]]["parameters"] = {"offset": 0.5}
    pipeline_file.write_text(json.dumps(description))

    run = await run_pipeline(api, backend)

    assert run["status"] == "SUCCESS", [(s["title"], s["message"]) for s in run["steps"]]
    assert "scaled 10 20 30" in notebook_outputs(run, "Scale")
    assert (await step_log(api, run, "Frame")).strip() == "offset 0.5 seed 7"
    check = notebook_outputs(run, "Check")
    assert "frame [10.5, 20.5, 30.5] ['R', 'R', 'R']" in check
    assert "scaled {'scaled': [10, 20, 30], 'label': 'py'}" in check


async def test_an_r_notebook_never_runs_on_a_python_kernel(api, jp_root_dir, monkeypatch):
    """With no R kernel installed, an R notebook fails naming the kernel and how to get one
    (before, it ran on python3: ``print("R")`` is valid Python too)."""
    monkeypatch.setenv("JUPYTER_PATH", str(jp_root_dir / "no-kernels"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(jp_root_dir / "no-kernels"))
    pipeline_file, uuids = make_pipeline(
        jp_root_dir / "p", {"R": ("r.ipynb", r_notebook('print("R")', kernel="ir"), [])}
    )
    set_kernels(pipeline_file, uuids, {"R": "r"})

    run = await run_pipeline(api, "local")

    step = steps_by_title(run)["R"]
    assert step["status"] == "FAILURE"
    message = step["message"]
    assert "Kernel 'r' runs R and no R kernel is installed" in message, message
    assert "r-cran-irkernel" in message


R_ENV = "d469c87b-cead-41d7-8bf1-c5f23a3a615c"
PY_ENV = "a6e0082d-6e63-49f9-b922-5c5a015fdbc5"


def orchest_notebook(*sources: str, env: str, language: str) -> str:
    """A notebook as Orchest saved them: kernelspec ``orchest-kernel-<environment uuid>``
    (never installed outside Orchest) with the language."""
    nb = new_notebook(cells=[new_code_cell(source) for source in sources])
    nb.metadata["kernelspec"] = {
        "display_name": language.capitalize(),
        "language": language,
        "name": f"orchest-kernel-{env}",
    }
    return nbformat.writes(nb)


def write_r_python_mix(project: Path) -> None:
    """The structure of Orchest's published R/Python example project
    (orchest-examples/orchest-pipeline-r-python-mix: an R step with parameters feeding a
    Python and an R step, and an R step writing and reading a file), recreated: its R code
    reached the Python SDK through reticulate and a conda Python, which do not exist here,
    and the repository names no licence, so nothing of it is copied."""
    for env, name, language in ((R_ENV, "R", "r"), (PY_ENV, "Python", "python")):
        directory = project / ".orchest" / "environments" / env
        directory.mkdir(parents=True)
        properties = {
            "uuid": env,
            "gpu_support": False,
            "name": name,
            "language": language,
            "base_image": f"orchest/base-kernel-{'r' if language == 'r' else 'py'}",
        }
        (directory / "properties.json").write_text(json.dumps(properties))
    (project / ".orchest" / "environments" / R_ENV / "setup_script.sh").write_text(
        "#!/bin/bash\necho R environment setup ran\n"
    )
    notebooks = {
        "r-code.ipynb": orchest_notebook(
            "params <- orchest::get_params()",
            "params[[1]]$numeric",
            'orchest::output(params[[1]]$numeric, name = "Test")',
            env=R_ENV,
            language="r",
        ),
        "python-code.ipynb": orchest_notebook(
            "import orchest\ndata = orchest.get_inputs()\nprint('python got', data['Test'])",
            env=PY_ENV,
            language="python",
        ),
        "r-notebook-receive-data.ipynb": orchest_notebook(
            "data <- orchest::get_inputs()\ncat('R got', data$Test, '\\n')",
            env=R_ENV,
            language="r",
        ),
        "r-read-data-from-file-manager.ipynb": orchest_notebook(
            'dir.create("data", showWarnings = FALSE)\n'
            'writeLines(c("Hello", "World"), "data/test.txt")',
            'cat(readLines("data/test.txt"), "\\n")',
            env=R_ENV,
            language="r",
        ),
    }
    for name, text in notebooks.items():
        (project / name).write_text(text)
    steps = {
        "R mixed with Python": (
            "r-code.ipynb",
            R_ENV,
            "r",
            [],
            {"numeric": 0.01, "test_param": True},
        ),
        "Pyton receive": ("python-code.ipynb", PY_ENV, "python", ["R mixed with Python"], {}),
        "R notebook receive data": (
            "r-notebook-receive-data.ipynb",
            R_ENV,
            "r",
            ["R mixed with Python"],
            {},
        ),
        "R read data from file manager": (
            "r-read-data-from-file-manager.ipynb",
            R_ENV,
            "r",
            [],
            {},
        ),
    }
    uuids = {title: str(uuid.uuid4()) for title in steps}
    description = {
        "name": "Main",
        "parameters": {},
        "settings": {"auto_eviction": False, "data_passing_memory_size": "1GB"},
        "steps": {
            uuids[title]: {
                "environment": env,
                "file_path": file_path,
                "incoming_connections": [uuids[parent] for parent in parents],
                "kernel": {"display_name": kernel.capitalize(), "name": kernel},
                "meta_data": {"hidden": False, "position": [0, 0]},
                "parameters": parameters,
                "title": title,
                "uuid": uuids[title],
            }
            for title, (file_path, env, kernel, parents, parameters) in steps.items()
        },
        "uuid": str(uuid.uuid4()),
        "version": "1.0.0",
    }
    (project / "main.orchest").write_text(json.dumps(description, indent=4))


async def test_orchest_r_python_example_structure_runs(api, jp_root_dir, r_backend):
    write_r_python_mix(jp_root_dir / "mix")

    run = await run_pipeline(api, r_backend, path="mix/main.orchest")

    assert run["status"] == "SUCCESS", [(s["title"], s["message"]) for s in run["steps"]]
    assert "[1] 0.01" in notebook_outputs(run, "R mixed with Python")
    assert "python got 0.01" in notebook_outputs(run, "Pyton receive")
    assert "R got 0.01" in notebook_outputs(run, "R notebook receive data")
    assert "Hello World" in notebook_outputs(run, "R read data from file manager")


def test_kernel_names_stand_for_languages(jp_environ, jp_data_dir) -> None:
    """Orchest's ``r`` runs on any installed R kernel; ``julia`` with none installed fails
    naming what to install; ``python`` runs on python3 (pytest-jupyter hides the system's
    kernels, so only the ones written here and python3 are installed)."""
    log = logging.getLogger("test")
    with pytest.raises(KernelMissing, match=r"Kernel 'r' runs R and no R kernel is installed"):
        resolve_kernel("r", "python3", log)
    spec_dir = jp_data_dir / "kernels" / "my-r"
    spec_dir.mkdir(parents=True)
    kernel = {"argv": ["R", "{connection_file}"], "display_name": "R", "language": "R"}
    (spec_dir / "kernel.json").write_text(json.dumps(kernel))

    assert resolve_kernel("r", "python3", log)[:2] == ("my-r", "R")
    assert resolve_kernel("orchest-kernel-x", "python3", log, "r")[:2] == ("my-r", "R")
    assert resolve_kernel("python", "python3", log)[:2] == ("python3", "python")
    with pytest.raises(KernelMissing, match="Julia is not in the package registries"):
        resolve_kernel("julia", "python3", log)
