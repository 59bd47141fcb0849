"""What the summary of an output costs beside storing it: ``orchest.output`` of a 200 MiB
numpy array and of a 1M-row pandas table, in a step process (this one, with a step's
``ORCHEST_*`` environment), alternating rounds with summaries off (``ORCHEST_OUTPUT_SUMMARIES=0``)
and on, and the summary alone (``write_summary`` of the same data and files). Target: the
summary costs under 5% of the output's own time (summary / output without summary).

Usage: ``python bench/bench_output_summaries.py [--rounds 5] [--mib 200] [--rows 1000000] [--json]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from _common import median, print_json, print_table, temp_dir

from orchest_ext.executors.base import STEP_SDK_PATH

TARGET_RATIO = 0.05


def datasets(mib: int, rows: int) -> dict[str, Callable[[], Any]]:
    import numpy as np
    import pandas as pd

    def array() -> Any:
        return np.random.default_rng(0).random(mib * 1024 * 1024 // 8)

    def table() -> Any:
        rng = np.random.default_rng(0)
        return pd.DataFrame(
            {
                "id": np.arange(rows),
                "value": rng.random(rows),
                "group": rng.choice(["a", "b", "c", "d"], rows),
                "time": pd.date_range("2026-01-01", periods=rows, freq="s"),
            }
        )

    return {f"numpy {mib} MiB": array, f"pandas {rows:,} rows": table}


def timed(action: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def measure(rounds: int, mib: int, rows: int) -> dict[str, dict[str, float]]:
    sys.path.insert(0, str(STEP_SDK_PATH))
    import orchest
    from orchest.summary import SKIP_VARIABLE, write_summary

    results: dict[str, dict[str, list[float]]] = {}
    with temp_dir("bench-output-summaries-") as tmp:
        os.environ.update({"ORCHEST_STEP_UUID": "bench", "ORCHEST_STEP_DIR": str(tmp)})
        output = tmp / "output"
        for name, make in datasets(mib, rows).items():
            data = make()
            samples = results[name] = {"output_s": [], "output_with_summary_s": [], "summary_s": []}
            for _ in range(rounds):
                os.environ[SKIP_VARIABLE] = "0"
                samples["output_s"].append(timed(lambda data=data: orchest.output(data, "d")))
                files = [path for path in output.glob("data.*") if path.suffix != ".partial"]
                os.environ.pop(SKIP_VARIABLE)
                samples["summary_s"].append(
                    timed(lambda d=data, f=files: write_summary(output, f, d, "d", None))
                )
                samples["output_with_summary_s"].append(
                    timed(lambda data=data: orchest.output(data, "d"))
                )
            del data
    return {
        name: {key: median(values) for key, values in samples.items()}
        for name, samples in results.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mib", type=int, default=200)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    medians = measure(args.rounds, args.mib, args.rows)
    ratios = {name: m["summary_s"] / m["output_s"] for name, m in medians.items()}
    if args.json:
        print_json({"medians": medians, "ratios": ratios, "target_ratio": TARGET_RATIO})
        return
    print_table(
        ["data", "output (no summary) s", "output with summary s", "summary alone s", "ratio"],
        [
            [name, m["output_s"], m["output_with_summary_s"], m["summary_s"], ratios[name]]
            for name, m in medians.items()
        ],
    )
    print(f"target: summary / output < {TARGET_RATIO:.0%}")


if __name__ == "__main__":
    main()
