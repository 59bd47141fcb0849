#!/usr/bin/env bash
# Count the characters of the data file and leave the result for the report.
set -euo pipefail
chars=$(wc -c < "$ORCHEST_RUN_DIR/numbers.json")
echo "numbers.json has $chars bytes"
echo "$chars" > "$ORCHEST_RUN_DIR/size.txt"
