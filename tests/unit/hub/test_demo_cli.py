"""``enclave demo`` and ``enclave twin`` end to end, with the real scanner, in a temporary home."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from egress_filter import checksums
from hub import accounts, catalog, db, grants
from hub.cli.main import main
from hub.demo.seed import ACCOUNTS
from hub.models import AuditEntry
from hub.synth import store

README = Path(__file__).parents[3] / "notebooks" / "demo_data" / "README.md"


def run(capsys, *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        path = tmp_path_factory.mktemp("enclave")
        mp.setenv("ENCLAVE_HOME", str(path))
        mp.setenv("ENCLAVE_LANG", "en")
        mp.delenv("ENCLAVE_DATABASE_URL", raising=False)
        mp.delenv("ENCLAVE_ACTOR", raising=False)
        try:
            main(["demo", "--seed", "3", "--json"])
        except SystemExit as exc:
            assert not exc.code
        yield path
        db.dispose_all()


def test_demo_seeds_datasets_at_their_levels_with_twins_and_active_grants(home) -> None:
    with db.session() as session:
        levels = {d.name: d.versions[-1].level for d in catalog.list_datasets(session)}
        assert levels == {"travel_records": 3, "clinic_visits": 3, "enterprise_register": 2}
        for name, level in levels.items():
            version = catalog.get_version(session, name)
            assert (store.read_twin(version) is not None) == (level == 3)
            assert version.row_count == 2_000
        active = grants.list_grants(session, state="active")
        assert sorted(g.purpose for g in active) == ["industry", "public_welfare"]
        industry = next(g for g in active if g.purpose == "industry")
        usable = grants.usable_versions(session, "analyst2", industry)
        assert [u.sandbox_view for u in usable] == ["twin"]


def test_every_demo_account_logs_in_with_its_documented_password(home) -> None:
    readme = README.read_text(encoding="utf-8")
    with db.session() as session:
        for account in ACCOUNTS:
            user = accounts.authenticate(session, account.username, account.password)
            assert user is not None and set(account.roles) <= user.roles
            assert f"`{account.username}`" in readme and f"`{account.password}`" in readme


def test_demo_refuses_a_non_empty_home(home, capsys) -> None:
    code, _, err = run(capsys, "demo")
    assert code == 1 and "already_exists" in err


def test_twin_of_a_level3_version_shares_no_identifier_and_ids_are_valid(home, capsys) -> None:
    code, out, err = run(capsys, "twin", "clinic_visits@1", "--seed", "11", "--json", "--as",
                         "admin")
    assert code == 0, err
    manifest = json.loads(out)
    with db.session() as session:
        version = catalog.get_version(session, "clinic_visits@1")
        original = store.load_version(version)
        folder = store.twin_dir(version)
    twin = pd.read_parquet(folder / "clinic_visits.parquet")
    assert list(twin.columns) == list(original.columns) and len(twin) == len(original)
    assert set(manifest["tags"]) >= {"resident_id", "patient_name", "phone"}
    for column in manifest["tags"]:
        assert not set(twin[column]) & set(original[column]), column
    assert all(checksums.is_valid_resident_id(v) for v in twin["resident_id"])
    assert manifest["seed"] == 11 and Path(manifest["path"]) == folder


def test_twin_build_is_deterministic_and_audited(home, capsys) -> None:
    hashes = []
    for _ in range(2):
        code, out, err = run(capsys, "twin", "travel_records", "--seed", "5", "--json")
        assert code == 0, err
        hashes.append([f["sha256"] for f in json.loads(out)["files"]])
    assert hashes[0] == hashes[1]
    with db.session() as session:
        actions = session.scalars(select(AuditEntry).where(AuditEntry.action == "twin.build"))
        assert {(e.object_id, e.outcome) for e in actions} >= {("travel_records@1", "ok")}
        version = catalog.get_version(session, "travel_records")
        record = store.twin_record(session, version)
        assert record is not None and record.seed == 5
        assert [f["sha256"] for f in record.files] == hashes[1]
        manifest = store.twin_dir(version) / store.MANIFEST
        assert record.manifest_sha256 == catalog.sha256_file(manifest)


def test_an_analyst_may_not_build_twins_and_the_refusal_is_audited(home, capsys) -> None:
    code, _, err = run(capsys, "twin", "travel_records@1", "--as", "analyst1")
    assert code == 1 and "permission_denied" in err
    with db.session() as session:
        last = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
        assert (last.action, last.actor, last.outcome) == ("twin.build", "analyst1", "refused")


def test_twin_of_an_unknown_version_is_a_clear_error(home, capsys) -> None:
    code, _, err = run(capsys, "twin", "nope@1")
    assert code == 1 and "not_found" in err
