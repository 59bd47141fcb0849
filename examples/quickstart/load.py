"""Make a small data set and share it with the next steps through the run directory."""

import json
import os
from pathlib import Path

run_dir = Path(os.environ["ORCHEST_RUN_DIR"])
numbers = [x * 0.5 for x in range(1, 101)]
(run_dir / "numbers.json").write_text(json.dumps(numbers))
print(f"loaded {len(numbers)} numbers into {run_dir / 'numbers.json'}")
