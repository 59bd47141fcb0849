"""Interactive sessions end to end: a real `jupyter server` with orchest_ext, a real Docker
engine, EG and kernel containers. Per run it measures the time from ``POST /launches`` to
RUNNING, from the kernel request (``POST /api/kernels`` at the session's server) to the
first execute result over the kernel websocket, and from ``DELETE`` until the session is
gone. Targets (medians): RUNNING <= 10 s, kernel ready <= 5 s. ``--backend both`` alternates
docker and swarm sessions (EG, server and kernels as swarm services) run by run, in the same
server, and reports each backend's medians and the swarm/docker ratios.

Needs the session images: ``jupyter orchest images build`` (swarm: and a swarm manager).
Usage: ``python bench/bench_launch.py [--runs 5] [--backend docker|swarm|both] [--json]``
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

import websocket
from _common import median, print_json, print_table, temp_dir

from tests.server import ServerProcess

TARGET_RUNNING = 10.0
TARGET_KERNEL = 5.0
POLL = 0.02


def call(base: str, token: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """One JSON request; (status, body), with status 0 when nothing answers."""
    request = urllib.request.Request(
        base + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")
    except OSError:
        return 0, None


def wait_running(server: ServerProcess, pipeline_uuid: str) -> dict[str, Any]:
    while True:
        code, launch = server.request("GET", f"/orchest/api/launches/{pipeline_uuid}")
        if code == 200 and launch["status"] == "RUNNING":
            return launch
        if code != 200 or launch["status"] == "FAILED":
            raise SystemExit(f"launch failed: {launch}")
        time.sleep(POLL)


def first_result(info: dict[str, Any]) -> float:
    """Seconds from requesting a kernel to the first execute_result of ``1 + 1``."""
    started = time.monotonic()
    code, kernel = call(info["url"], info["token"], "POST", "api/kernels", {"name": "python3"})
    if code != 201:
        raise SystemExit(f"kernel start failed ({code}): {kernel}")
    url = info["url"].replace("http", "ws", 1)
    ws = websocket.create_connection(
        f"{url}api/kernels/{kernel['id']}/channels?token={info['token']}", timeout=60
    )
    msg_id = uuid.uuid4().hex
    header = {"msg_id": msg_id, "msg_type": "execute_request", "session": msg_id, "version": "5.3"}
    content = {"code": "1 + 1", "silent": False, "store_history": True, "user_expressions": {}}
    ws.send(
        json.dumps(
            {
                "header": header,
                "parent_header": {},
                "metadata": {},
                "content": content,
                "channel": "shell",
                "buffers": [],
            }
        )
    )
    while True:
        message = json.loads(ws.recv())
        if (
            message["msg_type"] == "execute_result"
            and message["parent_header"].get("msg_id") == msg_id
        ):
            elapsed = time.monotonic() - started
            ws.close()
            return elapsed


def stop(server: ServerProcess, pipeline_uuid: str) -> float:
    started = time.monotonic()
    server.request("DELETE", f"/orchest/api/launches/{pipeline_uuid}")
    while server.request("GET", f"/orchest/api/launches/{pipeline_uuid}")[0] != 404:
        time.sleep(POLL)
    return time.monotonic() - started


def one_run(server: ServerProcess, backend: str) -> tuple[float, float, float]:
    pipeline_uuid = str(uuid.uuid4())
    started = time.monotonic()
    body = {"pipeline_uuid": pipeline_uuid, "pipeline_dir": "pipeline", "backend": backend}
    code, launch = server.request("POST", "/orchest/api/launches", body)
    if code != 202:
        raise SystemExit(f"POST /launches answered {code}: {launch}")
    launch = wait_running(server, pipeline_uuid)
    running = time.monotonic() - started
    kernel = first_result(launch["server_info"])
    return running, kernel, stop(server, pipeline_uuid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--backend", choices=["docker", "swarm", "both"], default="docker")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    backends = ["docker", "swarm"] if args.backend == "both" else [args.backend]
    by_backend: dict[str, list[tuple[float, float, float]]] = {name: [] for name in backends}
    with temp_dir("orchest-bench-launch-") as tmp:
        (tmp / "root" / "pipeline").mkdir(parents=True)
        server = ServerProcess(tmp / "root", tmp / "state").start()
        try:
            for _ in range(args.runs):
                for name in backends:
                    by_backend[name].append(one_run(server, name))
        finally:
            server.stop()
    if args.backend == "both":
        compare(by_backend, args.json)
        return
    runs = by_backend[args.backend]
    running, kernel, stopping = (median(column) for column in zip(*runs, strict=True))
    result = {
        "runs": args.runs,
        "post_to_running_s": [r[0] for r in runs],
        "kernel_request_to_result_s": [r[1] for r in runs],
        "delete_to_gone_s": [r[2] for r in runs],
        "median_post_to_running_s": running,
        "median_kernel_request_to_result_s": kernel,
        "median_delete_to_gone_s": stopping,
        "running_target_met": running <= TARGET_RUNNING,
        "kernel_target_met": kernel <= TARGET_KERNEL,
    }
    if args.json:
        print_json(result)
        return
    rows = [(index + 1, *run) for index, run in enumerate(runs)]
    rows.append(("median", running, kernel, stopping))
    print_table(["run", "POST->RUNNING s", "kernel->result s", "DELETE->gone s"], rows)
    verdict = {True: "met", False: "MISSED"}
    print(
        f"targets: RUNNING <= {TARGET_RUNNING:g} s: {verdict[running <= TARGET_RUNNING]}; "
        f"kernel ready <= {TARGET_KERNEL:g} s: {verdict[kernel <= TARGET_KERNEL]}"
    )


def compare(by_backend: dict[str, list[tuple[float, float, float]]], as_json: bool) -> None:
    """Medians per backend and the swarm/docker ratios."""
    medians = {
        name: [median(column) for column in zip(*runs, strict=True)]
        for name, runs in by_backend.items()
    }
    ratios = [s / d for s, d in zip(medians["swarm"], medians["docker"], strict=True)]
    if as_json:
        print_json({"runs": by_backend, "medians": medians, "swarm_over_docker": ratios})
        return
    rows = [(name, *values) for name, values in medians.items()]
    rows.append(("swarm/docker", *ratios))
    print_table(["median", "POST->RUNNING s", "kernel->result s", "DELETE->gone s"], rows)


if __name__ == "__main__":
    main()
