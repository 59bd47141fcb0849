"""Sphinx configuration of the orchest_ext documentation (MyST Markdown, PyData theme).

The configuration reference, the REST reference and the event schemas are generated at every
build from the package itself (docs/_ext/), so they cannot drift from the code."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent))  # document this checkout's orchest_ext

import orchest_ext  # noqa: E402

project = "orchest_ext"
author = "orchest_ext contributors"
copyright = "orchest_ext contributors"
version = release = orchest_ext.__version__

extensions = [
    "myst_parser",
    "sphinx_copybutton",
    "config_reference",
    "rest_reference",
    "event_reference",
    "cli_reference",
]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
exclude_patterns = ["_build", "_generated"]

html_theme = "pydata_sphinx_theme"
html_title = "orchest_ext"
html_static_path: list[str] = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_context = {"default_mode": "auto"}
