"""Write a few numbers, scaled by $SCALE, for the next step to read from the run directory."""

import json
import os
from pathlib import Path

run_dir = Path(os.environ["ORCHEST_RUN_DIR"])
scale = int(os.environ.get("SCALE", "1"))
numbers = [n * scale for n in range(1, 6)]
(run_dir / "numbers.json").write_text(json.dumps(numbers))
print(f"SCALE={scale}: wrote {numbers} to {run_dir / 'numbers.json'}")
