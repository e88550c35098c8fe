"""The sandbox against the real Docker engine: a real JupyterHub + CHP, real containers.

One hub for the module (seeded with ``enclave demo``): analyst1 opens grant 1 (travel_records@1
level 3 → twin, enterprise_register@1 level 2 → real), analyst2 opens grant 2. Every probe of the
boundary runs as code in a kernel of the sandbox, sent over the kernel websocket through the
proxy with the user's token — the way an analyst's notebook would run it.
"""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sandbox_fixtures import RunningHub, free_port, start_hub

from hub import accounts, db, grants

pytestmark = pytest.mark.docker

PASSWORDS = {"analyst1": "Analyst-demo-2025a", "analyst2": "Analyst-demo-2025b"}


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, notebook_image: str) -> Iterator[RunningHub]:
    """A hub on free ports; ``notebook_image`` (conftest) builds or reuses the image."""
    yield from start_hub(tmp_path_factory.mktemp("sandbox"), notebook_image)


class Sandbox:
    """A running server with a kernel, for one user and grant."""

    def __init__(self, hub: RunningHub, user: str, grant: int) -> None:
        self.hub, self.user, self.server = hub, user, f"g{grant}"
        hub.client.login(user, PASSWORDS[user])  # EnclaveAuthenticator assigns the RBAC roles
        self.token = hub.client.user_token(user)
        started = time.monotonic()
        resp = hub.client.spawn(user, self.server, self.token, {"grant": str(grant)})
        assert resp.status_code in (201, 202), resp.text
        hub.client.wait_ready(user, self.server)
        self.spawn_seconds = time.monotonic() - started
        self.kernel = hub.client.start_kernel(user, self.server, self.token)

    def run(self, code: str) -> Any:
        return self.hub.client.execute(self.user, self.server, self.token, self.kernel,
                                       code).json()

    def container(self) -> dict[str, Any]:
        out = subprocess.run(["docker", "inspect",
                              self.hub.container_name(self.user, self.server)],
                             capture_output=True, text=True, check=True).stdout
        return json.loads(out)[0]

    def ip_and_gateway(self) -> tuple[str, str]:
        networks = self.container()["NetworkSettings"]["Networks"]
        (name, info), = networks.items()
        net = json.loads(subprocess.run(["docker", "network", "inspect", name],
                                        capture_output=True, text=True, check=True).stdout)[0]
        return info["IPAddress"], net["IPAM"]["Config"][0]["Gateway"]


@pytest.fixture(scope="module")
def sandbox1(hub: RunningHub) -> Sandbox:
    return Sandbox(hub, "analyst1", 1)


@pytest.fixture(scope="module")
def sandbox2(hub: RunningHub) -> Sandbox:
    return Sandbox(hub, "analyst2", 2)


@pytest.fixture(scope="module")
def host_listener() -> Iterator[int]:
    """A TCP service on 0.0.0.0 of the Docker host, answering every connection."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", free_port()))
    server.listen()
    server.settimeout(0.5)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.sendall(b"hello")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def audit(hub: RunningHub, action: str) -> list[dict[str, Any]]:
    out = hub.enclave("audit", "export")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    return [r for r in rows if r["action"] == action]


def host_ip() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect(("192.0.2.1", 9))  # no packet is sent; picks the outward interface
        return sock.getsockname()[0]


PROBE = r"""
import json, socket, concurrent.futures as cf
def tcp(host, port):
    try:
        socket.create_connection((host, port), timeout=2).close()
        return "open"
    except Exception as exc:
        return type(exc).__name__
def dns(name):
    try:
        return "resolved " + socket.getaddrinfo(name, 443)[0][4][0]
    except Exception as exc:
        return type(exc).__name__
targets = TARGETS
with cf.ThreadPoolExecutor(16) as pool:
    tcp_res = dict(zip(targets, pool.map(lambda k: tcp(*targets[k]), targets)))
    dns_res = dict(zip(NAMES, pool.map(dns, NAMES)))
print(json.dumps({"tcp": tcp_res, "dns": dns_res}))
"""


# -- spawning ----------------------------------------------------------------------------------


def test_analyst_spawns_working_server_through_rest_api(sandbox1: Sandbox) -> None:
    facts = sandbox1.run("import os, json; print(json.dumps({'uid': os.getuid(), "
                         "'grant': os.environ['ENCLAVE_GRANT_ID'], 'cwd': os.getcwd()}))")
    assert facts == {"uid": 1000, "grant": "1", "cwd": "/home/analyst"}
    assert sandbox1.spawn_seconds < 30


def test_data_holds_exactly_the_grant_twins_for_level_3(sandbox1: Sandbox, hub: RunningHub,
                                                       ) -> None:
    listing = sandbox1.run(
        "import os, json, hashlib\n"
        "def h(p): return hashlib.sha256(open(p,'rb').read()).hexdigest()\n"
        "print(json.dumps({'data': sorted(os.listdir('/data')),"
        " 'travel': sorted(os.listdir('/data/travel_records')),"
        " 'travel_hash': h('/data/travel_records/travel_records.parquet'),"
        " 'ent_hash': h('/data/enterprise_register/enterprise_register.parquet'),"
        " 'home_data': sorted(os.listdir(os.path.expanduser('~/data')))}))")
    store = hub.home / "store"
    assert listing["data"] == ["README.md", "enterprise_register", "travel_records"]
    assert listing["home_data"] == ["enterprise_register", "travel_records"]
    twin = store / "travel_records" / "v1.twin" / "travel_records.parquet"
    real = store / "travel_records" / "v1" / "travel_records.parquet"
    assert listing["travel_hash"] == sha256(twin) != sha256(real)  # level 3: the twin only
    assert listing["ent_hash"] == sha256(
        store / "enterprise_register" / "v1" / "enterprise_register.parquet")  # level 2: real


def test_data_is_read_only_and_workspace_outbox_is_writable(sandbox1: Sandbox,
                                                           hub: RunningHub) -> None:
    result = sandbox1.run(
        "import json, os\n"
        "def w(p):\n"
        "    try:\n"
        "        open(p, 'w').write('x'); return 'written'\n"
        "    except OSError as e: return e.strerror\n"
        "print(json.dumps({p: w(p) for p in ['/data/travel_records/new.csv',"
        " '/data/travel_records/travel_records.parquet', '/data/README.md', '/data/x',"
        " '/etc/x', '/opt/venv/x', os.path.expanduser('~/work/outbox/result.csv')]}))")
    assert result.pop("/home/analyst/work/outbox/result.csv") == "written"
    assert set(result.values()) <= {"Read-only file system", "Permission denied"}, result
    outbox = hub.home / "workspaces" / "analyst1" / "1" / "outbox" / "result.csv"
    assert outbox.read_text() == "x"  # the airlock reads exactly this folder from the host


def test_container_is_hardened(sandbox1: Sandbox, hub: RunningHub) -> None:
    info = sandbox1.container()
    host = info["HostConfig"]
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"] and not host["CapAdd"]
    assert "no-new-privileges:true" in host["SecurityOpt"]
    assert host["Privileged"] is False
    assert host["Memory"] == 2 * 1024**3 and host["CpuQuota"] == 100_000
    assert host["PidsLimit"] == 512
    assert set(host["Tmpfs"]) == {"/tmp", "/home/analyst"}
    assert info["Config"]["User"] == "1000:1000"
    assert info["Config"]["Labels"]["enclave.user"] == "analyst1"
    assert info["Config"]["Labels"]["enclave.grant"] == "1"
    assert info["Config"]["Labels"]["enclave.datasets"] == (
        "enterprise_register@1,travel_records@1")
    sources = {m["Source"]: m["RW"] for m in info["Mounts"]}
    workspace = str(hub.home / "workspaces" / "analyst1" / "1")
    assert [s for s, rw in sources.items() if rw] == [workspace]  # the only writable host path
    store, readme_dir = str(hub.home / "store"), str(hub.home / "hub" / "sandboxes")
    assert all(s.startswith((store, readme_dir, workspace)) for s in sources), sources
    assert not any("docker.sock" in s for s in sources)
    (net_name,) = info["NetworkSettings"]["Networks"]
    net = json.loads(subprocess.run(["docker", "network", "inspect", net_name],
                                    capture_output=True, text=True, check=True).stdout)[0]
    assert net["Internal"] is True and net["EnableIPv6"] is False
    assert net["Options"]["com.docker.network.bridge.name"].startswith("encl")


# -- the boundary, probed from a kernel ---------------------------------------------------------


def test_no_egress_from_a_kernel(sandbox1: Sandbox, sandbox2: Sandbox, hub: RunningHub,
                                 host_listener: int) -> None:
    _, gateway = sandbox1.ip_and_gateway()
    other_ip, _ = sandbox2.ip_and_gateway()
    targets = {
        "hub api (must stay open)": (gateway, hub.hub_port),
        "pypi.org by name": ("pypi.org", 443),
        "pypi.org by address": ("151.101.0.223", 443),
        "host listener via gateway": (gateway, host_listener),
        "host listener via docker0": ("172.17.0.1", host_listener),
        "host listener via host address": (host_ip(), host_listener),
        "proxy api": (gateway, hub.proxy_api_port),
        "proxy public port": (gateway, hub.proxy_port),
        "docker api over tcp": (gateway, 2375),
        "host ssh": (gateway, 22),
        "dns on gateway": (gateway, 53),
        "other user's server": (other_ip, 8888),
    }
    code = PROBE.replace("TARGETS", repr(targets)).replace(
        "NAMES", repr(["pypi.org", "example.com", "exfil-test.enclave.invalid.example.net"]))
    result = sandbox1.run(code)
    assert result["tcp"].pop("hub api (must stay open)") == "open"  # the probe can see open
    assert all(outcome != "open" for outcome in result["tcp"].values()), result["tcp"]
    assert not any(v.startswith("resolved") for v in result["dns"].values()), result["dns"]


def test_cannot_reach_other_grants_data_docker_or_root(sandbox1: Sandbox, hub: RunningHub,
                                                      ) -> None:
    clinic_real = hub.home / "store" / "clinic_visits" / "v1"
    result = sandbox1.run(
        "import json, os, shutil, subprocess\n"
        "def run(*a):\n"
        "    try:\n"
        "        p = subprocess.run(list(a), capture_output=True, text=True, timeout=10,"
        " input='Analyst-demo-2025a\\n')\n"
        "        return [p.returncode, p.stdout.strip()]\n"
        "    except Exception as e: return [type(e).__name__, '']\n"
        "def setuid():\n"
        "    try:\n"
        "        os.setuid(0); return 'root'\n"
        "    except PermissionError: return 'denied'\n"
        "status = dict(l.split(':\\t', 1) for l in open('/proc/self/status').read().splitlines()"
        " if ':\\t' in l)\n"
        f"paths = ['/data/clinic_visits', {str(clinic_real)!r}, {str(hub.home)!r},"
        " '/var/run/docker.sock', '/run/docker.sock']\n"
        "print(json.dumps({'exists': {p: os.path.exists(p) for p in paths},"
        " 'setuid': setuid(), 'uid': os.getuid(), 'euid': os.geteuid(),"
        " 'nnp': status['NoNewPrivs'].strip(), 'capeff': status['CapEff'].strip(),"
        " 'capbnd': status['CapBnd'].strip(),"
        " 'sudo': run('sudo', '-n', 'id', '-u') if shutil.which('sudo') else 'absent',"
        " 'su': run('su', '-c', 'id -u') if shutil.which('su') else 'absent',"
        " 'mount': run('mount', '-t', 'tmpfs', 'none', '/tmp') if shutil.which('mount')"
        " else 'absent'}))")
    assert not any(result["exists"].values()), result["exists"]
    assert result["setuid"] == "denied" and result["uid"] == result["euid"] == 1000
    assert result["nnp"] == "1"
    assert int(result["capeff"], 16) == 0 and int(result["capbnd"], 16) == 0
    for tool in ("sudo", "su", "mount"):
        outcome = result[tool]
        assert outcome == "absent" or (outcome[0] != 0 and outcome[1] != "0"), (tool, outcome)


def test_column_subset_mounts_a_projection_not_the_full_file(sandbox1: Sandbox,
                                                             hub: RunningHub) -> None:
    grant = _make_grant(hub, ends_in=timedelta(days=30), revoke=False,
                        dataset="enterprise_register@1:company_name,industry,district")
    box = Sandbox(hub, "analyst1", grant)
    try:
        result = box.run(
            "import json, os, pyarrow.parquet as pq\n"
            "d = '/data/enterprise_register'\n"
            "print(json.dumps({'files': sorted(os.listdir(d)),"
            " 'columns': pq.read_schema(d + '/enterprise_register.parquet').names,"
            " 'data': sorted(os.listdir('/data'))}))")
    finally:
        hub.client.stop("analyst1", f"g{grant}", box.token)
    assert result["data"] == ["README.md", "enterprise_register"]
    assert result["files"] == ["enterprise_register.parquet"]
    assert result["columns"] == ["company_name", "industry", "district"]
    spawns = [r for r in audit(hub, "sandbox.spawn")
              if r["outcome"] == "ok" and r["details"]["grant"] == grant]
    source = Path(spawns[-1]["details"]["mounts"][0]["source"])
    assert ".projections" in source.parts and source.stat().st_mode & 0o222 == 0


# -- refusals ----------------------------------------------------------------------------------


def _item(spec: str) -> grants.ItemSpec:
    """``name@n`` or ``name@n:col,col`` (the CLI's --dataset syntax)."""
    ref, _, columns = spec.partition(":")
    return grants.ItemSpec(ref, columns.split(",") if columns else None)


def _make_grant(hub: RunningHub, *, ends_in: timedelta, revoke: bool,
                dataset: str = "enterprise_register@1") -> int:
    """Create and activate a grant in-process: a CLI round trip can outlast a short term."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ENCLAVE_HOME", str(hub.home))
        with db.session(f"sqlite:///{hub.home / 'enclave.db'}") as session:
            actor = accounts.resolve_actor(session, "system")
            now = datetime.now(UTC)
            grant = grants.create_grant(
                session, actor, developer="kg-logistics-lab", scenario="refusal test",
                purpose="public_welfare", items=[_item(dataset)], members=["analyst1"],
                starts_at=now - timedelta(days=1), ends_at=now + ends_in)
            grants.change_state(session, actor, grant.id, "activate")
            if revoke:
                grants.change_state(session, actor, grant.id, "revoke", reason="test")
            return grant.id


def test_spawn_refused_for_foreign_expired_revoked_or_garbage_grants(
        sandbox1: Sandbox, hub: RunningHub) -> None:
    expiring = _make_grant(hub, ends_in=timedelta(seconds=3), revoke=False)
    revoked = _make_grant(hub, ends_in=timedelta(days=30), revoke=True)
    time.sleep(3.5)
    before = len(audit(hub, "sandbox.spawn"))
    cases = {
        "someone else's grant": ("g2", {"grant": "2"}),
        "expired grant": (f"g{expiring}", {"grant": str(expiring)}),
        "revoked grant": (f"g{revoked}", {"grant": str(revoked)}),
        "garbage grant": ("g9", {"grant": "1; DROP TABLE grants"}),
        "grant not matching server": ("g9", {"grant": "1"}),
        "non-grant server name": ("lab", {"grant": "1"}),
        "image smuggled in options": ("g999", {"grant": "999", "image": "enclave-base"}),
    }
    for why, (server, options) in cases.items():
        resp = hub.client.spawn("analyst1", server, sandbox1.token, options)
        assert resp.status_code == 403, (why, resp.status_code, resp.text)
        assert "/" in resp.json()["message"], why  # zh / en
    refused = [r for r in audit(hub, "sandbox.spawn")[before:] if r["outcome"] == "refused"]
    assert len(refused) == len(cases)
    ok = [r for r in audit(hub, "sandbox.spawn") if r["outcome"] == "ok"]
    assert {"enterprise_register@1", "travel_records@1"} == set(ok[0]["details"]["datasets"])


# -- revocation --------------------------------------------------------------------------------


def test_revoke_while_running_stops_server_and_destroys_workspace(sandbox2: Sandbox,
                                                                  hub: RunningHub) -> None:
    sandbox2.run("open('/home/analyst/work/notes.csv','w').write('a,b\\n1,2\\n' * 1000);"
                 "print('{}')")
    workspace = hub.home / "workspaces" / "analyst2" / "2"
    assert (workspace / "notes.csv").is_file()
    container = hub.container_name("analyst2", "g2")
    revoked = hub.enclave("grant", "revoke", "2", "--reason", "integration test")
    assert revoked.returncode == 0, revoked.stderr
    started = time.monotonic()
    while time.monotonic() - started < 10:
        gone = hub.client.server_info("analyst2", "g2") is None
        container_gone = subprocess.run(["docker", "inspect", container],
                                        capture_output=True).returncode != 0
        if gone and container_gone and not workspace.exists():
            break
        time.sleep(0.25)
    elapsed = time.monotonic() - started
    assert hub.client.server_info("analyst2", "g2") is None, "server still running"
    assert subprocess.run(["docker", "inspect", container], capture_output=True).returncode
    assert not workspace.exists()
    assert elapsed < 10, elapsed
    destroyed = [r for r in audit(hub, "workspace.destroy") if r["object_id"] == "2"]
    assert destroyed and destroyed[-1]["outcome"] == "ok"
    details = destroyed[-1]["details"]
    assert details["user"] == "analyst2" and details["files"] >= 1
    assert details["bytes"] >= 8000 and "notes.csv" in details["paths"]
    stops = [r for r in audit(hub, "sandbox.stop") if r["details"].get("grant") == 2]
    assert stops and stops[-1]["details"]["reason"].startswith("reaper")


def _wait_stopped(hub: RunningHub, user: str, server: str, limit: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if hub.client.server_info(user, server) is None:
            return time.monotonic() - started
        time.sleep(0.25)
    raise AssertionError(f"{user}/{server} still running after {limit} s")


def test_expiry_while_running_stops_server_and_destroys_workspace(hub: RunningHub) -> None:
    grant = _make_grant(hub, ends_in=timedelta(seconds=15), revoke=False)
    box = Sandbox(hub, "analyst1", grant)
    box.run("open('/home/analyst/work/draft.txt','w').write('d' * 100); print('{}')")
    workspace = hub.home / "workspaces" / "analyst1" / str(grant)
    assert (workspace / "draft.txt").is_file()
    _wait_stopped(hub, "analyst1", f"g{grant}", limit=15 + 10)
    deadline = time.monotonic() + 5
    while workspace.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not workspace.exists()
    assert any(r["object_id"] == str(grant) for r in audit(hub, "grant.expire"))
    destroyed = [r for r in audit(hub, "workspace.destroy") if r["object_id"] == str(grant)]
    assert destroyed and "draft.txt" in destroyed[-1]["details"]["paths"]


def test_suspension_stops_server_but_keeps_workspace(hub: RunningHub) -> None:
    grant = _make_grant(hub, ends_in=timedelta(days=30), revoke=False)
    box = Sandbox(hub, "analyst1", grant)
    box.run("open('/home/analyst/work/keep.txt','w').write('k'); print('{}')")
    assert hub.enclave("grant", "suspend", str(grant), "--reason", "audit").returncode == 0
    assert _wait_stopped(hub, "analyst1", f"g{grant}", limit=10) < 10
    time.sleep(2.5)  # one more reaper tick: still nothing destroyed
    assert (hub.home / "workspaces" / "analyst1" / str(grant) / "keep.txt").read_text() == "k"
    resp = hub.client.spawn("analyst1", f"g{grant}", box.token, {"grant": str(grant)})
    assert resp.status_code == 403 and "suspended" in resp.json()["message"]


def test_hub_restarts_on_existing_state_and_roles_survive(sandbox1: Sandbox,
                                                         hub: RunningHub) -> None:
    hub.restart()  # managed roles with members in the database: JupyterHub 6.1.1 used to crash
    me = hub.client.api("GET", "/user", token=sandbox1.token)
    assert me.status_code == 200, me.text
    assert "enclave-analyst" in me.json()["roles"]
    assert "reaper started" in hub.log_text().split("Received signal")[-1]
