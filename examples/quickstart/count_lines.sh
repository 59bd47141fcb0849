#!/usr/bin/env bash
# Count the bytes of the numbers as JSON and pass the count on. A shell step reaches the
# step API (`import orchest`, on PYTHONPATH) through python3.
set -euo pipefail
chars=$(python3 -c 'import json, orchest; print(len(json.dumps(orchest.get_inputs()["numbers"])))')
echo "the numbers take $chars bytes as JSON"
python3 -c 'import sys, orchest; orchest.output(int(sys.argv[1]), name="size")' "$chars"
