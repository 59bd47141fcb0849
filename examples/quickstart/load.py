"""Make a small data set and pass it to the next steps (``orchest.output``)."""

import orchest

numbers = [x * 0.5 for x in range(1, 101)]
orchest.output(numbers, name="numbers")
print(f"loaded {len(numbers)} numbers")
