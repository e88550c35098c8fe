"""Host-side copy of files out of an analyst's outbox into quarantine.

The container never uploads anything: the host reads
``paths().workspaces/<username>/<grant_id>/outbox/<name>`` itself. Everything under the workspace
is writable by the (untrusted) container, so every path component is opened with ``O_NOFOLLOW``
relative to its parent's descriptor — a symlinked ``outbox`` or file is refused, never followed.
Only regular files with one link, up to the policy's size limit, are copied; the size is checked
from ``fstat`` before reading and again while reading (a growing file is refused). The copy is
hashed while it is written to a temporary file, fsynced and renamed into place, so a crash leaves
either no file or the whole file.

Public API::

    outbox_dir(username, grant_id) -> Path
    check_name(name) -> str                          # ValidationError for anything but a plain name
    copy_from_outbox(username, grant_id, name, dest, max_bytes) -> CopiedFile
    copy_from_folder(base, parts, name, dest, max_bytes) -> CopiedFile   # e.g. a build's outputs
    write_atomic(path, data: bytes, mode=0o640) -> None
    fsync_dir(path) -> None
    sha256_file(path) -> tuple[str, int]
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from hub.config import paths
from hub.errors import PolicyViolation, ValidationError

CHUNK = 1 << 20
MAX_NAME_BYTES = 255


@dataclass(frozen=True)
class CopiedFile:
    """A file now in quarantine, with the hash and size of exactly what was copied."""

    name: str
    path: Path
    sha256: str
    size: int


def outbox_dir(username: str, grant_id: int) -> Path:
    """Where the sandbox puts files that want to leave (the layout the spawner mounts)."""
    return paths().workspaces / username / str(grant_id) / "outbox"


def check_name(name: str) -> str:
    """``name`` if it is one plain file name (no separators, no traversal, not hidden)."""
    bad = (not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name
           or name.startswith(".") or len(name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES
           or any(ord(ch) < 32 for ch in name))
    if bad:
        raise ValidationError(
            f"file: {name!r} is not a plain file name in the outbox (no '/', '..', hidden or "
            "control characters)",
            f"文件：{name!r} 不是输出目录中的普通文件名（不得含 '/'、'..'、隐藏文件或控制字符）")
    return name


def _open_dir_nofollow(base: Path, parts: list[str]) -> int:
    """A descriptor of ``base/parts...``, refusing a symlink at any step below ``base``."""
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts:
            try:
                child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except OSError as exc:
                raise PolicyViolation(
                    f"outbox: {part!r} is missing, not a directory, or a symlink ({exc.strerror})",
                    f"输出目录：{part!r} 不存在、不是目录或是符号链接（{exc.strerror}）") from exc
            os.close(fd)
            fd = child
        return fd
    except BaseException:
        os.close(fd)
        raise


def _refuse(name: str, en: str, zh: str) -> PolicyViolation:
    return PolicyViolation(f"file {name!r}: {en}", f"文件 {name!r}：{zh}")


def _open_source(dir_fd: int, name: str, max_bytes: int) -> tuple[int, int]:
    try:
        # O_NONBLOCK: opening a FIFO must not hang the host; it is refused below anyway.
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a symlink
            raise _refuse(name, "is a symlink; only regular files leave",
                          "是符号链接；只允许普通文件出域") from exc
        raise _refuse(name, f"cannot be opened in the outbox ({exc.strerror})",
                      f"无法在输出目录中打开（{exc.strerror}）") from exc
    info = os.fstat(fd)
    problem = None
    if not stat.S_ISREG(info.st_mode):
        problem = ("is not a regular file", "不是普通文件")
    elif info.st_nlink != 1:
        problem = ("has hard links; copy it to a new file first", "存在硬链接；请先复制为新文件")
    elif info.st_size > max_bytes:
        problem = (f"is {info.st_size} bytes, over the policy limit of {max_bytes}",
                   f"大小 {info.st_size} 字节，超过策略上限 {max_bytes}")
    if problem:
        os.close(fd)
        raise _refuse(name, *problem)
    return fd, info.st_size


def copy_from_outbox(username: str, grant_id: int, name: str, dest: Path,
                     max_bytes: int) -> CopiedFile:
    """Copy ``outbox/<name>`` to ``dest`` (a path in quarantine), hashing while copying."""
    return copy_from_folder(paths().workspaces, [username, str(grant_id), "outbox"], name, dest,
                            max_bytes)


def copy_from_folder(base: Path, parts: list[str], name: str, dest: Path,
                     max_bytes: int) -> CopiedFile:
    """Copy ``base/<parts...>/<name>`` to ``dest`` with the outbox's checks.

    ``base`` is a host folder the container cannot write; every component below it is opened
    with ``O_NOFOLLOW`` (a build's outputs folder, for instance).
    """
    check_name(name)
    dir_fd = _open_dir_nofollow(base, list(parts))
    try:
        src_fd, _size = _open_source(dir_fd, name, max_bytes)
    finally:
        os.close(dir_fd)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    digest, total = hashlib.sha256(), 0
    try:
        with os.fdopen(src_fd, "rb", buffering=0) as source, _create(tmp) as out:
            while chunk := source.read(CHUNK):
                total += len(chunk)
                if total > max_bytes:
                    raise _refuse(name, f"grew past the policy limit of {max_bytes} bytes",
                                  f"复制时超过策略上限 {max_bytes} 字节")
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return CopiedFile(name, dest, digest.hexdigest(), total)


def _create(path: Path, mode: int = 0o640):  # type: ignore[no-untyped-def]
    path.unlink(missing_ok=True)  # a leftover temp file from a killed process
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    return os.fdopen(fd, "wb")


def write_atomic(path: Path, data: bytes, mode: int = 0o640) -> None:
    """Write ``data`` to ``path`` via a fsynced temp file and a rename (all or nothing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with _create(tmp, mode) as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256_file(path: Path) -> tuple[str, int]:
    """SHA-256 and size of ``path`` (not following a final symlink)."""
    digest, total = hashlib.sha256(), 0
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            total += len(chunk)
    return digest.hexdigest(), total
