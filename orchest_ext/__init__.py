"""orchest_ext: run notebook pipelines and launch pipeline sessions from Jupyter Server."""

__version__ = "0.1.0"


def _jupyter_server_extension_points() -> list[dict]:
    from .app import OrchestApp

    return [{"module": "orchest_ext.app", "app": OrchestApp}]


def _jupyter_labextension_paths() -> list[dict]:
    """Where the prebuilt JupyterLab extension lives (for `jupyter labextension develop`)."""
    return [{"src": "labextension", "dest": "orchest-ext"}]
