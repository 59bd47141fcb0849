#!/usr/bin/env bash
# Run the whole test suite: install the project with its test extras, make sure a
# Docker engine and the project's images are there (the docker tests need them),
# then run pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python3 -m pip install --quiet --disable-pip-version-check -e ".[test]"
bash .ci/setup-docker.sh
python3 -m pytest "$@"
