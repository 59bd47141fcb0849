"""The REST API under load, through a real `jupyter server`. With 1,000 runs stored and a
100-step run in flight, 20 concurrent clients each send a mix of `GET runs`, `GET runs/{id}`
and `POST runs` (a one-step `.sh` pipeline); the p50/p99 latency of each kind is compared with
the same requests sent by one client to the same server with no run in flight (the baseline).
Targets: p99 of `GET runs` < 50 ms, `GET runs/{id}` < 20 ms, `POST runs` < 100 ms. Three loads,
each on connections opened beforehand: clients that send their next request as soon as the
answer arrives (always 20 requests in the server); clients that wait ``--think`` seconds
(default 0.1: views polling at 10 Hz, out of phase); and bursts in which every client sends
one request at the same instant (views polling in phase).

Memory: the server's peak RSS (sampled every 50 ms) while a 1,000-step run (a seeded random
DAG of `.sh` steps) goes from POST to SUCCESS, against its RSS before; target < 150 MiB.

The 1,000 stored runs are written beforehand by a RunManager in this process (a one-step run
each, its step doing nothing) into the store the server then opens."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from _common import (
    chain,
    pipeline_dict,
    print_json,
    print_table,
    random_dag,
    temp_dir,
    write_pipeline,
)
from bench_scheduler import NoopExecutor

from orchest_ext.pipeline import load_pipeline
from orchest_ext.runs import RunManager
from orchest_ext.store import Store
from tests.server import TERMINAL, ServerProcess

TARGET_P99_MS = {"GET runs": 50.0, "GET runs/{id}": 20.0, "POST runs": 100.0}
TARGET_RSS_MIB = 150.0
API = "/orchest/api"


def sh_pipeline(directory: Path, parents: list[list[int]], command: str) -> str:
    """A pipeline of ``.sh`` steps running ``command`` with the given DAG; its path below root."""
    directory.mkdir(parents=True)
    files = [f"s{index}.sh" for index in range(len(parents))]
    for name in files:
        (directory / name).write_text(f"{command}\n")
    write_pipeline(directory, pipeline_dict(parents, files))
    return f"{directory.name}/pipeline.orchest"


async def store_runs(root: Path, db: Path, path: str, count: int) -> list[str]:
    """Write ``count`` finished one-step runs of ``path`` into the store at ``db``."""
    store = Store(db)
    await store.open()
    manager = RunManager(
        store=store, executors={"local": NoopExecutor()}, emit=lambda *_: None, root_dir=str(root)
    )
    pipeline = load_pipeline(root / path)
    ids = []
    for _ in range(count):
        run = await manager.submit(pipeline)
        await manager.wait(run.id)
        ids.append(run.id)
    await manager.shutdown()
    await store.close()
    return ids


async def client(
    session: aiohttp.ClientSession,
    server: ServerProcess,
    run_ids: list[str],
    post_path: str,
    requests: int,
    offset: int,
    clients: int,
    samples: dict[str, list[float]],
    think: float,
) -> None:
    """Send ``requests`` requests, cycling GET runs, GET runs/{id}, GET runs/{id}, POST runs,
    waiting ``think`` seconds after each answer. A polling client (``think`` > 0) starts at
    its own phase of the period, ``offset / clients`` of it, as independent views do (``burst``
    measures requests sent at the very same instant)."""
    await asyncio.sleep(think * offset / clients)
    for index in range(requests):
        await timed_request(session, server, run_ids, post_path, index, offset, samples)
        await asyncio.sleep(think)


async def timed_request(
    session: aiohttp.ClientSession,
    server: ServerProcess,
    run_ids: list[str],
    post_path: str,
    index: int,
    offset: int,
    samples: dict[str, list[float]],
) -> None:
    """Request number ``index`` of client ``offset``; its latency (ms) goes to ``samples``."""
    kind = ("GET runs", "GET runs/{id}", "GET runs/{id}", "POST runs")[(index + offset) % 4]
    run_id = run_ids[(index * 7 + offset) % len(run_ids)]
    url = server.url + API + (f"/runs/{run_id}" if kind == "GET runs/{id}" else "/runs")
    headers = {"Authorization": f"token {server.token}"}
    start = time.perf_counter()
    if kind == "POST runs":
        response = await session.post(url, json={"pipeline_path": post_path}, headers=headers)
    else:
        response = await session.get(url, headers=headers)
    await response.read()
    samples[kind].append((time.perf_counter() - start) * 1000)
    assert response.status in (200, 202), (kind, response.status)


async def open_connections(
    session: aiohttp.ClientSession, server: ServerProcess, count: int
) -> None:
    """Open ``count`` connections to the server (untimed): set-up is not what is measured."""
    headers = {"Authorization": f"token {server.token}"}

    async def one() -> None:
        async with session.get(server.url + API + "/backends", headers=headers) as response:
            await response.read()

    await asyncio.gather(*(one() for _ in range(count)))


async def load(
    server: ServerProcess,
    run_ids: list[str],
    post_path: str,
    clients: int,
    requests: int,
    think: float = 0.0,
) -> dict[str, list[float]]:
    """Latencies (ms) per request kind from ``clients`` concurrent clients."""
    samples: dict[str, list[float]] = {kind: [] for kind in TARGET_P99_MS}
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        await open_connections(session, server, clients)
        await asyncio.gather(
            *(
                client(
                    session, server, run_ids, post_path, requests, offset, clients, samples, think
                )
                for offset in range(clients)
            )
        )
    return samples


async def burst(
    server: ServerProcess, run_ids: list[str], post_path: str, clients: int, rounds: int
) -> dict[str, list[float]]:
    """Latencies (ms) per request kind when ``clients`` clients send one request each at the
    same instant, ``rounds`` times, 0.2 s apart: the worst case of polling views in phase."""
    samples: dict[str, list[float]] = {kind: [] for kind in TARGET_P99_MS}
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        await open_connections(session, server, clients)
        for index in range(rounds):
            await asyncio.gather(
                *(
                    timed_request(session, server, run_ids, post_path, index, offset, samples)
                    for offset in range(clients)
                )
            )
            await asyncio.sleep(0.2)
    return samples


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def wait_terminal(server: ServerProcess, run_id: str, timeout: float = 900) -> dict[str, Any]:
    run = server.wait_for_run(run_id, timeout)
    assert run["status"] == "SUCCESS", run["status"]
    return run


def post(server: ServerProcess, path: str) -> str:
    code, run = server.request("POST", f"{API}/runs", {"pipeline_path": path})
    assert code == 202, run
    return run["id"]


def drain_active(server: ServerProcess, timeout: float = 600) -> None:
    """Wait until no run on the server is PENDING or STARTED."""
    deadline = time.monotonic() + timeout
    for status in ("PENDING", "STARTED"):
        while True:
            code, page = server.request("GET", f"{API}/runs?status={status}&limit=1")
            assert code == 200, page
            if page["total"] == 0:
                break
            assert time.monotonic() < deadline, f"{page['total']} runs still {status}"
            time.sleep(0.2)


def peak_rss(process: psutil.Process, stop: threading.Event, peak: list[float]) -> None:
    """Sample ``process``'s RSS every 50 ms into ``peak[0]`` (MiB) until ``stop`` is set."""
    while not stop.wait(0.05):
        peak[0] = max(peak[0], process.memory_info().rss / 2**20)


def memory(server: ServerProcess, path: str) -> dict[str, float]:
    """RSS before, and peak RSS while a run of ``path`` goes from POST to SUCCESS."""
    process = psutil.Process(server.process.pid)
    before = process.memory_info().rss / 2**20
    peak = [before]
    stop = threading.Event()
    sampler = threading.Thread(target=peak_rss, args=(process, stop, peak))
    sampler.start()
    try:
        started = time.perf_counter()
        wait_terminal(server, post(server, path))
        elapsed = time.perf_counter() - started
    finally:
        stop.set()
        sampler.join()
    return {"rss_before_mib": before, "rss_peak_mib": peak[0], "run_s": elapsed}


def summarize(loaded: dict, baseline: dict) -> list[dict[str, Any]]:
    rows = []
    for kind, target in TARGET_P99_MS.items():
        p99, base99 = percentile(loaded[kind], 99), percentile(baseline[kind], 99)
        rows.append(
            {
                "request": kind,
                "n": len(loaded[kind]),
                "base_p50_ms": statistics.median(baseline[kind]),
                "base_p99_ms": base99,
                "p50_ms": statistics.median(loaded[kind]),
                "p99_ms": p99,
                "p99_ratio": p99 / base99,
                "target_p99_ms": target,
                "met": p99 <= target,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stored", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=40, help="per client")
    parser.add_argument("--big", type=int, default=1000, help="steps of the memory run")
    parser.add_argument(
        "--think", type=float, default=0.1, help="seconds a client waits in the second load"
    )
    args = parser.parse_args()
    with temp_dir("bench-api-load-") as directory:
        root, db = directory / "root", directory / "orchest.db"
        one = sh_pipeline(root / "one", [[]], "true")
        inflight = sh_pipeline(root / "inflight", chain(100), "sleep 0.2")
        big = sh_pipeline(root / "big", random_dag(args.big, seed=11), "true")
        started = time.perf_counter()
        run_ids = asyncio.run(store_runs(root, db, one, args.stored))
        stored_s = time.perf_counter() - started
        server = ServerProcess(root, directory / "state", db_path=db).start()
        try:
            baseline = asyncio.run(load(server, run_ids, one, 1, 5 * args.requests))
            drain_active(server)
            flight = post(server, inflight)
            loads = {
                "sending back to back": load(server, run_ids, one, args.clients, args.requests),
                f"polling every {args.think * 1000:.0f} ms": load(
                    server, run_ids, one, args.clients, args.requests, args.think
                ),
                "sending at the same instant, in 10 bursts 0.2 s apart": burst(
                    server, run_ids, one, args.clients, 10
                ),
            }
            loaded, still_running = {}, {}
            for name, measure in loads.items():
                loaded[name] = asyncio.run(measure)
                _, run = server.request("GET", f"{API}/runs/{flight}")
                still_running[name] = run["status"] not in TERMINAL
            wait_terminal(server, flight)
            drain_active(server)
            mem = memory(server, big)
        finally:
            server.stop()
    for name, samples in loaded.items():
        print(f"{args.clients} clients {name}:")
        rows = summarize(samples, baseline)
        print_table(list(rows[0]), [list(row.values()) for row in rows])
    mem["target_mib"] = TARGET_RSS_MIB
    mem["met"] = mem["rss_peak_mib"] <= TARGET_RSS_MIB
    mem["ratio_peak_to_before"] = mem["rss_peak_mib"] / mem["rss_before_mib"]
    print_json(
        {
            "stored_runs": args.stored,
            "store_fill_s": stored_s,
            "clients": args.clients,
            "inflight_run_still_running_after_load": still_running,
            "memory_1000_steps": mem,
        }
    )


if __name__ == "__main__":
    main()
