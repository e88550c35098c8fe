"""Irreversible destruction of copies (seed: 销毁授权数据及副本，并记录销毁情况).

Used when a grant is revoked or expires: the sandbox reaper destroys workspaces
(:mod:`hub.sandbox.reaper`) and the airlock destroys quarantine copies of cancelled requests
(:mod:`hub.airlock.service`). Both record a :class:`DestructionReport` in the audit log.

Limits of "irreversible": file contents are overwritten in place (zeros, then fsync) before
unlinking, which defeats reading the old blocks through the file system. On SSDs (wear
levelling), copy-on-write or log-structured file systems (btrfs, ZFS, overlayfs upper layers) and
in snapshots or backups, old blocks can survive; there, encrypt the volume per grant and destroy
the key (crypto-erase). See docs/sandbox.md.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

CHUNK = 1024 * 1024
METHOD = "overwrite-zeros+fsync+unlink"


@dataclass
class DestructionReport:
    """What :func:`destroy_tree` removed (paths relative to ``root``)."""

    root: str
    files: int = 0
    bytes: int = 0
    paths: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    started_at: str = ""
    finished_at: str = ""

    def to_json(self, max_paths: int = 500) -> dict[str, Any]:
        return {"root": self.root, "files": self.files, "bytes": self.bytes,
                "paths": self.paths[:max_paths], "paths_truncated": len(self.paths) > max_paths,
                "skipped": self.skipped, "method": METHOD, "started_at": self.started_at,
                "finished_at": self.finished_at}


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _overwrite(path: Path, size: int) -> None:
    # O_NOFOLLOW: a symlink swapped in after lstat must never lead us outside the workspace
    fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return
        zeros = bytes(min(CHUNK, max(size, 1)))
        left = size
        while left > 0:
            left -= os.write(fd, zeros[: min(left, len(zeros))])
        os.fsync(fd)
    finally:
        os.close(fd)


def destroy_tree(root: Path) -> DestructionReport:
    """Overwrite every regular file under ``root`` with zeros, fsync, unlink; remove folders.

    Symbolic links are removed, never followed; FIFOs and sockets are unlinked without opening.
    """
    report = DestructionReport(root=str(root), started_at=_now())
    if not root.exists() or root.is_symlink():
        if root.is_symlink():
            root.unlink()
        report.finished_at = _now()
        return report
    for folder, dirs, files in os.walk(root, topdown=False, followlinks=False):
        base = Path(folder)
        for name in files + [d for d in dirs if (base / d).is_symlink()]:
            path = base / name
            rel = str(path.relative_to(root))
            try:
                info = path.lstat()
                if stat.S_ISREG(info.st_mode):
                    _overwrite(path, info.st_size)
                    report.bytes += info.st_size
                path.unlink()
                report.files += 1
                report.paths.append(rel)
            except OSError as exc:
                report.skipped.append(f"{rel}: {exc.strerror}")
        for name in dirs:
            path = base / name
            if os.path.lexists(path) and not path.is_symlink():  # links went with the files
                try:
                    path.rmdir()
                except OSError as exc:
                    report.skipped.append(f"{path.relative_to(root)}/: {exc.strerror}")
    root.rmdir()
    report.finished_at = _now()
    return report
