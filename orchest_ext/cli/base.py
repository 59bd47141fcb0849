"""The base of `jupyter orchest` and its subcommands: the server extension's config files."""

from __future__ import annotations

from jupyter_core.application import JupyterApp
from traitlets.config import Application
from traitlets.config.loader import ConfigFileNotFound

from .. import __version__

CONFIG_FILE_NAME = "jupyter_orchest_ext_config"
"""The extension's own config file (``OrchestApp``'s): ``--generate-config`` writes it."""
SERVER_CONFIG_FILE_NAME = "jupyter_server_config"


class CLIApp(JupyterApp):
    """Base of `jupyter orchest` and its subcommands: the server extension's config files,
    with the same priority (``jupyter_config`` < the extension's file < Jupyter Server's file <
    the command line)."""

    version = __version__
    config_file_name = CONFIG_FILE_NAME

    def load_config_file(self, suppress_errors: bool = True) -> None:
        super().load_config_file(suppress_errors)
        try:
            Application.load_config_file(self, SERVER_CONFIG_FILE_NAME, path=self.config_file_paths)
        except ConfigFileNotFound:
            pass
        except Exception:
            if not suppress_errors or self.raise_config_file_errors:
                raise
            self.log.warning(
                "Error loading config file: %s", SERVER_CONFIG_FILE_NAME, exc_info=True
            )


class CommandGroup(CLIApp):
    """A command whose work its subcommands do: without one it prints its help and exits 2."""

    def start(self) -> None:
        super().start()
        self.print_help()
        self.exit(2)


def one_argument(app: CLIApp, what: str) -> str:
    """The one positional argument of ``app`` (exit 2 naming ``what`` unless there is one)."""
    if len(app.extra_args) != 1:
        app.log.critical("%s takes one %s, got %d", app.name, what, len(app.extra_args))
        app.exit(2)
    return app.extra_args[0]
