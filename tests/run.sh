#!/usr/bin/env bash
# Run the whole test suite: install the project with its test extras (this builds the
# JupyterLab extension), make sure a Docker engine, the project's images and Chromium are
# there, run the frontend's unit tests and linters, then pytest (tests/ and ui-tests/).
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python3 -m pip install --quiet --disable-pip-version-check -e ".[test]"
bash .ci/setup-browser.sh
bash .ci/setup-docker.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
npm test --silent
npm run lint --silent
python3 -m pytest "$@"
