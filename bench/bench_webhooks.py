"""Webhooks never hold up a run: a 1,000-step run through a real `jupyter server` with a
webhook on every step event (``step.failed``: every step fails) whose receiver sleeps 2 s
per request, against the same run with no webhook, alternated in one server.
Target: ratio <= 1.0 (within noise).

Each step is an independent ``.sh`` step that exits 1, so the run makes 1,000 deliveries
(plus ``run.started`` and ``run.failed``); with 8 sent at once and 2 s each they take
~250 s, far longer than the run. After each run with the webhook, the webhook is deleted
(its pending deliveries with it) and the 8 requests in flight are let finish, so the next
run without webhooks does not share the machine with them."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from statistics import median
from typing import Any

from _common import pipeline_dict, print_json, print_table, temp_dir, write_pipeline

from tests.server import ServerProcess
from tests.webhook_support import Receiver

EVENTS = ["run.started", "run.failed", "step.failed"]


def make_pipeline(root: Path, steps: int) -> str:
    directory = root / "p"
    directory.mkdir(parents=True)
    (directory / "fail.sh").write_text("exit 1\n")
    write_pipeline(directory, pipeline_dict([[] for _ in range(steps)], ["fail.sh"] * steps))
    return "p/pipeline.orchest"


def timed_run(server: ServerProcess, pipeline_path: str) -> dict[str, Any]:
    """POST a run and poll it to its end: wall seconds and the GET latencies meanwhile."""
    started = time.perf_counter()
    code, run = server.request("POST", "/orchest/api/runs", {"pipeline_path": pipeline_path})
    assert code == 202, run
    latencies = []
    while True:
        before = time.perf_counter()
        code, shown = server.request("GET", f"/orchest/api/runs/{run['id']}")
        latencies.append(time.perf_counter() - before)
        if shown["status"] in ("SUCCESS", "FAILURE", "ABORTED"):
            break
        assert time.perf_counter() - started < 1800, shown
        time.sleep(0.05)
    wall = time.perf_counter() - started
    assert all(step["status"] == "FAILURE" for step in shown["steps"])
    return {"wall_s": wall, "get_run_p50_ms": median(latencies) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--delay", type=float, default=2.0, help="receiver's seconds per request")
    parser.add_argument("--max-parallel", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    receiver = Receiver(delay=args.delay).start()
    with temp_dir("orchest-bench-webhooks-") as tmp:
        pipeline_path = make_pipeline(tmp / "root", args.steps)
        server = ServerProcess(
            tmp / "root", tmp / "state", [f"--OrchestApp.max_parallel={args.max_parallel}"]
        ).start()
        samples: dict[str, list[dict[str, Any]]] = {"without": [], "with": []}
        delivered_during: list[int] = []
        try:
            timed_run(server, pipeline_path)  # warm-up
            for _ in range(args.repeats):
                samples["without"].append(timed_run(server, pipeline_path))
                code, hook = server.request(
                    "POST", "/orchest/api/webhooks", {"url": receiver.url, "events": EVENTS}
                )
                assert code == 201, hook
                before = len(receiver.deliveries)
                samples["with"].append(timed_run(server, pipeline_path))
                delivered_during.append(len(receiver.deliveries) - before)
                code, _ = server.request("DELETE", f"/orchest/api/webhooks/{hook['id']}")
                assert code == 200
                time.sleep(args.delay + 0.5)  # the requests in flight end
        finally:
            server.stop()
            receiver.stop()
    report(args, samples, delivered_during)


def report(args, samples: dict[str, list[dict[str, Any]]], delivered: list[int]) -> None:
    walls = {name: [s["wall_s"] for s in runs] for name, runs in samples.items()}
    gets = {name: [s["get_run_p50_ms"] for s in runs] for name, runs in samples.items()}
    ratio = median(walls["with"]) / median(walls["without"])
    paired = [w / wo for w, wo in zip(walls["with"], walls["without"], strict=True)]
    result = {
        "steps": args.steps,
        "receiver_delay_s": args.delay,
        "run_s": {name: median(values) for name, values in walls.items()},
        "ratio": ratio,
        "paired_ratios": paired,
        "paired_ratio_median": median(paired),
        "get_run_p50_ms": {name: median(values) for name, values in gets.items()},
        "delivered_while_running": delivered,
        "samples": samples,
    }
    if args.json:
        print_json(result)
        return
    print_table(
        ["", "run (s, median)", "runs (s)", "GET runs/{id} p50 (ms)"],
        [
            [
                name,
                median(walls[name]),
                " ".join(f"{w:.1f}" for w in walls[name]),
                median(gets[name]),
            ]
            for name in ("without", "with")
        ],
    )
    print(f"ratio of medians with/without: {ratio:.3f}")
    print(
        f"median of the paired ratios (each run with the webhook / the run before it "
        f"without): {median(paired):.3f} (target <= 1.0 within noise)"
    )
    print(f"deliveries answered while each run with the webhook ran: {delivered}")


if __name__ == "__main__":
    main()
