"""Signed release bundles: manifest, Ed25519 signature, offline verification, signing key.

A bundle is a folder ``releases/<product_id>/``::

    manifest.json      canonical JSON (sorted keys, UTF-8), the exact bytes that are signed
    manifest.sig       hex Ed25519 signature over manifest.json
    public_key.pem     the signing key's public half (for convenience; trust the auditor's copy)
    files/<name>       the released files, each listed in the manifest with its SHA-256

Each manifest names the SHA-256 of the previous product's manifest, so the products form a chain
(the database refuses two products with the same predecessor).

The signing key is generated on first use: ``paths().keys/release_ed25519.pem`` (PKCS#8, mode
0600) and ``release_ed25519.pub.pem`` (the public key, for auditors). Creation is atomic (written
to a temp file, then hard-linked into place, which fails if another process won), so two processes
never end up with different keys.

Public API::

    signing_key() -> Ed25519PrivateKey;  public_key_pem() -> bytes;  key_fingerprint(pem) -> str
    manifest_bytes(manifest: dict) -> bytes
    sign(data: bytes) -> str
    write_bundle(product_dir, manifest_text, signature, sources: dict[name, Path]) -> None
    verify_bundle(path, public_key_pem=None) -> VerifyReport
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hub.airlock.quarantine import fsync_dir, sha256_file, write_atomic
from hub.config import paths
from hub.errors import IntegrityError

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "public_key.pem"
REVOKED = "revoked.json"  # written when a product is revoked; its files/ are then removed
FILES = "files"
FORMAT = "enclave-release/1"
KEY_NAME = "release_ed25519.pem"
PUB_NAME = "release_ed25519.pub.pem"


# -- key ----------------------------------------------------------------------------------------


def _key_path() -> Path:
    return paths().ensure().keys / KEY_NAME


def signing_key() -> Ed25519PrivateKey:
    """The release signing key, generated (0600) on first use."""
    path = _key_path()
    if not path.exists():
        _generate(path)
    if path.stat().st_mode & 0o077:
        raise IntegrityError(f"signing key {path} is readable by others; chmod 600 it",
                             f"签名私钥 {path} 权限过宽，请设为 600")
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise IntegrityError(f"{path} is not an Ed25519 key", f"{path} 不是 Ed25519 私钥")
    return key


def _generate(path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
        out.flush()
        os.fsync(out.fileno())
    try:
        os.link(tmp, path)  # atomic and exclusive: a concurrent generator keeps its own key out
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    public = _public_pem(serialization.load_pem_private_key(path.read_bytes(), password=None))
    write_atomic(path.with_name(PUB_NAME), public, mode=0o644)
    fsync_dir(path.parent)


def _public_pem(key: Any) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def public_key_pem() -> bytes:
    """The public half of the signing key (PEM), as given to auditors."""
    return _public_pem(signing_key())


def key_fingerprint(pem: bytes) -> str:
    """SHA-256 of the raw 32-byte public key."""
    key = serialization.load_pem_public_key(pem)
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


# -- manifest and bundle ------------------------------------------------------------------------


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """Canonical bytes of a manifest: what is hashed, signed and written."""
    return (json.dumps(manifest, sort_keys=True, ensure_ascii=False, indent=1) + "\n").encode()


def sign(data: bytes) -> str:
    return signing_key().sign(data).hex()


def write_bundle(product_dir: Path, manifest_text: str, signature: str,
                 sources: dict[str, Path]) -> None:
    """Create ``product_dir`` atomically: build it beside, then rename it into place.

    If ``product_dir`` already exists (a crash after the rename) it is left as it is; the caller
    verifies it. A leftover half-built temp folder is removed first.
    """
    if product_dir.exists():
        return
    tmp = product_dir.with_name(f".{product_dir.name}.building")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / FILES).mkdir(parents=True)
    manifest = json.loads(manifest_text)
    for entry in manifest["files"]:
        source = sources[entry["name"]]
        digest, _ = sha256_file(source)
        if digest != entry["sha256"]:
            raise IntegrityError(
                f"quarantine copy of {entry['name']} changed since review (sha256 {digest}, "
                f"reviewed {entry['sha256']}); not released",
                f"隔离区文件 {entry['name']} 在审核后被改动；不予发布")
        target = tmp / FILES / entry["name"]
        shutil.copyfile(source, target)
        with open(target, "rb") as handle:
            os.fsync(handle.fileno())
    write_atomic(tmp / MANIFEST, manifest_text.encode(), mode=0o644)
    write_atomic(tmp / SIGNATURE, (signature + "\n").encode(), mode=0o644)
    write_atomic(tmp / PUBLIC_KEY, public_key_pem(), mode=0o644)
    fsync_dir(tmp / FILES)
    os.rename(tmp, product_dir)
    fsync_dir(product_dir.parent)


@dataclass
class VerifyReport:
    """Outcome of :func:`verify_bundle`: ``ok`` or the list of problems (each names what)."""

    path: str
    ok: bool = True
    problems: list[str] = field(default_factory=list)
    checked_files: int = 0
    product_id: Any = None
    key_source: str = ""

    def fail(self, message: str) -> None:
        self.ok = False
        self.problems.append(message)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "ok": self.ok, "problems": self.problems,
                "checked_files": self.checked_files, "product_id": self.product_id,
                "key_source": self.key_source}


def _trusted_key(bundle: Path, given: bytes | None, report: VerifyReport) -> bytes | None:
    if given is not None:
        report.key_source = "given"
        return given
    own = paths().keys / PUB_NAME
    if own.is_file():
        report.key_source = str(own)
        return own.read_bytes()
    shipped = bundle / PUBLIC_KEY
    if shipped.is_file():
        # Only proves integrity against the bundle's own key; say so in the report.
        report.key_source = f"{shipped} (from the bundle itself; pass --public-key to trust)"
        return shipped.read_bytes()
    return None


def _check_signature(bundle: Path, data: bytes, key_pem: bytes, report: VerifyReport) -> None:
    try:
        signature = bytes.fromhex((bundle / SIGNATURE).read_text().strip())
        key = serialization.load_pem_public_key(key_pem)
        if not isinstance(key, Ed25519PublicKey):
            report.fail("public key: not an Ed25519 key")
            return
        key.verify(signature, data)
    except FileNotFoundError:
        report.fail(f"{SIGNATURE}: missing")
    except ValueError as exc:
        report.fail(f"{SIGNATURE}: unreadable ({exc})")
    except InvalidSignature:
        report.fail(f"{MANIFEST}: signature does not match (manifest altered or signed by "
                    "another key)")


def _check_files(bundle: Path, manifest: dict[str, Any], report: VerifyReport) -> None:
    listed = {entry["name"]: entry for entry in manifest.get("files", [])}
    folder = bundle / FILES
    present = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    for name in sorted(present - set(listed)):
        report.fail(f"files/{name}: extra file not in the manifest")
    for name, entry in sorted(listed.items()):
        path = folder / name
        if name not in present:
            report.fail(f"files/{name}: missing")
            continue
        if path.is_symlink() or not path.is_file():
            report.fail(f"files/{name}: not a regular file")
            continue
        digest, size = sha256_file(path)
        report.checked_files += 1
        if digest != entry["sha256"] or size != entry["size"]:
            report.fail(f"files/{name}: SHA-256 mismatch (manifest {entry['sha256']}, "
                        f"file {digest})")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def withdraw_files(product_dir: Path, note: dict[str, Any]) -> None:
    """Mark a bundle revoked (``revoked.json``) and remove its files; the manifest stays.

    Idempotent: safe to run again after a crash half-way.
    """
    if not product_dir.is_dir():
        return
    write_atomic(product_dir / REVOKED, manifest_bytes(note), mode=0o644)
    shutil.rmtree(product_dir / FILES, ignore_errors=True)
    fsync_dir(product_dir)


def verify_bundle(path: str | os.PathLike[str], public_key_pem: bytes | None = None
                  ) -> VerifyReport:
    """Check a bundle offline: signature, every file's hash, no extra or missing files."""
    bundle = Path(path)
    report = VerifyReport(str(bundle))
    try:
        data = (bundle / MANIFEST).read_bytes()
        manifest = json.loads(data)
    except (OSError, ValueError) as exc:
        report.fail(f"{MANIFEST}: missing or not JSON ({exc})")
        return report
    report.product_id = manifest.get("product_id")
    key_pem = _trusted_key(bundle, public_key_pem, report)
    if key_pem is None:
        report.fail("no public key to check the signature with (pass --public-key)")
    else:
        _check_signature(bundle, data, key_pem, report)
        if manifest.get("signing_key_sha256") not in (None, key_fingerprint(key_pem)):
            report.fail("signing_key_sha256 in the manifest is not the key used to verify")
    if manifest.get("format") != FORMAT:
        report.fail(f"{MANIFEST}: unknown format {manifest.get('format')!r}")
    extras = {p.name for p in bundle.iterdir()} - {MANIFEST, SIGNATURE, PUBLIC_KEY, FILES,
                                                    REVOKED}
    for name in sorted(extras):
        report.fail(f"{name}: extra file in the bundle")
    if (bundle / REVOKED).exists():
        note = _read_json(bundle / REVOKED)
        report.fail(f"product revoked at {note.get('revoked_at')} by {note.get('revoked_by')}: "
                    f"{note.get('reason')} (files withdrawn)")
        return report
    _check_files(bundle, manifest, report)
    return report
