"""A kernel template process: ipykernel and what a kernel imports while it starts are imported
once, no thread is started, and each request forks one kernel.

Run by path by ``fork_template.KernelTemplate`` (``python kernel_template.py FD``), with the
environment every forked kernel must share (``PYTHON*``, locale...). ``FD`` is a
``SOCK_SEQPACKET`` socket. It answers ``{"ready": pid}`` once imported, then reads requests:
a JSON ``{"args", "cwd", "env"}`` (``args``: what follows ``-m ipykernel_launcher``) with
three descriptors (a reply socket, the kernel's stdout, its stderr). For each it forks a
kernel in a session of its own and sends ``{"pid": pid}`` with a pidfd of it on the reply
socket, then ``{"status": exit code}`` once it reaped it.
When the socket closes (the server stopped or died) it kills its kernels and exits.

Only the standard library is imported before ipykernel: this file runs outside the package.
"""

import sys

# Run by path, so sys.path[0] is this directory, whose modules (docker.py...) must not shadow
# others; a kernel started by `python -m ipykernel_launcher` gets the rest of this path.
del sys.path[0]

import atexit  # noqa: E402
import contextlib  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import selectors  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

MAX_MESSAGE = 1 << 20
PRELOAD = (
    "ipykernel.kernelapp",
    "ipykernel.debugger",
    "IPython.core.completerlib",
    "psutil",
    "tornado.gen",
    "tornado.locks",
    "tornado.queues",
    "tornado.platform.asyncio",
    "faulthandler",
)
"""Imported here: what a kernel imports while it starts (ipykernel 6-7, IPython 8-9)."""
LAUNCHER = ""
"""The path of ``ipykernel_launcher``: a kernel's ``sys.argv[0]``."""


def preload() -> None:
    """Import what a kernel imports while it starts; a module that is missing is skipped."""
    import importlib
    import importlib.util

    global LAUNCHER
    spec = importlib.util.find_spec("ipykernel_launcher")
    LAUNCHER = spec.origin if spec is not None and spec.origin else "ipykernel_launcher"
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            if name == PRELOAD[0]:
                raise
    if threading.active_count() != 1 or len(os.listdir("/proc/self/task")) != 1:
        raise RuntimeError("importing ipykernel started a thread: forking is not safe")


class Template:
    """The fork loop: requests on ``control``, exits reaped on SIGCHLD."""

    def __init__(self, control: socket.socket) -> None:
        self.control = control
        self.children: dict[int, socket.socket] = {}
        self.wakeup_r, self.wakeup_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.selector = selectors.DefaultSelector()

    def serve(self) -> None:
        signal.set_wakeup_fd(self.wakeup_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.selector.register(self.control, selectors.EVENT_READ)
        self.selector.register(self.wakeup_r, selectors.EVENT_READ)
        while True:
            for key, _ in self.selector.select():
                if key.fileobj is self.control:
                    if not self.request():
                        self.stop()
                        return
                else:
                    self.reap()

    def request(self) -> bool:
        """Fork the kernel of one request; False once the server is gone."""
        try:
            message, fds, _, _ = socket.recv_fds(self.control, MAX_MESSAGE, 3)
        except (ConnectionError, OSError):
            return False
        if not message:
            return False
        if len(fds) != 3:
            for fd in fds:
                os.close(fd)
            return True
        reply = socket.socket(fileno=fds[0])
        try:
            pid, pidfd = self.fork(json.loads(message), fds[1], fds[2], reply)
        except Exception as err:
            self.send(reply, {"error": f"{type(err).__name__}: {err}"})
            reply.close()
            return True
        finally:
            os.close(fds[1])
            os.close(fds[2])
        self.children[pid] = reply
        with contextlib.suppress(OSError):
            socket.send_fds(reply, [json.dumps({"pid": pid}).encode()], [pidfd])
        os.close(pidfd)
        return True

    def fork(self, request: dict, stdout: int, stderr: int, reply: socket.socket) -> tuple:
        """Fork; the child becomes the kernel. Returns once the child has its own session."""
        sys.stdout.flush()
        sys.stderr.flush()
        session_r, session_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(session_r)
            run_kernel(self, request, stdout, stderr, session_w)
        os.close(session_w)
        os.read(session_r, 1)
        os.close(session_r)
        return pid, os.pidfd_open(pid)

    def reap(self) -> None:
        """Report and forget the kernels that exited."""
        try:
            while os.read(self.wakeup_r, 512):
                pass
        except BlockingIOError:
            pass
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            reply = self.children.pop(pid, None)
            if reply is not None:
                self.send(reply, {"status": os.waitstatus_to_exitcode(status)})
                reply.close()

    def stop(self) -> None:
        """The server is gone: kill every kernel forked here (each is a session leader)."""
        for pid in self.children:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
        while self.children:
            try:
                pid, _ = os.waitpid(-1, 0)
            except ChildProcessError:
                return
            self.children.pop(pid, None)

    def close_in_child(self) -> None:
        """Close everything of the template's in a forked kernel."""
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        self.selector.close()
        self.control.close()
        for reply in self.children.values():
            reply.close()
        os.close(self.wakeup_r)
        os.close(self.wakeup_w)

    @staticmethod
    def send(reply: socket.socket, message: dict) -> None:
        with contextlib.suppress(OSError):
            reply.send(json.dumps(message).encode())


def run_kernel(template: Template, request: dict, stdout: int, stderr: int, session: int) -> None:
    """In the forked child: become the kernel ``python -m ipykernel_launcher ...`` would be, in
    the request's directory and environment; never returns."""
    code = 1
    try:
        os.setsid()
        os.close(session)
        template.close_in_child()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(stdout, 1)
        os.dup2(stderr, 2)
        for fd in (devnull, stdout, stderr):
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ["JPY_PARENT_PID"] = str(os.getppid())
        time.tzset()
        sys.argv = [LAUNCHER, *request["args"]]
        from ipykernel.kernelapp import IPKernelApp

        IPKernelApp.launch_instance(parent_handle=os.getppid())
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        # What the interpreter does when a script ends: join threads, then atexit handlers.
        try:
            threading._shutdown()  # type: ignore[attr-defined]
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    try:
        preload()
    except BaseException as err:
        control.send(json.dumps({"error": f"{type(err).__name__}: {err}"}).encode())
        raise SystemExit(1) from None
    gc.collect()
    gc.freeze()
    sys.argv = sys.argv[:1]
    control.send(json.dumps({"ready": os.getpid()}).encode())
    Template(control).serve()


if __name__ == "__main__":
    main()
