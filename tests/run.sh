#!/usr/bin/env bash
# Run the whole test suite: install the project with its test and docs extras (this builds
# the JupyterLab extension), make sure R with IRkernel, a Docker engine, the project's images and Chromium are
# there and the engine is a swarm manager (undone at the end if this made it one), run the
# frontend's unit tests and linters, build the documentation with warnings as errors (about
# 15 s), then pytest: tests/, then the browser tests in ui-tests/
# in a pytest process of their own (Playwright's sync API runs its own event loop, which must
# not meet pytest-jupyter's). Extra arguments go to both. Last, the fast tests again against
# the lowest dependency versions pyproject.toml declares (.ci/min-deps.sh, a virtualenv of
# their own, about 4 minutes).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python3 -m pip install --quiet --disable-pip-version-check -e ".[test,docs]"
bash .ci/setup-browser.sh
bash .ci/setup-r.sh       # R, IRkernel and jsonlite from Debian, for the R step tests
bash .ci/setup-docker.sh
bash .ci/setup-airflow.sh >/dev/null   # Airflow in a venv of its own, for the export tests
bash .ci/setup-swarm.sh init
trap 'bash .ci/setup-swarm.sh restore' EXIT
[ -d node_modules ] || npm ci --no-audit --no-fund
npm test --silent
npm run lint --silent
status=0
python3 -m sphinx -W -q -b html docs docs/_build/html || status=$?
python3 -m pytest "$@" || status=$?
python3 -m pytest ui-tests "$@" || status=$?
bash .ci/min-deps.sh || status=$?
exit "$status"
