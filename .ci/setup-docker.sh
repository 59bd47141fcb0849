#!/usr/bin/env bash
# Make a Docker engine and the project's images available on this machine.
#
# Idempotent: installs docker.io and debootstrap if missing, starts dockerd if the
# engine is unreachable, imports the base image from a debootstrap rootfs if it is
# not there yet, then builds the project images from a host-made wheelhouse.
set -euo pipefail

BASE_IMAGE="${ORCHEST_BASE_IMAGE:-orchest-ext/base:bookworm}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DOCKERD_LOG="${DOCKERD_LOG:-/var/log/dockerd.log}"
BASE_PACKAGES="python3,python3-venv,python3-pip,ca-certificates,bash,procps"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { echo "[setup-docker] $*" >&2; }

install_packages() {
    local missing=()
    command -v dockerd >/dev/null && command -v docker >/dev/null || missing+=(docker.io)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    if ((${#missing[@]})); then
        log "installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

start_engine() {
    if docker info >/dev/null 2>&1; then
        return
    fi
    log "starting dockerd (log: $DOCKERD_LOG)"
    nohup dockerd >"$DOCKERD_LOG" 2>&1 &
    local i
    for i in $(seq 1 120); do
        if docker info >/dev/null 2>&1; then
            log "engine ready after $((i / 2)) s"
            return
        fi
        sleep 0.5
    done
    log "dockerd did not become ready in 60 s; last log lines:"
    tail -n 20 "$DOCKERD_LOG" >&2 || true
    exit 1
}

make_base_image() {
    if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
        return
    fi
    local rootfs
    rootfs="$(mktemp -d /tmp/orchest-rootfs.XXXXXX)"
    log "debootstrap bookworm into $rootfs"
    debootstrap --variant=minbase --include="$BASE_PACKAGES" \
        bookworm "$rootfs" "$DEBIAN_MIRROR" >/tmp/orchest-debootstrap.log 2>&1 || {
        tail -n 20 /tmp/orchest-debootstrap.log >&2
        rm -rf "$rootfs"
        exit 1
    }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    log "importing $BASE_IMAGE"
    tar -C "$rootfs" -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null
    rm -rf "$rootfs"
}

build_images() {
    cd "$ROOT"
    if jupyter orchest images --help >/dev/null 2>&1; then
        jupyter orchest images build --base-image "$BASE_IMAGE" "$@"
    else
        python -m orchest_ext.cli images build --base-image "$BASE_IMAGE" "$@"
    fi
}

install_packages
start_engine
make_base_image
build_images "$@"
