"""Make a few numbers, scaled by $SCALE, and pass them to the next step."""

import os

import orchest

scale = int(os.environ.get("SCALE", "1"))
numbers = [n * scale for n in range(1, 6)]
orchest.output(numbers, name="numbers")
print(f"SCALE={scale}: passed on {numbers}")
