"""Passing a 200 MB numpy array from one step to the next, through a real run on the local
backend: ``orchest.output`` / ``orchest.get_inputs`` against ``numpy.save`` / ``numpy.load``
of the same array in the same kind of run. Measured inside the steps: the time of the
write (producer) and of the read (consumer), and the consumer step's peak memory (VmHWM).
Target: consumer time and peak memory <= 1.3x numpy's.

Usage: ``python bench/bench_data_passing.py [--rounds 3] [--mib 200] [--json]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from _common import median, pipeline_dict, print_json, print_table, run_manager, temp_dir

from orchest_ext.executors.local import LocalExecutor
from orchest_ext.pipeline import load_pipeline

TARGET_RATIO = 1.3

PRODUCER = {
    "orchest": "import orchest\norchest.output(array, name='array')\n",
    "numpy": "np.save(os.path.join(os.environ['ORCHEST_RUN_DIR'], 'array.npy'), array)\n",
}
CONSUMER = {
    "orchest": "import orchest\narray = orchest.get_inputs()['array']\n",
    "numpy": "array = np.load(os.path.join(os.environ['ORCHEST_RUN_DIR'], 'array.npy'))\n",
}
TIMED = """import json, os, time
import numpy as np
{setup}started = time.perf_counter()
{body}elapsed = time.perf_counter() - started
peak = next(int(line.split()[1]) for line in open('/proc/self/status') if line.startswith('VmHWM'))
{check}with open(os.path.join(os.environ['ORCHEST_STEP_DIR'], 'timing.json'), 'w') as f:
    json.dump({{'seconds': elapsed, 'peak_kib': peak}}, f)
"""


def write_pipeline(directory: Path, method: str, mib: int) -> Path:
    """A producer -> consumer pipeline passing ``mib`` MiB of float64 with ``method``."""
    directory.mkdir(parents=True)
    count = mib * 1024 * 1024 // 8
    (directory / "produce.py").write_text(
        TIMED.format(
            setup=f"array = np.arange({count}, dtype=np.float64)\n",
            body=PRODUCER[method],
            check="",
        )
    )
    (directory / "consume.py").write_text(
        TIMED.format(
            setup="",
            body=CONSUMER[method],
            check=f"assert array.shape == ({count},) and array[-1] == {count - 1}\n",
        )
    )
    description = pipeline_dict([[], [0]], ["produce.py", "consume.py"])
    path = directory / "pipeline.orchest"
    path.write_text(json.dumps(description))
    return path


async def run_once(tmp: Path, method: str, mib: int, index: int) -> dict[str, float]:
    """Run the pipeline; return producer/consumer seconds and consumer peak MiB."""
    pipeline = load_pipeline(write_pipeline(tmp / f"{method}-{index}", method, mib))
    async with run_manager(tmp / f"{method}-{index}.db", LocalExecutor(), 1) as manager:
        run = await manager.wait((await manager.submit(pipeline)).id)
    assert run.status == "SUCCESS", [(s.title, s.message) for s in run.steps.values()]
    producer, consumer = (
        json.loads((run.run_dir / "steps" / uuid / "timing.json").read_text()) for uuid in run.steps
    )
    return {
        "write_s": producer["seconds"],
        "read_s": consumer["seconds"],
        "consumer_peak_mib": consumer["peak_kib"] / 1024,
    }


async def measure(rounds: int, mib: int) -> dict[str, dict[str, float]]:
    results: dict[str, list[dict[str, float]]] = {"numpy": [], "orchest": []}
    with temp_dir("bench-data-passing-") as tmp:
        for index in range(rounds):
            for method in ("numpy", "orchest"):
                results[method].append(await run_once(tmp, method, mib, index))
    return {
        method: {key: median([r[key] for r in runs]) for key in runs[0]}
        for method, runs in results.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mib", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    medians = asyncio.run(measure(args.rounds, args.mib))
    ratios = {key: medians["orchest"][key] / medians["numpy"][key] for key in medians["orchest"]}
    if args.json:
        print_json({"medians": medians, "ratios": ratios, "target_ratio": TARGET_RATIO})
        return
    print_table(
        ["measure", "numpy.save/load", "orchest output/get_inputs", "ratio"],
        [
            [key, medians["numpy"][key], medians["orchest"][key], ratios[key]]
            for key in medians["orchest"]
        ],
    )


if __name__ == "__main__":
    main()
