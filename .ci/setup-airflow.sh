#!/usr/bin/env bash
# A virtualenv with Apache Airflow and its Docker provider, for the export tests
# (tests/test_export_airflow.py run `airflow dags test` in it). Airflow pins its
# dependencies strictly, so it never joins the project's own environment.
#
# Idempotent and cached: the venv lives in ORCHEST_AIRFLOW_VENV (default
# ~/.cache/orchest_ext/airflow-venv) and is made once (about 70 s); later calls only
# check that `airflow version` answers. Prints the venv path on stdout.
set -euo pipefail

venv="${ORCHEST_AIRFLOW_VENV:-$HOME/.cache/orchest_ext/airflow-venv}"
packages=(apache-airflow apache-airflow-providers-docker apache-airflow-providers-cncf-kubernetes)
stamp="$venv/.orchest-airflow-ready"

log() { echo "[setup-airflow] $*" >&2; }

if [[ -f "$stamp" ]] && "$venv/bin/airflow" version >/dev/null 2>&1; then
    echo "$venv"
    exit 0
fi
log "creating $venv with ${packages[*]}"
python3 -m venv --clear "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${packages[@]}"
"$venv/bin/airflow" version >&2
touch "$stamp"
echo "$venv"
