"""No egress: one ``--internal`` bridge per sandbox plus host firewall rules.

Docker 20.10 has no ``isolated`` gateway mode, and an ``--internal`` network alone still lets a
container reach every host service listening on the bridge address or on 0.0.0.0 (measured
here: the gateway 172.18.0.1 and docker0 172.17.0.1 both answered). So each sandbox gets:

* its own ``--internal`` network (no route out, icc off, no IPv6) whose Linux bridge is named
  ``encl<10 hex>`` (:data:`BRIDGE_PREFIX`; at most 15 characters), on a small subnet taken from
  :data:`DEFAULT_POOL` so Docker's 30-odd default address pools are not the limit;
* host rules that treat every ``encl+`` interface alike (installed by :func:`install_rules`,
  idempotent, called at hub start and by the tests)::

      INPUT   -i encl+ -j ENCLAVE-IN
      ENCLAVE-IN:  ESTABLISHED,RELATED -> ACCEPT     (replies to the hub and the proxy)
                   tcp --dport <hub port> -> ACCEPT  (OAuth + activity: the one allowed path)
                   everything else -> DROP           (DNS, other host ports, docker0, ...)
      DOCKER-USER -j ENCLAVE-FWD;  FORWARD -j ENCLAVE-FWD
      ENCLAVE-FWD: -i encl+ -> DROP;  -o encl+ -> DROP   (no routing anywhere, both ways)
      INPUT   -p tcp --dport <hub port> -j ENCLAVE-HUBPORT
      ENCLAVE-HUBPORT: -i lo -> RETURN; -i encl+ -> RETURN; DROP
                   (the hub binds 0.0.0.0 so sandboxes reach it; nobody else may)
      ip6tables: INPUT/FORWARD -i encl+ -j DROP, FORWARD -o encl+ -j DROP (link-local too)

The host itself still reaches the container (OUTPUT is untouched): the hub checks the server
and configurable-http-proxy forwards to the container IP; the replies come back as ESTABLISHED.

DNS: Docker's embedded resolver (127.0.0.11 in the container) forwards unknown names itself; on
Docker < 26 it did so from the host namespace when the host resolver is on loopback
(CVE-2024-29018). The spawner therefore points the container's upstream DNS at the sandbox
gateway (:func:`sandbox_dns`), which ENCLAVE-IN drops: every external lookup fails.

Public API::

    BRIDGE_PREFIX, DEFAULT_POOL, DEFAULT_PREFIXLEN
    SandboxNetwork(name, bridge, subnet, gateway)
    network_names(key) -> tuple[str, str]             # (docker network name, bridge name)
    create_network(client, key, pool=..., prefixlen=..., labels=None) -> SandboxNetwork
    remove_network(client, name) -> bool
    install_rules(hub_port, runner=run) -> list[list[str]]   # the commands it ran
    remove_hub_port(hub_port, runner=run) -> None
    rules_snapshot(runner=run) -> str                 # iptables -S of the Enclave chains
    sandbox_dns(network) -> list[str]
"""

from __future__ import annotations

import hashlib
import ipaddress
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from docker.errors import APIError, NotFound

BRIDGE_PREFIX = "encl"
NETWORK_PREFIX = "enclave-sbx-"
DEFAULT_POOL = "10.213.0.0/16"
DEFAULT_PREFIXLEN = 28
LABEL = "org.enclave.sandbox-network"

CHAIN_IN = "ENCLAVE-IN"
CHAIN_FWD = "ENCLAVE-FWD"
CHAIN_HUBPORT = "ENCLAVE-HUBPORT"
IFACE = BRIDGE_PREFIX + "+"

Runner = Callable[[Sequence[str]], subprocess.CompletedProcess[str]]
_create_lock = threading.Lock()


@dataclass(frozen=True)
class SandboxNetwork:
    """A sandbox's private ``--internal`` network."""

    name: str
    bridge: str
    subnet: str
    gateway: str


def network_names(key: str) -> tuple[str, str]:
    """Docker network name and Linux bridge name for a sandbox key (e.g. ``analyst1/g1``)."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:10]
    return NETWORK_PREFIX + digest, BRIDGE_PREFIX + digest


def _used_subnets(client: Any) -> set[ipaddress.IPv4Network]:
    used: set[ipaddress.IPv4Network] = set()
    for net in client.networks(): # low-level APIClient: list of dicts
        for config in (net.get("IPAM") or {}).get("Config") or []:
            try:
                used.add(ipaddress.ip_network(config["Subnet"], strict=False))
            except (KeyError, ValueError):
                continue
    return used


def _free_subnets(client: Any, pool: str, prefixlen: int) -> Iterable[ipaddress.IPv4Network]:
    used = _used_subnets(client)
    for candidate in ipaddress.ip_network(pool).subnets(new_prefix=prefixlen):
        if not any(candidate.overlaps(other) for other in used):
            yield candidate


def _as_sandbox(info: dict[str, Any]) -> SandboxNetwork:
    config = info["IPAM"]["Config"][0]
    bridge = info.get("Options", {}).get("com.docker.network.bridge.name", "")
    return SandboxNetwork(info["Name"], bridge, config["Subnet"], config["Gateway"])


def create_network(
    client: Any, key: str, pool: str = DEFAULT_POOL, prefixlen: int = DEFAULT_PREFIXLEN,
    labels: dict[str, str] | None = None,
) -> SandboxNetwork:
    """Create (or reuse) the internal network for ``key`` on a free subnet of ``pool``.

    ``client`` is a docker-py ``APIClient``. Subnets are picked under a process lock; a clash
    with another process (Docker says the pool overlaps) moves on to the next candidate.
    """
    name, bridge = network_names(key)
    with _create_lock:
        try:
            return _as_sandbox(client.inspect_network(name))
        except NotFound:
            pass
        last_error: Exception | None = None
        for attempt, subnet in enumerate(_free_subnets(client, pool, prefixlen)):
            if attempt >= 20:
                break
            gateway = str(next(subnet.hosts()))
            ipam = {"Driver": "default", "Config": [{"Subnet": str(subnet), "Gateway": gateway}]}
            try:
                client.create_network(
                    name, driver="bridge", internal=True, enable_ipv6=False, ipam=ipam,
                    check_duplicate=True,
                    labels={LABEL: key, **(labels or {})},
                    options={"com.docker.network.bridge.name": bridge,
                             "com.docker.network.bridge.enable_icc": "false",
                             "com.docker.network.bridge.enable_ip_masquerade": "false"},
                )
            except APIError as exc:  # overlap with a network created meanwhile: next subnet
                last_error = exc
                continue
            return SandboxNetwork(name, bridge, str(subnet), gateway)
        raise RuntimeError(f"no free /{prefixlen} subnet in {pool} for {key}: {last_error}")


def remove_network(client: Any, name: str, attempts: int = 40, pause: float = 0.25) -> bool:
    """Remove the network ``name``; False if it was already gone.

    Retries while Docker still reports active endpoints: with ``auto_remove`` the container is
    removed asynchronously after it stops.
    """
    for attempt in range(attempts):
        try:
            client.remove_network(name)
        except NotFound:
            return False
        except APIError:
            if attempt == attempts - 1:
                raise
            time.sleep(pause)
            continue
        return True
    return False


def sandbox_dns(network: SandboxNetwork) -> list[str]:
    """Upstream DNS for the container: the gateway, where ENCLAVE-IN drops port 53."""
    return [network.gateway]


# -- host firewall ------------------------------------------------------------------------------


def run(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run one iptables command (no shell); the caller checks the return code."""
    return subprocess.run(list(argv), capture_output=True, text=True, check=False)


def _ensure_chain(tool: str, chain: str, runner: Runner, ran: list[list[str]]) -> None:
    if runner([tool, "-w", "-n", "-L", chain]).returncode != 0:
        _must(runner, [tool, "-w", "-N", chain], ran)


def _ensure_rule(
    tool: str, chain: str, rule: list[str], runner: Runner, ran: list[list[str]],
    position: int | None = None,
) -> None:
    """Add ``rule`` to ``chain`` unless an identical one is there (``-C``)."""
    if runner([tool, "-w", "-C", chain, *rule]).returncode == 0:
        return
    if position is None:
        _must(runner, [tool, "-w", "-A", chain, *rule], ran)
    else:
        _must(runner, [tool, "-w", "-I", chain, str(position), *rule], ran)


def _must(runner: Runner, argv: list[str], ran: list[list[str]]) -> None:
    result = runner(argv)
    ran.append(argv)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {result.stderr.strip()}")


def _fill(tool: str, chain: str, rules: list[list[str]], runner: Runner,
          ran: list[list[str]], guard: str | None = None) -> None:
    """Make ``chain`` hold exactly ``rules`` (flush and refill only if it differs).

    ``guard``: a built-in chain that jumps here; while refilling, a temporary DROP for sandbox
    bridges sits on top of it, so the refill never leaves a moment where everything passes.
    """
    listing = runner([tool, "-w", "-S", chain]).stdout.splitlines()
    current = [line.split()[2:] for line in listing if line.startswith("-A ")]
    if current == rules:
        return
    block = ["-i", IFACE, "-j", "DROP"]
    if guard:
        _must(runner, [tool, "-w", "-I", guard, "1", *block], ran)
    try:
        _must(runner, [tool, "-w", "-F", chain], ran)
        for rule in rules:
            _must(runner, [tool, "-w", "-A", chain, *rule], ran)
    finally:
        if guard:
            _must(runner, [tool, "-w", "-D", guard, *block], ran)


def _hub_port_rules(ports: Iterable[int]) -> list[list[str]]:
    rules = [["-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"]]
    rules += [["-p", "tcp", "-m", "tcp", "--dport", str(p), "-j", "ACCEPT"] for p in sorted(ports)]
    rules.append(["-j", "DROP"])
    return rules


def _allowed_ports(runner: Runner) -> set[int]:
    ports = set()
    for line in runner(["iptables", "-w", "-S", CHAIN_IN]).stdout.splitlines():
        parts = line.split()
        if "--dport" in parts and "ACCEPT" in parts:
            ports.add(int(parts[parts.index("--dport") + 1]))
    return ports


def install_rules(hub_port: int, runner: Runner = run) -> list[list[str]]:
    """Install (idempotently) the sandbox firewall, allowing ``hub_port`` from sandboxes.

    Several hubs on one host (e.g. tests next to a running hub) each add their port; the chains
    are shared because every sandbox bridge matches ``encl+``. Returns the commands that changed
    something (empty when everything was already in place).
    """
    ran: list[list[str]] = []
    for chain in (CHAIN_IN, CHAIN_FWD, CHAIN_HUBPORT):
        _ensure_chain("iptables", chain, runner, ran)
    _fill("iptables", CHAIN_IN, _hub_port_rules(_allowed_ports(runner) | {hub_port}), runner, ran,
          guard="INPUT")
    _fill("iptables", CHAIN_FWD, [["-i", IFACE, "-j", "DROP"], ["-o", IFACE, "-j", "DROP"]],
          runner, ran)
    _fill("iptables", CHAIN_HUBPORT, [["-i", "lo", "-j", "RETURN"], ["-i", IFACE, "-j", "RETURN"],
                                      ["-j", "DROP"]], runner, ran)
    _ensure_rule("iptables", "INPUT", ["-i", IFACE, "-j", CHAIN_IN], runner, ran, position=1)
    _ensure_rule("iptables", "INPUT", ["-p", "tcp", "-m", "tcp", "--dport", str(hub_port),
                                       "-j", CHAIN_HUBPORT], runner, ran, position=2)
    _ensure_rule("iptables", "FORWARD", ["-j", CHAIN_FWD], runner, ran, position=1)
    if runner(["iptables", "-w", "-n", "-L", "DOCKER-USER"]).returncode == 0:
        _ensure_rule("iptables", "DOCKER-USER", ["-j", CHAIN_FWD], runner, ran, position=1)
    for chain, rule in (("INPUT", ["-i", IFACE, "-j", "DROP"]),
                        ("FORWARD", ["-i", IFACE, "-j", "DROP"]),
                        ("FORWARD", ["-o", IFACE, "-j", "DROP"])):
        _ensure_rule("ip6tables", chain, rule, runner, ran, position=1)
    return ran


def remove_hub_port(hub_port: int, runner: Runner = run) -> None:
    """Withdraw ``hub_port`` (e.g. after a test hub stops); the DROP rules stay."""
    ran: list[list[str]] = []
    ports = _allowed_ports(runner) - {hub_port}
    _fill("iptables", CHAIN_IN, _hub_port_rules(ports), runner, ran, guard="INPUT")
    rule = ["-p", "tcp", "-m", "tcp", "--dport", str(hub_port), "-j", CHAIN_HUBPORT]
    while runner(["iptables", "-w", "-C", "INPUT", *rule]).returncode == 0:
        _must(runner, ["iptables", "-w", "-D", "INPUT", *rule], ran)


def rules_snapshot(runner: Runner = run) -> str:
    """``iptables -S`` of the Enclave chains and the jumps into them (for docs and reports)."""
    lines = []
    for chain in ("INPUT", "FORWARD", "DOCKER-USER", CHAIN_IN, CHAIN_FWD, CHAIN_HUBPORT):
        out = runner(["iptables", "-w", "-S", chain]).stdout.splitlines()
        lines += [line for line in out if "ENCLAVE" in line or chain.startswith("ENCLAVE")]
    for chain in ("INPUT", "FORWARD"):
        out = runner(["ip6tables", "-w", "-S", chain]).stdout.splitlines()
        lines += ["ip6: " + line for line in out if IFACE in line]
    return "\n".join(lines)
