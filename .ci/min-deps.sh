#!/usr/bin/env bash
# The dependency floors in pyproject.toml must be true: install exactly those versions (the
# lowest each `>=` allows; test tools, without the browser's, at whatever fits) in a virtualenv of their
# own, and run the fast tests (no Docker) against them. The JupyterLab extension is not
# rebuilt (SKIP_JUPYTER_BUILDER): these tests do not need it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv="${MIN_DEPS_VENV:-${TMPDIR:-/tmp}/orchest-ext-min-deps}"
python3 -m venv --clear "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check packaging \
    "tomli; python_version < '3.11'"
"$venv/bin/python" .ci/lowest_constraints.py > "$venv/constraints.txt"
"$venv/bin/python" .ci/lowest_constraints.py --test-tools > "$venv/test-tools.txt"
echo "minimum versions: $(tr '\n' ' ' < "$venv/constraints.txt")"
SKIP_JUPYTER_BUILDER=1 "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -c "$venv/constraints.txt" -e . -r "$venv/test-tools.txt"
"$venv/bin/python" -m pip check
PATH="$venv/bin:$PATH" "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@" \
    tests/test_pipeline_model.py tests/test_pipeline_graph.py tests/test_run_state.py \
    tests/test_run_engine.py tests/test_local_executor.py tests/test_docker_unreachable.py \
    tests/test_cli.py tests/test_runs_api.py -k "not docker"
