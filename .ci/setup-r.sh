#!/usr/bin/env bash
# Make R available for the R step tests (tests/test_r_steps.py) on the local backend:
# Debian's R, IRkernel (kernelspec "ir" in /usr/share/jupyter/kernels) and jsonlite, which
# the orchest R package needs. The docker tests build their R environment image on demand
# from the same Debian packages. Julia is in none of the reachable registries.
set -euo pipefail

if command -v Rscript >/dev/null && [ -f /usr/share/jupyter/kernels/ir/kernel.json ] \
    && Rscript -e 'library(jsonlite)' >/dev/null 2>&1; then
    exit 0
fi
echo "[setup-r] installing r-base-core r-cran-irkernel r-cran-jsonlite" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    r-base-core r-cran-irkernel r-cran-jsonlite >/dev/null
