"""The structure of Orchest's published multi-language example ("Polyglot: Python, Julia and
R in one pipeline", ricklamers/orchest-multi-language-pipeline): three independent notebook
steps, each in an Orchest environment of its language (kernel names ``python``, ``r``,
``julia``; notebooks saved with Orchest's ``orchest-kernel-<environment uuid>`` kernelspecs),
each printing its language's name. The repository names no licence, so it is recreated here,
not copied; the project itself, checked out unmodified, ran the same way (see docs/user/r.md).
Julia cannot be installed here: its step fails naming it, the others succeed."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from .helpers import steps_by_title
from .test_data_passing import notebook_outputs, run_pipeline
from .test_r_steps import orchest_notebook, r_backend  # noqa: F401

LANGUAGES = {
    # title: (notebook, environment name, Orchest kernel name, language, code)
    "R step": ("My R Notebook.ipynb", "R", "r", "r", 'print("R")'),
    "Python step": ("My Python Notebook.ipynb", "Python 3", "python", "python", 'print("Python")'),
    "Julia step": ("My Julia Notebook.ipynb", "Julia", "julia", "julia", 'print("Julia")'),
}
BASE_IMAGES = {"r": "orchest/base-kernel-r", "python": "orchest/base-kernel-py"}


def write_polyglot(project: Path) -> None:
    """The example's environments, notebooks and ``main.orchest``, as Orchest wrote them."""
    steps = {}
    for title, (file_path, env_name, kernel, language, code) in LANGUAGES.items():
        env = str(uuid.uuid4())
        directory = project / ".orchest" / "environments" / env
        directory.mkdir(parents=True)
        properties = {
            "name": env_name,
            "gpu_support": False,
            "base_image": BASE_IMAGES.get(language, f"orchest/base-kernel-{language}"),
            "uuid": env,
            "language": language,
        }
        (directory / "properties.json").write_text(json.dumps(properties))
        (directory / "setup_script.sh").write_text("#!/bin/bash\n\n# Install dependencies.\n")
        (project / file_path).write_text(orchest_notebook(code, "", env=env, language=language))
        step = str(uuid.uuid4())
        steps[step] = {
            "environment": env,
            "file_path": file_path,
            "incoming_connections": [],
            "kernel": {"display_name": env_name, "name": kernel},
            "meta_data": {"hidden": False, "position": [126, 150]},
            "parameters": {},
            "title": title,
            "uuid": step,
        }
    description = {
        "name": "All The Languages",
        "parameters": {},
        "settings": {"auto_eviction": False, "data_passing_memory_size": "1GB"},
        "steps": steps,
        "uuid": str(uuid.uuid4()),
        "version": "1.0.0",
    }
    (project / "main.orchest").write_text(json.dumps(description, indent=4))


async def test_the_polyglot_example_runs_its_r_and_python_steps(
    api,
    jp_root_dir,
    r_backend,  # noqa: F811
):
    write_polyglot(jp_root_dir / "polyglot")

    run = await run_pipeline(api, r_backend, path="polyglot/main.orchest")

    steps = steps_by_title(run)
    assert steps["R step"]["status"] == "SUCCESS", steps["R step"]["message"]
    assert steps["Python step"]["status"] == "SUCCESS", steps["Python step"]["message"]
    # R prints a character vector as `[1] "R"`; Python would print `R`.
    assert notebook_outputs(run, "R step") == '[1] "R"\n'
    assert notebook_outputs(run, "Python step") == "Python\n"
    assert steps["Julia step"]["status"] == "FAILURE"
    assert "Julia" in steps["Julia step"]["message"], steps["Julia step"]["message"]
