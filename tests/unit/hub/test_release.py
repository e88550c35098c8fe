"""Signed releases: manifest content, offline verification (and what it catches), the manifest
chain, the signing key, revocation, and the ``enclave airlock``/``enclave release`` commands."""

from __future__ import annotations

import json
import stat

import pytest
import test_airlock_support as support
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.exc import IntegrityError as DBIntegrityError

from hub.airlock import release as bundles
from hub.airlock import service, states
from hub.cli.main import main
from hub.config import paths
from hub.errors import InvalidTransition, PermissionDenied, ValidationError
from hub.models import ReleasedProduct

world = support.world  # the shared fixture


def released(world, files=None, user="ana", grant=None):
    request = world.submit(files or {"summary.csv": support.CLEAN_CSV}, user=user, grant=grant)
    service.decide(world.session, world.actor("rev1"), request.id, "approve", "ok")
    assert request.state == "released"
    return request.product, service.product_dir(request.product.id)


def run_cli(capsys, *argv: str, world=None) -> tuple[int, str, str]:
    if world is not None:
        world.session.commit()  # SQLite: end the fixture's transaction (it holds the write lock)
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_manifest_records_provenance_and_is_signed(world):
    product, folder = released(world)
    manifest = json.loads((folder / bundles.MANIFEST).read_text())
    assert manifest["product_id"] == product.id and manifest["purpose"] == "free"
    assert manifest["grant"]["id"] == world.grant_id and manifest["grant"]["scenario"]
    (dataset,) = manifest["datasets"]
    assert dataset["ref"] == "visits@1" and len(dataset["content_sha256"]) == 64
    assert manifest["policy"]["level"] == 3 and len(manifest["policy"]["sha256"]) == 64
    (file,) = manifest["files"]
    assert file["sha256"] == bundles.sha256_file(folder / "files" / "summary.csv")[0]
    assert file["scan"]["verdict"] == "pass" and file["justification"]
    assert [(r["reviewer"], r["decision"]) for r in manifest["reviews"]] == [("rev1", "approve")]
    assert manifest["previous_manifest_sha256"] is None
    assert manifest["producing"] == {"notebook_sha256": None, "image_digest": None}
    assert set(manifest["timestamps"]) == {"created_at", "submitted_at", "approved_at",
                                           "released_at"}
    assert product.manifest.encode() == (folder / bundles.MANIFEST).read_bytes()


def test_industry_products_are_listed_as_fee(world):
    product, _ = released(world, {"x.csv": support.CLEAN_CSV}, user="carl",
                          grant=world.other_grant_id)
    assert service.product_json(product)["purpose"] == "fee"


def test_verify_passes_then_one_changed_byte_fails_naming_the_file(world, capsys):
    _product, folder = released(world, {"a.csv": support.CLEAN_CSV, "b.csv": support.CLEAN_CSV})
    assert bundles.verify_bundle(folder).ok
    code, out, _ = run_cli(capsys, "release", "verify", str(folder), world=world)
    assert code == 0 and "OK" in out
    target = folder / "files" / "b.csv"
    data = bytearray(target.read_bytes())
    data[5] ^= 0x01
    target.write_bytes(bytes(data))
    report = bundles.verify_bundle(folder)
    assert not report.ok and report.problems == [report.problems[0]]
    assert report.problems[0].startswith("files/b.csv: SHA-256 mismatch")
    code, _, err = run_cli(capsys, "release", "verify", str(folder))
    assert code == 1 and "files/b.csv" in err


def test_a_tampered_manifest_fails_the_signature(world):
    _product, folder = released(world)
    path = folder / bundles.MANIFEST
    path.write_text(path.read_text().replace('"purpose": "free"', '"purpose": "fee"'))
    report = bundles.verify_bundle(folder)
    assert not report.ok
    assert any("signature does not match" in p for p in report.problems)


def test_extra_and_missing_files_are_named(world):
    _product, folder = released(world, {"a.csv": support.CLEAN_CSV, "b.csv": support.CLEAN_CSV})
    (folder / "files" / "a.csv").unlink()
    (folder / "files" / "smuggled.csv").write_text("x\n")
    (folder / "notes.txt").write_text("x\n")
    problems = bundles.verify_bundle(folder).problems
    assert "files/a.csv: missing" in problems
    assert "files/smuggled.csv: extra file not in the manifest" in problems
    assert "notes.txt: extra file in the bundle" in problems


def test_a_bundle_signed_by_another_key_fails_against_the_trusted_key(world, tmp_path):
    _product, folder = released(world)
    trusted = (paths().keys / bundles.PUB_NAME).read_bytes()
    forger = Ed25519PrivateKey.generate()
    data = (folder / bundles.MANIFEST).read_bytes()
    (folder / bundles.SIGNATURE).write_text(forger.sign(data).hex())
    (folder / bundles.PUBLIC_KEY).write_bytes(forger.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    report = bundles.verify_bundle(folder, trusted)
    assert not report.ok and any("signature" in p for p in report.problems)


def test_the_signing_key_is_private_made_once_and_its_public_half_published(world):
    key_path = paths().ensure().keys / bundles.KEY_NAME
    assert not key_path.exists()
    first = bundles.public_key_pem()
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert (paths().keys / bundles.PUB_NAME).read_bytes() == first
    assert bundles.public_key_pem() == first
    key_path.chmod(0o644)
    with pytest.raises(Exception, match="chmod 600"):
        bundles.signing_key()


def test_products_form_a_chain_that_cannot_fork(world):
    first, _ = released(world, {"a.csv": support.CLEAN_CSV})
    second, folder = released(world, {"b.csv": support.CLEAN_CSV})
    assert second.previous_manifest_sha256 == first.manifest_sha256
    manifest = json.loads((folder / bundles.MANIFEST).read_text())
    assert manifest["previous_manifest_sha256"] == first.manifest_sha256
    third = world.submit({"c.csv": support.CLEAN_CSV})
    world.session.add(ReleasedProduct(
        request_id=third.id, purpose="public_welfare", manifest="{}", signature="00",
        manifest_sha256="f" * 64, previous_manifest_sha256=first.manifest_sha256))
    with pytest.raises(DBIntegrityError):
        world.session.flush()
    world.session.rollback()


def test_revoke_withdraws_files_keeps_the_manifest_and_is_listed(world, capsys):
    product, folder = released(world)
    for name in ("rev1", "ana"):
        with pytest.raises(PermissionDenied):
            service.revoke_product(world.session, world.actor(name), product.id, "x")
    with pytest.raises(ValidationError, match="reason"):
        service.revoke_product(world.session, world.actor("boss"), product.id, " ")
    service.revoke_product(world.session, world.actor("boss"), product.id, "wrong denominator")
    assert product.request.state == "revoked"
    assert not (folder / "files").exists() and (folder / bundles.MANIFEST).exists()
    report = bundles.verify_bundle(folder)
    assert not report.ok and "revoked" in report.problems[0]
    assert "wrong denominator" in report.problems[0]
    code, out, _ = run_cli(capsys, "release", "list", "--json", world=world)
    listed = json.loads(out)
    assert code == 0 and listed[0]["state"] == "revoked"
    assert listed[0]["revoke_reason"] == "wrong denominator"
    with pytest.raises(InvalidTransition):
        service.revoke_product(world.session, world.actor("boss"), product.id, "again")


def test_a_half_built_bundle_from_a_crash_is_replaced_by_a_whole_one(world):
    request = world.submit({"a.csv": support.CLEAN_CSV})
    leftover = paths().releases / ".1.building"
    (leftover / "files").mkdir(parents=True)
    (leftover / "files" / "junk.csv").write_text("partial")
    service.decide(world.session, world.actor("rev1"), request.id, "approve")
    folder = service.product_dir(request.product.id)
    assert bundles.verify_bundle(folder).ok and not leftover.exists()


def test_cli_submit_decide_show_and_release_list(world, capsys):
    world.put("t.csv", support.REVIEW_CSV)
    code, out, err = run_cli(capsys, "airlock", "submit", "--grant", str(world.grant_id), "t.csv",
                             "--context", "monthly", "--justification", "report", "--as", "ana",
                             "--json")
    assert code == 0, err
    request = json.loads(out)
    assert request["state"] == "pending_review" and request["required_reviews"] == 2
    rid = str(request["id"])
    code, _, err = run_cli(capsys, "airlock", "decide", rid, "--decision", "approve",
                           "--as", "ana")
    assert code == 1 and "own request" in err
    for reviewer in ("rev1", "rev2"):
        code, _, err = run_cli(capsys, "airlock", "decide", rid, "--decision", "approve",
                               "--comment", "ok", "--as", reviewer)
        assert code == 0, err
    code, out, _ = run_cli(capsys, "airlock", "show", rid, "--as", "ana", "--json")
    assert json.loads(out)["state"] == "released"
    code, out, _ = run_cli(capsys, "release", "list", "--json")
    (product,) = json.loads(out)
    assert product["state"] == "published" and product["files"][0]["name"] == "t.csv"
    code, out, _ = run_cli(capsys, "airlock", "transitions")
    assert code == 0 and out.strip() == states.markdown_table()
