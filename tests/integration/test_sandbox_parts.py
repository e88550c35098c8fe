"""Sandbox pieces that need no Docker: firewall rule building, workspace destruction, the
grant id from untrusted user_options, column projections, the spawn form, role mapping."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hub.sandbox import network
from hub.sandbox.auth import ROLE_MAP, ROLE_SCOPES, role_spec
from hub.sandbox.form import GrantChoice, form_html, options_from_form
from hub.sandbox.mounts import projection_dir
from hub.sandbox.reaper import destroy_tree
from hub.sandbox.spawner import GrantedDockerSpawner, SpawnRefused


class FakeIptables:
    """An in-memory iptables/ip6tables good enough for -N -L -S -C -A -I -F -D."""

    def __init__(self) -> None:
        self.chains: dict[tuple[str, str], list[list[str]]] = {
            (tool, chain): [] for tool in ("iptables", "ip6tables")
            for chain in ("INPUT", "FORWARD", "DOCKER-USER")}

    def __call__(self, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        tool, *args = [a for a in argv if a not in ("-w", "-n")]
        op, chain, *rest = args
        key, ok = (tool, chain), subprocess.CompletedProcess(argv, 0, "", "")
        fail = subprocess.CompletedProcess(argv, 1, "", "no such rule/chain")
        if op == "-N":
            self.chains[key] = []
            return ok
        if key not in self.chains:
            return fail
        rules = self.chains[key]
        if op == "-L":
            return ok
        if op == "-S":
            lines = [f"-N {chain}"] + [" ".join(["-A", chain, *r]) for r in rules]
            return subprocess.CompletedProcess(argv, 0, "\n".join(lines), "")
        if op == "-C":
            return ok if rest in rules else fail
        if op == "-A":
            rules.append(rest)
        elif op == "-I":
            rules.insert(int(rest[0]) - 1, rest[1:])
        elif op == "-F":
            rules.clear()
        elif op == "-D":
            rules.remove(rest)
        return ok


def test_install_rules_builds_the_chains_and_is_idempotent() -> None:
    fake = FakeIptables()
    assert network.install_rules(8081, runner=fake)
    chain_in = fake.chains[("iptables", network.CHAIN_IN)]
    assert chain_in[0][-1] == "ACCEPT" and "ESTABLISHED" in chain_in[0][-3]
    assert chain_in[1] == ["-p", "tcp", "-m", "tcp", "--dport", "8081", "-j", "ACCEPT"]
    assert chain_in[-1] == ["-j", "DROP"] and len(chain_in) == 3
    assert fake.chains[("iptables", "INPUT")][0] == ["-i", "encl+", "-j", network.CHAIN_IN]
    assert ["-j", network.CHAIN_FWD] in fake.chains[("iptables", "DOCKER-USER")]
    assert ["-j", network.CHAIN_FWD] in fake.chains[("iptables", "FORWARD")]
    assert fake.chains[("iptables", network.CHAIN_FWD)] == [["-i", "encl+", "-j", "DROP"],
                                                           ["-o", "encl+", "-j", "DROP"]]
    assert ["-i", "encl+", "-j", "DROP"] in fake.chains[("ip6tables", "INPUT")]
    assert network.install_rules(8081, runner=fake) == []  # second run changes nothing


def test_second_hub_port_is_added_and_withdrawn_without_touching_the_first() -> None:
    fake = FakeIptables()
    network.install_rules(8081, runner=fake)
    network.install_rules(18081, runner=fake)
    assert network._allowed_ports(fake) == {8081, 18081}
    network.remove_hub_port(18081, runner=fake)
    assert network._allowed_ports(fake) == {8081}
    assert fake.chains[("iptables", network.CHAIN_IN)][-1] == ["-j", "DROP"]
    hubport_jumps = [r for r in fake.chains[("iptables", "INPUT")]
                     if network.CHAIN_HUBPORT in r]
    assert hubport_jumps == [["-p", "tcp", "-m", "tcp", "--dport", "8081", "-j",
                              network.CHAIN_HUBPORT]]


def test_bridge_names_fit_linux_and_match_the_firewall_prefix() -> None:
    name, bridge = network.network_names("someone-with-a-long-name/g1234567")
    assert len(bridge) <= 15 and bridge.startswith(network.BRIDGE_PREFIX)
    assert name.startswith(network.NETWORK_PREFIX)
    assert network.network_names("a/g1") != network.network_names("a/g2")


# -- workspace destruction ----------------------------------------------------------------------


def test_destroy_tree_overwrites_unlinks_and_never_follows_symlinks(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("must survive")
    root = tmp_path / "ws"
    (root / "outbox" / "deep").mkdir(parents=True)
    (root / "a.csv").write_text("x" * 5000)
    (root / "outbox" / "deep" / "b.bin").write_bytes(b"\1" * 100)
    (root / "link-to-outside").symlink_to(outside)
    (root / "dirlink").symlink_to(tmp_path)
    os.mkfifo(root / "pipe")
    report = destroy_tree(root)
    assert not root.exists()
    assert outside.read_text() == "must survive" and tmp_path.is_dir()
    assert report.bytes == 5100 and report.files == 5 and not report.skipped
    assert sorted(report.paths) == ["a.csv", "dirlink", "link-to-outside",
                                    "outbox/deep/b.bin", "pipe"]
    assert report.to_json()["method"].startswith("overwrite")


def test_destroy_tree_overwrites_before_unlinking(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    target = root / "data.csv"
    target.write_text("secret")
    keep = tmp_path / "hardlink"
    os.link(target, keep)  # a second name shows what happened to the blocks
    destroy_tree(root)
    assert keep.read_bytes() == b"\0" * len("secret")


# -- untrusted user_options ---------------------------------------------------------------------


def _spawner(name: str, options: dict[str, object]) -> GrantedDockerSpawner:
    spawner = GrantedDockerSpawner(orm_spawner=SimpleNamespace(name=name, server=None))
    spawner.user_options = options
    return spawner


@pytest.mark.parametrize(("name", "options", "expected"), [
    ("g1", {"grant": "1"}, 1),
    ("g12", {"grant": 12}, 12),
    ("g3", {}, 3),
    ("g3", {"grant": ""}, 3),
])
def test_grant_id_from_server_name_and_options(name: str, options: dict[str, object],
                                               expected: int) -> None:
    assert _spawner(name, options).requested_grant() == expected


@pytest.mark.parametrize(("name", "options"), [
    ("g1", {"grant": "2"}),                 # options and server disagree
    ("", {"grant": "1"}),                   # default server: one server per grant
    ("lab", {"grant": "1"}),
    ("g1", {"grant": "1; rm -rf /"}),
    ("g1", {"grant": ["1"]}),
    ("g1", {"grant": "-1"}),
    ("g01", {"grant": "1"}),
    ("g1", {"grant": "1" * 40}),
])
def test_garbage_grant_ids_are_refused_with_403(name: str, options: dict[str, object]) -> None:
    with pytest.raises(SpawnRefused) as info:
        _spawner(name, options).requested_grant()
    assert info.value.status_code == 403 and info.value.zh and info.value.en


# -- projections -------------------------------------------------------------------------------


def test_projection_keeps_only_granted_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               ) -> None:
    monkeypatch.setenv("ENCLAVE_HOME", str(tmp_path / "home"))
    source = tmp_path / "src"
    source.mkdir()
    pq.write_table(pa.table({"a": [1, 2], "secret": ["x", "y"], "b": ["p", "q"]}),
                   source / "t.parquet")
    (source / "t.csv").write_text("a,secret,b\n1,x,\"p,1\"\n2,y,q\n", encoding="utf-8")
    out = projection_dir(source, ("a", "b"), "demo", 1, "real", ("t.parquet", "t.csv"))
    assert ".projections" in out.parts
    assert pq.read_table(out / "t.parquet").column_names == ["a", "b"]
    assert (out / "t.csv").read_bytes() == b"a,b\r\n1,\"p,1\"\r\n2,q\r\n"
    assert os.stat(out).st_mode & 0o222 == 0 and os.stat(out / "t.csv").st_mode & 0o222 == 0
    again = projection_dir(source, ("a", "b"), "demo", 1, "real", ("t.parquet", "t.csv"))
    assert again == out  # reused, not rebuilt


# -- form and roles ----------------------------------------------------------------------------


def test_form_preselects_the_servers_grant_and_escapes_text() -> None:
    choices = [GrantChoice(1, "<script>x</script>", "public_welfare", "2027-01-01",
                           ("travel_records@1",)),
               GrantChoice(2, "物流", "industry", "2027-01-01", ("clinic@1",))]
    page = form_html("analyst1", "g1", choices)
    assert 'value="1" checked' in page and 'value="2"' not in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    links = form_html("analyst1", "", choices)
    assert "spawn/analyst1/g1" in links and "spawn/analyst1/g2" in links
    assert options_from_form({"grant": ["2"], "image": ["evil"]}) == {"grant": "2"}


def test_every_enclave_role_maps_to_a_defined_jupyterhub_role() -> None:
    assert set(ROLE_MAP.values()) <= set(ROLE_SCOPES)
    assert role_spec("enclave-analyst")["scopes"] == ["self"]
    assert not any(scope in ("admin:users", "admin:servers", "access:servers")
                   for name in ROLE_SCOPES for scope in ROLE_SCOPES[name])
