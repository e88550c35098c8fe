"""CLI smoke tests: the real entry point (`hub.cli.main.main`) with a temporary ENCLAVE_HOME."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

import pytest
from click.testing import CliRunner

from hub import catalog, db
from hub.cli.main import cli, main

GROUPS = ("org", "user", "catalog", "grant", "audit")


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def enclave(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ENCLAVE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ENCLAVE_LANG", "en")
    monkeypatch.delenv("ENCLAVE_DATABASE_URL", raising=False)
    monkeypatch.delenv("ENCLAVE_ACTOR", raising=False)
    monkeypatch.setattr(catalog, "default_tagger",
                        lambda table: {c: ["CN_MOBILE"] for c in table.column_names
                                       if c == "phone"})

    def run(*args: str, stdin: str = "") -> Run:
        monkeypatch.setattr("sys.stdin", __import__("io").StringIO(stdin))
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    yield run
    db.dispose_all()


def ok(result: Run) -> Run:
    assert result.code == 0, result.err
    return result


def seed_world(run, tmp_path) -> None:
    ok(run("org", "add", "zz-op", "--kind", "operator", "--title-zh", "郑港运营"))
    ok(run("org", "add", "dev1", "--kind", "developer"))
    ok(run("org", "add", "airport", "--kind", "provider"))
    ok(run("org", "add", "stats", "--kind", "regulator"))
    ok(run("user", "add", "boss", "--org", "zz-op", "--role", "admin", "--password-stdin",
           stdin="boss password 1\n"))
    ok(run("user", "add", "ana", "--org", "dev1", "--role", "analyst", "--no-password"))
    ok(run("user", "add", "inspector", "--org", "stats", "--role", "auditor", "--no-password"))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "freight.csv").write_text(
        "month,tonnes,phone\n2025-01,12,13812345678\n", encoding="utf-8")
    (tmp_path / "data" / "m.yaml").write_text(
        "datasets:\n  - name: freight\n    title_zh: 航空货运量\n    provider: airport\n"
        "    domain: 交通物流\n    level: 3\n    files: [freight.csv]\n", encoding="utf-8")
    ok(run("catalog", "register", str(tmp_path / "data" / "m.yaml")))


@pytest.mark.parametrize("group", GROUPS)
def test_help_is_bilingual_everywhere(group):
    runner = CliRunner()
    result = runner.invoke(cli, [group, "--help"])
    assert result.exit_code == 0 and " / " in result.output
    for name in cli.get_command(None, group).commands:  # type: ignore[union-attr]
        sub = runner.invoke(cli, [group, name, "--help"])
        assert sub.exit_code == 0, (group, name)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in sub.output), (group, name)


def test_a_full_control_plane_session(enclave, tmp_path):
    run = enclave
    seed_world(run, tmp_path)
    orgs = json.loads(ok(run("org", "list", "--json")).out)
    assert {o["name"]: o["kind"] for o in orgs}["dev1"] == "developer"
    assert "ana" in ok(run("user", "list")).out
    shown = json.loads(ok(run("catalog", "show", "freight", "--json")).out)
    assert shown["versions"][0]["schema"][2] == {"name": "phone", "type": "string",
                                                 "tags": ["CN_MOBILE"]}
    created = json.loads(ok(run("grant", "create", "--as", "boss", "--developer", "dev1",
                                "--scenario", "物流时效", "--purpose", "industry",
                                "--price", "9800", "--dataset", "freight@1:month,tonnes",
                                "--member", "ana", "--start", "2025-01-01",
                                "--end", "2027-12-31", "--json")).out)
    grant = str(created["id"])
    ok(run("grant", "activate", grant, "--as", "boss", "--now", "2025-06-01"))
    usable = json.loads(ok(run("grant", "usable", grant, "--user", "ana", "--now",
                               "2025-06-01", "--json")).out)
    assert usable[0]["columns"] == ["month", "tonnes"] and usable[0]["sandbox_view"] == "twin"
    assert json.loads(ok(run("grant", "usable", grant, "--user", "ana", "--now",
                             "2028-01-01", "--json")).out) == []
    assert json.loads(ok(run("grant", "show", grant, "--json")).out)["state"] == "expired"
    ok(run("audit", "verify", "--as", "inspector"))
    out = tmp_path / "audit.jsonl"
    ok(run("audit", "export", "-o", str(out), "--as", "inspector"))
    actions = [json.loads(line)["action"] for line in out.read_text().splitlines()]
    assert {"org.add", "user.add", "catalog.register", "grant.create", "grant.activate",
            "grant.expire", "audit.verify"} <= set(actions)


def test_errors_are_clear_and_exit_non_zero(enclave, tmp_path):
    run = enclave
    seed_world(run, tmp_path)
    bad = run("grant", "create", "--developer", "dev1", "--scenario", "x", "--purpose",
              "public_welfare", "--dataset", "freight", "--start", "2025-01-01",
              "--end", "2028-01-02")
    assert bad.code == 1 and "error [policy]: ends_at: the term may be at most 3 years" in bad.err
    denied = run("user", "add", "eve", "--org", "dev1", "--role", "analyst", "--no-password",
                 "--as", "ana")
    assert denied.code == 1 and "ana may not user.add" in denied.err
    assert run("grant", "show", "99").code == 1
    assert run("catalog", "register", "--name", "x").code == 1
    assert "below the level 3" in run("catalog", "register", "--name", "f2", "--title-zh", "f",
                                      "--provider", "airport", "--domain", "d", "--level", "1",
                                      "--file", str(tmp_path / "data" / "freight.csv")).err
    young = run("audit", "prune", "--before", "2099-01-01")
    assert young.code == 1 and "180 days" in young.err


def test_audit_verify_names_the_tampered_entry(enclave, tmp_path):
    run = enclave
    seed_world(run, tmp_path)
    db.dispose_all()
    conn = sqlite3.connect(tmp_path / "home" / "enclave.db", isolation_level=None)
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute("UPDATE audit_log SET actor='mallory' WHERE seq=3")
    conn.close()
    result = run("audit", "verify")
    assert result.code == 1 and "entry seq 3" in result.err


def test_catalog_verify_fails_on_a_changed_file(enclave, tmp_path):
    run = enclave
    seed_world(run, tmp_path)
    assert "all stored files match" in ok(run("catalog", "verify")).out
    stored = tmp_path / "home" / "store" / "freight" / "v1" / "freight.csv"
    stored.chmod(0o644)
    stored.write_text("month,tonnes,phone\n2025-01,13,13812345678\n", encoding="utf-8")
    result = run("catalog", "verify")
    assert result.code == 1 and "checksum_mismatch" in result.err


def test_roles_and_transitions_commands(enclave, tmp_path):
    run = enclave
    seed_world(run, tmp_path)
    roles = json.loads(ok(run("user", "roles", "boss", "--add", "reviewer", "--json")).out)
    assert roles["roles"] == ["admin", "reviewer"]
    table = json.loads(ok(run("grant", "transitions", "--json")).out)
    assert {"from": "draft", "action": "activate", "to": "active", "roles": ["admin"]} in table
    ok(run("user", "set-password", "ana", "--password-stdin", stdin="long enough pw\n"))
