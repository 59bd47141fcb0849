"""Where the store lives unless configured otherwise: one file shared by the server and
`jupyter orchest run`, so runs from the terminal are part of the history the server shows."""

from __future__ import annotations

from pathlib import Path

from jupyter_core.paths import jupyter_data_dir


def default_db_path() -> str:
    """``<jupyter data dir>/orchest_ext/orchest.db`` (``c.OrchestApp.db_path`` overrides it)."""
    return str(Path(jupyter_data_dir()) / "orchest_ext" / "orchest.db")
