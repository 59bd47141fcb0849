#!/usr/bin/env bash
# Make the Docker engine a single-node swarm manager for the swarm backend's tests, and put it
# back as it was found afterwards.
#
#   setup-swarm.sh init     `docker swarm init` if the engine is in no swarm; remembers that
#   setup-swarm.sh restore  leaves the swarm again, only if `init` created it
#
# An engine that already is in a swarm is left alone (a worker makes the swarm tests fail
# with the reason). The advertised address is the one of the default route, so that a second
# engine in a network namespace (tests/test_swarm_two_nodes.py) can reach the manager.
set -euo pipefail

MARKER="${ORCHEST_SWARM_MARKER:-/tmp/orchest-ext-swarm-initialized}"

log() { echo "[setup-swarm] $*" >&2; }

state() { docker info --format '{{.Swarm.LocalNodeState}}'; }

init() {
    if [ "$(state)" != "inactive" ]; then
        log "engine already in a swarm ($(state)); leaving it as it is"
        return
    fi
    local addr
    addr="$(ip -4 route get 1.0.0.0 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "src") print $(i + 1)}')"
    docker swarm init ${addr:+--advertise-addr "$addr"} >/dev/null
    touch "$MARKER"
    log "swarm initialized (advertised address: ${addr:-default})"
}

restore() {
    if [ -e "$MARKER" ]; then
        docker swarm leave --force >/dev/null
        rm -f "$MARKER"
        log "left the swarm this script created"
    fi
}

case "${1:-}" in
init) init ;;
restore) restore ;;
*)
    echo "usage: $0 init|restore" >&2
    exit 2
    ;;
esac
