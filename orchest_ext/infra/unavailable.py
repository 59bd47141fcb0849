"""The error every backend raises when it cannot take work: shared by the Docker engine
client, the executors and the session manager, and mapped to 503 by the web layer."""


class ExecutorUnavailable(Exception):
    """The backend cannot accept work right now (e.g. the Docker engine is unreachable)."""
