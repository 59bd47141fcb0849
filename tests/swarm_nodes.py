"""A second Docker engine in its own network namespace, joined to the test engine's swarm as a
worker: a real two-node cluster on one machine (the recipe of DOCKER.md).

It has its own data root, exec root, socket, pidfile and bridge, and reaches the manager over
a veth pair (its default route), so it needs root, ``ip``, ``nsenter`` and ``unshare``. It
shares the host's file system, so a bind mount stands in for shared storage."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass

from .docker_support import docker

NETNS = "osw-node2"
HOST_VETH, NODE_VETH = "osw-h", "osw-n"
HOST_ADDR, NODE_ADDR = "10.231.7.1", "10.231.7.2"
NODE_NAME = "node2"
DATA_ROOT = "/var/lib/docker-osw-node2"
EXEC_ROOT = "/var/run/docker-osw-node2"
SOCKET = "/var/run/docker-osw-node2.sock"
PIDFILE = "/var/run/docker-osw-node2.pid"
BRIDGE_CIDR = "172.31.250.1/24"


@dataclass
class Node:
    """The second node: its engine's URL, hostname, swarm node id and engine process."""

    url: str
    hostname: str
    node_id: str
    process: subprocess.Popen[bytes]


def problem() -> str | None:
    """Why a second engine cannot be started here, or ``None``."""
    if os.geteuid() != 0:
        return "a second Docker engine needs root"
    missing = [t for t in ("ip", "nsenter", "unshare", "dockerd") if shutil.which(t) is None]
    if missing:
        return f"missing tools: {', '.join(missing)}"
    if os.path.exists(f"/var/run/netns/{NETNS}") or os.path.exists(SOCKET):
        return f"network namespace {NETNS} or {SOCKET} already exists (another test run?)"
    return None


def _sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, text=True, timeout=60)


def _in_netns(command: str) -> None:
    _sh("nsenter", f"--net=/var/run/netns/{NETNS}", "sh", "-c", command)


def node_docker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return docker("-H", f"unix://{SOCKET}", *args, timeout=timeout)


def start(log_path: str) -> Node:
    """Network namespace, veth pair, engine, swarm join; ``stop`` undoes each step taken."""
    _sh("ip", "netns", "add", NETNS)
    _sh("ip", "link", "add", HOST_VETH, "type", "veth", "peer", "name", NODE_VETH)
    _sh("ip", "link", "set", NODE_VETH, "netns", NETNS)
    _sh("ip", "addr", "add", f"{HOST_ADDR}/24", "dev", HOST_VETH)
    _sh("ip", "link", "set", HOST_VETH, "up")
    _in_netns(
        f"ip addr add {NODE_ADDR}/24 dev {NODE_VETH} && ip link set {NODE_VETH} up && "
        f"ip link set lo up && ip route add default via {HOST_ADDR}"
    )
    # nsenter, not `ip netns exec` (which remounts /sys: dockerd then finds no cgroups).
    engine = (
        f"hostname {NODE_NAME}; exec dockerd --data-root {DATA_ROOT} --exec-root {EXEC_ROOT} "
        f"-H unix://{SOCKET} --pidfile {PIDFILE} --bip {BRIDGE_CIDR}"
    )
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            ["nsenter", f"--net=/var/run/netns/{NETNS}", "unshare", "--uts", "sh", "-c", engine],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while node_docker("info", timeout=10).returncode:
        assert process.poll() is None, f"the second dockerd exited; see {log_path}"
        assert time.monotonic() < deadline, f"the second dockerd never answered; see {log_path}"
        time.sleep(0.5)
    token = docker("swarm", "join-token", "-q", "worker").stdout.strip()
    manager = docker("info", "--format", "{{.Swarm.NodeAddr}}").stdout.strip()
    joined = node_docker(
        "swarm", "join", "--advertise-addr", NODE_ADDR, "--token", token, f"{manager}:2377"
    )
    assert joined.returncode == 0, joined.stderr
    node_id = node_docker("info", "--format", "{{.Swarm.NodeID}}").stdout.strip()
    deadline = time.monotonic() + 60
    while docker("node", "inspect", node_id, "--format", "{{.Status.State}}").stdout.strip() != (
        "ready"
    ):
        assert time.monotonic() < deadline, "the second node never became ready"
        time.sleep(0.5)
    return Node(f"unix://{SOCKET}", NODE_NAME, node_id, process)


def stop(node: Node | None) -> None:
    """Leave the swarm, remove the node from the manager, stop the engine, delete the network
    namespace and the data root: the machine as it was."""
    if node is not None:
        node_docker("swarm", "leave", "--force")
        docker("node", "rm", "--force", node.node_id)
        node.process.terminate()
        try:
            node.process.wait(30)
        except subprocess.TimeoutExpired:
            node.process.kill()
            node.process.wait()
    subprocess.run(["ip", "netns", "del", NETNS], capture_output=True, check=False)
    subprocess.run(["ip", "link", "del", HOST_VETH], capture_output=True, check=False)
    # Mounts of the engine's overlay layers and netns files, left if it did not stop cleanly.
    subprocess.run(
        [
            "sh",
            "-c",
            f"grep -o '{DATA_ROOT}[^ ]*\\|{EXEC_ROOT}[^ ]*' /proc/mounts "
            "| sort -r | xargs -r -n1 umount -l",
        ],
        capture_output=True,
        check=False,
    )
    shutil.rmtree(DATA_ROOT, ignore_errors=True)
    shutil.rmtree(EXEC_ROOT, ignore_errors=True)
    for path in (SOCKET, PIDFILE):
        if os.path.exists(path):
            os.unlink(path)
