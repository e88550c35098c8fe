"""Twins of catalog dataset versions, stored beside them: ``<store>/<dataset>/v<n>.twin/``.

The version folder itself stays untouched (versions are immutable and checksummed); its twin is a
sibling folder holding files **with the same names and format** as the version's files, so a
notebook written against the twin in the interactive sandbox runs unchanged on the real data in a
batch build. ``twin.json`` in that folder records what the twin was made from: source version and
content hash, seed, the column tags used, and the SHA-256 and row count of each twin file. The
folder is made read-only like the store's versions; the sandbox mounts it instead of the version
for level-3 data.

Building a twin is an admin action (permission ``twin.build``) recorded in the audit log as
``twin.build`` and in the ``dataset_twins`` table (seed, files and their hashes, manifest hash).

Public API::

    twin_dir(version) -> Path
    read_twin(version) -> dict | None              # the twin.json manifest, if built
    twin_record(session, version) -> DatasetTwin | None   # the database record, if built
    load_version(version) -> pd.DataFrame           # all files of a version, typed by its schema
    build_twin(session, actor, ref, seed=0) -> dict # builds, stores, audits; returns the manifest
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import catalog
from hub.accounts import Actor, require
from hub.audit import audited
from hub.config import paths
from hub.demo.generate import write
from hub.errors import IntegrityError, ValidationError
from hub.models import DatasetTwin, DatasetVersion
from hub.synth.twin import MIN_SUPPORT, make_twin

MANIFEST = "twin.json"
GENERATOR = "hub.synth.twin/1"
PERMISSION = "twin.build"


def twin_dir(version: DatasetVersion) -> Path:
    """Where ``version``'s twin lives: a sibling of the version folder."""
    return catalog.version_dir(version).with_name(catalog.version_dir(version).name + ".twin")


def read_twin(version: DatasetVersion) -> dict[str, Any] | None:
    """The twin manifest of ``version``, or ``None`` if no twin has been built."""
    path = twin_dir(version) / MANIFEST
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def _csv_column(column: pa.ChunkedArray, kind: str) -> pd.Series:
    text = column.to_pandas()
    if kind == "integer":
        numbers = pd.to_numeric(text)
        return numbers.astype("Int64") if numbers.isna().any() else numbers.astype("int64")
    if kind in ("float", "decimal"):
        return pd.to_numeric(text).astype("float64")
    if kind in ("date", "datetime"):
        return pd.to_datetime(text).astype("datetime64[s]")
    if kind == "boolean":
        return text.str.lower().map({"true": True, "false": False})
    return text


def _read_file(path: Path, schema: list[dict[str, Any]]) -> pd.DataFrame:
    if path.suffix.lower() == ".parquet":
        return pq.read_table(path).to_pandas()
    names = [c["name"] for c in schema]
    table = pa_csv.read_csv(path, convert_options=pa_csv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=True))
    return pd.DataFrame({c["name"]: _csv_column(table.column(c["name"]), c["type"])
                         for c in schema})


def load_version(version: DatasetVersion) -> pd.DataFrame:
    """All files of ``version`` as one DataFrame, typed by the catalog schema."""
    folder = catalog.version_dir(version)
    frames = []
    for f in version.files:
        path = folder / f.name
        if not path.is_file():
            raise IntegrityError(f"{version.label}: stored file {f.name} is missing",
                                 f"{version.label}：存储文件 {f.name} 缺失")
        frames.append(_read_file(path, version.schema))
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def column_tags(version: DatasetVersion) -> dict[str, list[str]]:
    """The scanner's tags per column, as recorded in the catalog."""
    return {c["name"]: list(c.get("tags") or []) for c in version.schema if c.get("tags")}


def build_twin(session: Session, actor: Actor, ref: str, seed: int = 0) -> dict[str, Any]:
    """Build, store and audit the twin of dataset version ``ref`` (``name@n`` or ``name``)."""
    details: dict[str, Any] = {"ref": ref, "seed": seed}
    with audited(session, actor.name, "twin.build", "dataset_version", ref, details) as act:
        require(actor, PERMISSION)
        version = catalog.get_version(session, ref)
        act.object_id = version.label
        original = load_version(version)
        tags = column_tags(version)
        twin = make_twin(original, tags, seed=seed)
        _check_no_copies(original, twin, tags, version.label)
        manifest = _store(version, twin, tags, seed, actor.name)
        _record(session, version, manifest)
        act.details.update(files=manifest["files"], tags=tags, rows=len(twin),
                           path=str(twin_dir(version)))
    return manifest


def _record(session: Session, version: DatasetVersion, manifest: dict[str, Any]) -> None:
    """Record (or replace) the twin of ``version`` in the database."""
    row = session.scalar(select(DatasetTwin).where(DatasetTwin.version_id == version.id))
    if row is None:
        row = DatasetTwin(version_id=version.id)
        session.add(row)
    row.seed = manifest["seed"]
    row.generator = manifest["generator"]
    row.store_path = str(twin_dir(version).relative_to(paths().store))
    row.manifest_sha256 = catalog.sha256_file(twin_dir(version) / MANIFEST)
    row.files = manifest["files"]
    row.created_by = manifest["created_by"]
    row.created_at = datetime.fromisoformat(manifest["created_at"])
    session.flush()


def twin_record(session: Session, version: DatasetVersion) -> DatasetTwin | None:
    """The database record of ``version``'s twin, if one was built."""
    return session.scalar(select(DatasetTwin).where(DatasetTwin.version_id == version.id))


def _check_no_copies(original: pd.DataFrame, twin: pd.DataFrame,
                     tags: dict[str, list[str]], label: str) -> None:
    """Defence in depth: refuse to store a twin that repeats any identifier of the original."""
    for column in tags:
        shared = set(twin[column].dropna().astype(str)) & set(original[column].dropna().astype(str))
        if shared:
            raise IntegrityError(f"{label}: twin column {column} repeats original values",
                                 f"{label}：合成数据列 {column} 含有原始值")


def _store(version: DatasetVersion, twin: pd.DataFrame, tags: dict[str, list[str]], seed: int,
           actor: str) -> dict[str, Any]:
    target = twin_dir(version)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".twin-", dir=target.parent))
    try:
        files, start = [], 0
        for f in version.files:  # split like the original, same names and formats
            part = twin.iloc[start:start + f.row_count]
            start += f.row_count
            fmt = "parquet" if f.name.lower().endswith(".parquet") else "csv"
            path = write(part, staging / f.name, fmt)
            files.append({"name": f.name, "sha256": catalog.sha256_file(path),
                          "row_count": len(part)})
            os.chmod(path, 0o444)
        manifest = {
            "source": version.label, "source_content_sha256": version.content_sha256,
            "seed": seed, "generator": GENERATOR, "min_support": MIN_SUPPORT, "tags": tags,
            "files": files, "created_by": actor, "created_at": datetime.now(UTC).isoformat(),
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2),
                                        encoding="utf-8")
        os.chmod(staging / MANIFEST, 0o444)
        os.chmod(staging, 0o755)
        _replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _replace(staging: Path, target: Path) -> None:
    if target.exists():  # a rebuild (another seed, or after a failed run): swap the folder
        old = target.with_name(target.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
        os.replace(staging, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, target)


def verify_seed(seed: int) -> int:
    """Seeds are non-negative integers (numpy's requirement), checked before any work."""
    if seed < 0:
        raise ValidationError("seed: must be zero or positive", "seed：必须为非负整数")
    return seed
