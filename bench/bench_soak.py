"""Soak: many small runs submitted over a long time by one submitter while clients poll them,
with a fault injected at a fixed interval (the server SIGKILLed and started again on the same
store, then the Docker engine restarted, in turn). Afterwards: no run stuck non-terminal, no
client saw a run's ``seq`` go back or repeat with a different state, no container or step
process left, and the server's memory over its lifetimes.

Needs Docker and the step image for the docker share of runs (``--docker-share 0`` without).
The dockerd restarts stop and start the engine DOCKER_HOST names, found by its pid file
(``--engine-pid-file``): on a shared machine, start a second dockerd of the soak's own (see
bench/README.md) rather than restarting everyone's. The full soak is ``--runs 5000
--duration 600 --fault-every 60`` (the defaults).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from _common import REPO_ROOT  # noqa: F401  (puts this checkout first on sys.path)

from tests.docker_support import project_containers
from tests.engine_support import DOCKERD_PID_FILE, restart_dockerd
from tests.helpers import make_pipeline
from tests.server import TERMINAL, ServerProcess

API = "/orchest/api"
RETRY_PAUSE = 0.5
RETRIED = {503, 507, "URLError", "ConnectionResetError", "RemoteDisconnected", "TimeoutError"}
"""Refusals that acknowledged nothing (server down or engine away): the POST is sent again."""


@dataclass
class Soak:
    """What the threads share: the live server, the runs acknowledged, what clients saw."""

    server: ServerProcess
    lock: threading.Lock = field(default_factory=threading.Lock)
    runs: list[str] = field(default_factory=list)
    refused: Counter = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    polls: int = 0
    poll_errors: int = 0
    rss: list[tuple[int, float, float]] = field(default_factory=list)
    """(server lifetime, seconds since it started, RSS MiB)."""
    lifetime: int = 0
    faults: list[tuple[float, str, float]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return self.server.request(method, path, body)


def submitter(soak: Soak, total: int, duration: float, docker_share: float, seed: int) -> None:
    """POST runs until ``total`` are acknowledged, paced to spread them over ``duration``
    seconds (later if the server cannot keep up). A POST refused because the server is down
    or the engine away (connection error, 503, 507) acknowledged nothing: it is counted and
    sent again."""
    rng = random.Random(seed)
    started = time.monotonic()
    for index in range(total):
        time.sleep(max(0.0, started + index * duration / total - time.monotonic()))
        backend = "docker" if rng.random() < docker_share else "local"
        body = {"pipeline_path": "soak/pipeline.orchest", "backend": backend}
        while not soak.stop.is_set():
            try:
                code, run = soak.request("POST", f"{API}/runs", body)
            except OSError as err:
                code, run = type(err).__name__, None
            if code == 202:
                with soak.lock:
                    soak.runs.append(run["id"])
                break
            soak.refused[f"{backend}: {code}"] += 1
            if code not in RETRIED:
                break
            time.sleep(RETRY_PAUSE)


def poller(soak: Soak, seed: int, interval: float) -> None:
    """Poll random acknowledged runs every ``interval`` seconds; a run's ``seq`` must never go
    back, and one ``seq`` must always show the same status."""
    rng = random.Random(seed)
    seen: dict[str, tuple[int, str]] = {}
    while not soak.stop.wait(interval):
        with soak.lock:
            run_id = rng.choice(soak.runs) if soak.runs else None
        if run_id is None:
            time.sleep(0.1)
            continue
        try:
            code, run = soak.request("GET", f"{API}/runs/{run_id}")
        except OSError:
            soak.poll_errors += 1
            time.sleep(0.2)
            continue
        soak.polls += 1
        if code != 200:
            soak.violations.append(f"GET runs/{run_id} answered {code}: {run}")
            continue
        state = (run["seq"], run["status"])
        before = seen.get(run_id)
        if before and (state[0] < before[0] or (state[0] == before[0] and state != before)):
            soak.violations.append(f"run {run_id}: seq/status {before} then {state}")
        seen[run_id] = state


def sample_memory(soak: Soak) -> None:
    while not soak.stop.wait(5):
        process = soak.server.process
        try:
            server = psutil.Process(process.pid)
            if server.status() == psutil.STATUS_ZOMBIE:
                continue
            rss = server.memory_info().rss / 2**20
            since = time.time() - server.create_time()
        except (psutil.Error, AttributeError):
            continue
        soak.rss.append((soak.lifetime, since, rss))


def inject(soak: Soak, kind: str, make_server: Any, engine_pid_file: Path) -> float:
    """One fault; returns how long the service was away (s)."""
    started = time.monotonic()
    if kind == "server":
        soak.server.kill()
        server = make_server()
        server.start(timeout=120)
        soak.lifetime += 1
        soak.server = server
    else:
        restart_dockerd(engine_pid_file)
    return time.monotonic() - started


def drain(soak: Soak, timeout: float) -> list[str]:
    """Wait for every acknowledged run to end; the ones still not terminal at the deadline."""
    deadline = time.monotonic() + timeout
    pending = list(soak.runs)
    while pending and time.monotonic() < deadline:
        still = []
        for run_id in pending:
            code, run = soak.request("GET", f"{API}/runs/{run_id}")
            if code != 200 or run["status"] not in TERMINAL:
                still.append(run_id)
        pending = still
        if pending:
            time.sleep(2)
    return pending


def unfinished_in_store(soak: Soak) -> int:
    """Runs the server lists as PENDING or STARTED, acknowledged or not (a POST cut by a
    fault may have stored a run its client never heard of)."""
    found = 0
    for status in ("PENDING", "STARTED"):
        code, page = soak.request("GET", f"{API}/runs?status={status}&limit=1")
        found += page["total"] if code == 200 else 1
    return found


def leftovers(pipeline_uuid: str, root: Path) -> dict[str, int]:
    containers = [
        c
        for c in project_containers(f"orchest_ext.pipeline_uuid={pipeline_uuid}")
        if c["State"] == "running"
    ]
    processes = [
        p
        for p in psutil.process_iter(["cmdline"])
        if any(str(root) in part for part in (p.info["cmdline"] or []))
        and "jupyter_server" not in " ".join(p.info["cmdline"] or [])
    ]
    return {"running_containers": len(containers), "step_processes": len(processes)}


def memory_summary(soak: Soak) -> list[dict[str, Any]]:
    """Per server lifetime: RSS after its first minute and at its end, in MiB."""
    rows = []
    for lifetime in sorted({sample[0] for sample in soak.rss}):
        samples = [(since, rss) for life, since, rss in soak.rss if life == lifetime]
        warm = [rss for since, rss in samples if since >= 60] or [rss for _, rss in samples]
        rows.append(
            {
                "lifetime": lifetime,
                "samples": len(samples),
                "first_mib": round(warm[0], 1),
                "last_mib": round(warm[-1], 1),
                "max_mib": round(max(warm), 1),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of submitting")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--fault-every", type=float, default=60.0)
    parser.add_argument("--docker-share", type=float, default=0.05)
    parser.add_argument("--max-parallel", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--poll-interval", type=float, default=0.1, help="seconds per client")
    parser.add_argument("--drain-timeout", type=float, default=1800.0)
    parser.add_argument(
        "--engine-pid-file",
        type=Path,
        default=DOCKERD_PID_FILE,
        help="pid file of the dockerd DOCKER_HOST names (restarted by the engine faults)",
    )
    parser.add_argument(
        "--docker-network", default=None, help="network of step containers (none: no network)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if os.environ.get("DOCKER_HOST") and args.engine_pid_file == DOCKERD_PID_FILE:
        parser.error("DOCKER_HOST is set: name that engine's pid file with --engine-pid-file")

    workdir = Path(tempfile.mkdtemp(prefix="orchest-soak-"))
    root, state = workdir / "root", workdir / "state"
    _, _ = make_pipeline(root / "soak", {"A": ("a.sh", "echo soak\n", [])})
    pipeline_uuid = json.loads((root / "soak" / "pipeline.orchest").read_text())["uuid"]
    extra = [f"--OrchestApp.max_parallel={args.max_parallel}", "--OrchestApp.server_lease=2"]
    if args.docker_network:
        extra.append(f"--DockerExecutor.network={args.docker_network}")

    def make_server() -> ServerProcess:
        return ServerProcess(root, state, extra_args=extra)

    soak = Soak(make_server().start(timeout=120))
    threads = [
        threading.Thread(
            target=submitter,
            args=(soak, args.runs, args.duration, args.docker_share, args.seed),
        ),
        threading.Thread(target=sample_memory, args=(soak,), daemon=True),
        *(
            threading.Thread(
                target=poller, args=(soak, args.seed + i, args.poll_interval), daemon=True
            )
            for i in range(args.clients)
        ),
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    kinds = ["server", "engine"]
    while threads[0].is_alive():
        threads[0].join(timeout=args.fault_every)
        if threads[0].is_alive():
            kind = kinds[len(soak.faults) % 2]
            at = time.monotonic() - started
            away = inject(soak, kind, make_server, args.engine_pid_file)
            soak.faults.append((round(at, 1), kind, round(away, 1)))
    submitted = time.monotonic() - started
    stuck = drain(soak, args.drain_timeout)
    drained = time.monotonic() - started
    soak.stop.set()
    statuses, failures = Counter(), Counter()
    for run_id in soak.runs:
        code, run = soak.request("GET", f"{API}/runs/{run_id}")
        statuses[run["status"] if code == 200 else f"HTTP {code}"] += 1
        if code == 200 and run["status"] != "SUCCESS":
            failures[f"{run['backend']}: {(run['steps'][0]['message'] or '')[:90]}"] += 1
    report = {
        "submitted_over_s": round(submitted, 1),
        "all_ended_after_s": round(drained, 1),
        "acknowledged": len(soak.runs),
        "acknowledged_per_s": round(len(soak.runs) / submitted, 2),
        "refused": dict(soak.refused),
        "final_statuses": dict(statuses),
        "why_not_success": dict(failures),
        "stuck_non_terminal": len(stuck),
        "unfinished_in_store": unfinished_in_store(soak),
        "faults (at s, kind, away s)": soak.faults,
        "polls": soak.polls,
        "poll_connection_errors": soak.poll_errors,
        "seq_violations": len(soak.violations),
        "first_violations": soak.violations[:5],
        "leftovers": leftovers(pipeline_uuid, root),
        "server_rss_per_lifetime": memory_summary(soak),
        "rss_median_mib": round(statistics.median(r for _, _, r in soak.rss), 1)
        if soak.rss
        else None,
    }
    soak.server.stop()
    shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(report, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
