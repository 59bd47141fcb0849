#!/usr/bin/env bash
# Make headless Chromium available for the browser tests (ui-tests/): Debian's package,
# which Playwright drives through executable_path (it cannot download its own browsers here).
set -euo pipefail

if command -v chromium >/dev/null; then
    exit 0
fi
echo "[setup-browser] installing chromium" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
