"""orchest_ext: run notebook pipelines and launch pipeline sessions from Jupyter Server."""

__version__ = "0.1.0"


def _jupyter_server_extension_points() -> list[dict]:
    from .app import OrchestApp

    return [{"module": "orchest_ext.app", "app": OrchestApp}]
