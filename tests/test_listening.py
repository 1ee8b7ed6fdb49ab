"""What the processes a sweep starts listen on: loopback only, or a known limitation."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from biv_pipeline.sweeps.executors import ray_init_options
from biv_pipeline.sweeps.server import tracking_server
from biv_pipeline.tracking.contract import DEFAULT_TRACKING_URI


def listening_addresses() -> set[tuple[str, str]]:
    """``(process name, address)`` of every listening TCP socket of this process's children.

    Uses the psutil Ray ships (``import ray`` puts it on the path).
    """
    pytest.importorskip("ray")
    import psutil  # noqa: PLC0415 - Ray's vendored copy

    found = set()
    for child in psutil.Process().children(recursive=True):
        try:
            connections = child.net_connections(kind="inet")
            name = child.name()
        except psutil.Error:
            continue
        found |= {(name, c.laddr.ip) for c in connections if c.status == psutil.CONN_LISTEN}
    return found


def not_loopback(addresses: set[tuple[str, str]]) -> set[tuple[str, str]]:
    return {(name, ip) for name, ip in addresses if not ipaddress.ip_address(ip).is_loopback}


@pytest.mark.slow
def test_the_sweeps_mlflow_server_listens_on_loopback_only(tmp_path: Path) -> None:
    with tracking_server(tmp_path, DEFAULT_TRACKING_URI):
        addresses = listening_addresses()
    assert addresses
    assert not_loopback(addresses) == set()


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="Ray 2.60 binds GCS, raylet and worker gRPC servers to all interfaces (::) and its "
    "runtime-env agent to the node's address; no ray.init option (_node_ip_address included) "
    "changes that. Its token authentication (on by default) guards them.",
)
def test_a_local_ray_cluster_listens_on_loopback_only() -> None:
    ray = pytest.importorskip("ray")
    ray.init(**ray_init_options(None))
    try:
        ray.get(ray.remote(num_cpus=1)(lambda: None).remote())  # start a worker too
        addresses = listening_addresses()
    finally:
        ray.shutdown()
    assert addresses
    assert not_loopback(addresses) == set()
