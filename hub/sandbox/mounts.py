"""What a sandbox mounts: the granted dataset versions (read-only) and its workspace.

Everything here answers from :func:`hub.grants.usable_versions`, the one decision on what a user
may use; this module only turns that answer into host folders:

* ``sandbox_view == "real"`` (levels 1-2): the version folder in the store
  (:func:`hub.catalog.version_dir`);
* ``sandbox_view == "twin"`` (level 3): the synthetic twin (:func:`hub.synth.store.twin_dir`);
  refused if no twin was built — the real folder is never a fallback;
* a grant item restricted to a column subset: a *projection* holding only those columns, built on
  demand under ``<store>/.projections/`` from the real or twin files and made read-only. The full
  file is never mounted.

The writable side is ``<workspaces>/<username>/<grant_id>/`` with ``outbox/`` inside, owned by
the container user (uid 1000); the airlock reads ``outbox/`` from the host.

Public API::

    DataMount(dataset, ref, level, view, source, columns, restricted)
    plan_data_mounts(session, usable) -> list[DataMount]      # PolicyViolation if no twin
    projection_dir(source, columns, dataset, version, view) -> Path   # builds if missing
    workspace_dir(username, grant_id) -> Path
    ensure_workspace(username, grant_id, uid=1000, gid=1000) -> Path
    grant_readme(grant, mounts) -> str                         # zh-CN + en, for /data/README.md
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from hub.catalog import get_version
from hub.config import paths
from hub.errors import PolicyViolation, ValidationError
from hub.grants import UsableVersion
from hub.models import Grant
from hub.synth.store import read_twin, twin_dir

PROJECTIONS = ".projections"
SAFE_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.-")


@dataclass(frozen=True)
class DataMount:
    """One dataset folder to bind read-only at ``/data/<dataset>/``."""

    dataset: str
    ref: str
    level: int
    view: str  # "real" | "twin"
    source: Path
    columns: tuple[str, ...]
    restricted: bool

    def to_json(self) -> dict[str, object]:
        return {"dataset": self.dataset, "ref": self.ref, "level": self.level, "view": self.view,
                "source": str(self.source), "columns": list(self.columns),
                "restricted": self.restricted}


def _safe_name(value: str, what: str) -> str:
    # names come from the catalog (already validated); checked again because they become paths
    if not value or value.startswith(".") or not set(value.lower()) <= SAFE_NAME_CHARS:
        raise ValidationError(f"{what}: {value!r} cannot be used as a folder name",
                              f"{what}：{value!r} 不能用作目录名")
    return value


def _twin_source(session: Session, usable: UsableVersion) -> Path:
    version = get_version(session, usable.ref)
    if read_twin(version) is None:
        raise PolicyViolation(
            f"{usable.ref} is level {usable.level}: the sandbox shows only its synthetic twin, "
            "and none has been built yet (ask an admin to run `enclave twin build`)",
            f"{usable.ref} 为 {usable.level} 级数据：交互式沙箱只提供合成孪生数据，"
            "但尚未生成（请管理员执行 `enclave twin build`）",
        )
    return twin_dir(version)


def plan_data_mounts(session: Session, usable: Sequence[UsableVersion]) -> list[DataMount]:
    """The host folder for each usable version (twin or real; projected if restricted)."""
    mounts = []
    for item in usable:
        _safe_name(item.dataset, "dataset")
        if item.sandbox_view == "twin":
            source = _twin_source(session, item)
        elif item.sandbox_view == "real":
            source = item.path
        else:  # a new view kind must be taught here explicitly; never guess
            raise PolicyViolation(f"{item.ref}: unknown sandbox view {item.sandbox_view!r}",
                                  f"{item.ref}：未知的沙箱视图 {item.sandbox_view!r}")
        if item.restricted:
            source = projection_dir(source, item.columns, item.dataset, item.version,
                                    item.sandbox_view, item.files)
        mounts.append(DataMount(item.dataset, item.ref, item.level, item.sandbox_view, source,
                                item.columns, item.restricted))
    return mounts


# -- column projections -------------------------------------------------------------------------


def _projection_key(source: Path, files: Sequence[str], columns: Sequence[str]) -> str:
    digest = hashlib.sha256(str(source).encode("utf-8"))
    for name in sorted(files):
        info = (source / name).stat()
        digest.update(f"\0{name}\0{info.st_size}\0{info.st_mtime_ns}".encode())
    digest.update(("\0" + "\x1f".join(columns)).encode("utf-8"))
    return digest.hexdigest()[:20]


def _project_csv(src: Path, dst: Path, columns: Sequence[str]) -> None:
    # stream row by row so values keep their exact text (no type round trip)
    with src.open(newline="", encoding="utf-8-sig") as fin, \
            dst.open("w", newline="", encoding="utf-8") as fout:
        reader, writer = csv.reader(fin), csv.writer(fout)
        header = next(reader, [])
        missing = [c for c in columns if c not in header]
        if missing:
            raise ValidationError(f"{src.name}: columns {missing} not in the file",
                                  f"{src.name}：文件中没有列 {missing}")
        index = [header.index(c) for c in columns]
        writer.writerow(columns)
        for row in reader:
            writer.writerow([row[i] if i < len(row) else "" for i in index])


def _project_file(src: Path, dst: Path, columns: Sequence[str]) -> None:
    suffix = src.suffix.lower()
    if suffix == ".csv":
        _project_csv(src, dst, columns)
    elif suffix in (".parquet", ".pq"):
        pq.write_table(pq.read_table(src, columns=list(columns)), dst)
    else:  # fail closed: an unknown format could hide other columns
        raise ValidationError(f"{src.name}: cannot project columns of this file type",
                              f"{src.name}：无法对该类型文件做列投影")


def projection_dir(
    source: Path, columns: Sequence[str], dataset: str, version: int, view: str,
    files: Sequence[str],
) -> Path:
    """A read-only folder with ``files`` of ``source`` cut down to ``columns``.

    Keyed by the source files' names, sizes and mtimes plus the columns, so a rebuilt twin gets a
    new projection; built in a temporary folder and renamed into place (safe against a
    concurrent spawn).
    """
    key = _projection_key(source, files, columns)
    root = paths().store / PROJECTIONS / _safe_name(dataset, "dataset")
    target = root / f"v{version}-{view}-{key}"
    if target.is_dir():
        return target
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".build-", dir=root))
    try:
        for name in files:
            _project_file(source / name, staging / name, columns)
            os.chmod(staging / name, 0o444)
        os.chmod(staging, 0o555)
        try:
            staging.rename(target)
        except OSError:  # another spawn won the race; its copy is identical
            if not target.is_dir():
                raise
    finally:
        if staging.exists():
            os.chmod(staging, 0o755)
            shutil.rmtree(staging, ignore_errors=True)
    return target


# -- workspace ----------------------------------------------------------------------------------


def workspace_dir(username: str, grant_id: int) -> Path:
    """``<workspaces>/<username>/<grant_id>/`` (the airlock reads its ``outbox/``)."""
    return paths().workspaces / _safe_name(username, "username") / str(int(grant_id))


def ensure_workspace(username: str, grant_id: int, uid: int = 1000, gid: int = 1000) -> Path:
    """Create the workspace and its outbox, owned by the container user, private (0700)."""
    work = workspace_dir(username, grant_id)
    work.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(work.parent, 0o755)
    for folder in (work, work / "outbox"):
        folder.mkdir(exist_ok=True)
        if folder.is_symlink():  # never follow a link planted by a previous session
            raise ValidationError(f"{folder} is a symbolic link", f"{folder} 是符号链接")
        os.chown(folder, uid, gid, follow_symlinks=False)
        os.chmod(folder, 0o700)
    return work


def grant_readme(grant: Grant, mounts: Sequence[DataMount], data_root: str = "/data") -> str:
    """The text mounted read-only at ``/data/README.md``: which grant this sandbox serves."""
    lines = [
        f"# 授权 {grant.id}：{grant.scenario}",
        "",
        f"Grant {grant.id} — scenario: {grant.scenario}; purpose: {grant.purpose}; "
        f"valid until {grant.ends_at.isoformat()}.",
        "",
        "本沙箱无网络出口；/data 只读；工作目录 ~/work，拟导出的文件放入 ~/work/outbox/ 并提交审核。",
        "This sandbox has no network egress; /data is read-only; work in ~/work and put files "
        "you want to export in ~/work/outbox/ for review.",
        "",
        "| 目录 folder | 数据集版本 version | 级别 level | 视图 view | 列 columns |",
        "|---|---|---|---|---|",
    ]
    for m in mounts:
        view = "合成孪生 synthetic twin" if m.view == "twin" else "真实数据 real"
        cols = ", ".join(m.columns) if m.restricted else "全部 all"
        lines.append(f"| {data_root}/{m.dataset}/ | {m.ref} | {m.level} | {view} | {cols} |")
    return "\n".join(lines) + "\n"

