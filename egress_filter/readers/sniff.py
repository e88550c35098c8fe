"""Decide a file's type from its first bytes AND its extension; disagreement is a block.

The magic-byte table covers what commonly tries to sneak out: archives and compressed streams,
executables, pickles and NumPy dumps, databases, office binaries, PDFs. Text-like types (CSV,
JSON, HTML, notebooks ...) have no magic, so for them the content must at least not look binary;
the reader then proves the format by parsing it.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

# extension → kind for every format we can read
EXTENSION_KINDS: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "xlsx",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".txt": "text",
    ".text": "text",
    ".log": "log",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".ipynb": "ipynb",
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
}
TEXT_KINDS = frozenset({"csv", "tsv", "json", "jsonl", "text", "log", "markdown", "html", "ipynb"})
BINARY_KINDS = {"parquet": "parquet", "xlsx": "zip", "png": "png", "jpeg": "jpeg"}

# (offset, magic, family) — family is what the bytes really are
MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"PK\x03\x04", "zip"),
    (0, b"PK\x05\x06", "zip"),
    (0, b"PK\x07\x08", "zip"),
    (0, b"\x1f\x8b", "archive"),  # gzip
    (0, b"BZh", "archive"),
    (0, b"\xfd7zXZ\x00", "archive"),
    (0, b"7z\xbc\xaf\x27\x1c", "archive"),
    (0, b"Rar!\x1a\x07", "archive"),
    (0, b"\x28\xb5\x2f\xfd", "archive"),  # zstd
    (0, b"\x04\x22\x4d\x18", "archive"),  # lz4
    (0, b"\x1f\x9d", "archive"),  # compress (.Z)
    (0, b"MSCF", "archive"),  # cabinet
    (257, b"ustar", "archive"),  # tar
    (0, b"\x7fELF", "executable"),
    (0, b"MZ", "executable"),
    (0, b"\xfe\xed\xfa\xce", "executable"),
    (0, b"\xfe\xed\xfa\xcf", "executable"),
    (0, b"\xce\xfa\xed\xfe", "executable"),
    (0, b"\xcf\xfa\xed\xfe", "executable"),
    (0, b"\xca\xfe\xba\xbe", "executable"),  # Mach-O fat / Java class
    (0, b"\x00asm", "executable"),  # WebAssembly
    (0, b"\x93NUMPY", "pickle"),
    (0, b"PAR1", "parquet"),
    (0, b"\x89PNG\r\n\x1a\n", "png"),
    (0, b"\xff\xd8\xff", "jpeg"),
    (0, b"%PDF", "unsupported"),
    (0, b"SQLite format 3\x00", "unsupported"),
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "unsupported"),  # OLE2: xls, doc, msg
    (0, b"GIF8", "unsupported"),
    (0, b"RIFF", "unsupported"),
    (0, b"\x89HDF", "unsupported"),
    (0, b"ARROW1", "unsupported"),
    (0, b"ORC", "unsupported"),
    (0, b"Obj\x01", "unsupported"),  # Avro
    (0, b"\xff\xfe", "utf16"),
    (0, b"\xfe\xff", "utf16"),
)
_ZH = {"archive": "压缩包", "executable": "可执行程序", "pickle": "序列化对象（pickle/npy）"}
BLOCKED_EXTENSIONS = frozenset({
    ".zip", ".gz", ".tgz", ".tar", ".bz2", ".xz", ".7z", ".rar", ".zst", ".lz4", ".z", ".cab",
    ".exe", ".dll", ".so", ".dylib", ".bin", ".elf", ".sh", ".bat", ".ps1", ".jar", ".class",
    ".pkl", ".pickle", ".joblib", ".npy", ".npz", ".pt", ".pth", ".h5", ".hdf5", ".sav", ".rds",
    ".rdata", ".dta", ".feather", ".arrow", ".db", ".sqlite", ".xls", ".xlsm", ".xlsb", ".doc",
    ".docx", ".pptx", ".pdf", ".svg", ".svgz", ".gph",
})


@dataclass(frozen=True)
class Sniffed:
    """Outcome of sniffing: ``kind`` when readable, else ``problem`` (a reason code) and detail."""

    kind: str | None
    family: str
    problem: str | None = None
    detail: str = ""
    detail_zh: str = ""


def magic_family(head: bytes) -> str | None:
    for offset, magic, family in MAGIC:
        if head[offset:offset + len(magic)] == magic:
            return family
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "pickle"
    return None


def looks_binary(head: bytes) -> bool:
    """NUL bytes or many C0 control characters: not a text file in any encoding we accept."""
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    return bool(head) and controls / len(head) > 0.05


def sniff(path: Path, data: bytes) -> Sniffed:
    """Type of ``path`` given its content (the first 8 KiB decide, zips are listed)."""
    head = data[:8192]
    ext = path.suffix.lower()
    family = magic_family(head)
    kind = EXTENSION_KINDS.get(ext)
    if family in ("archive", "executable", "pickle"):
        return Sniffed(None, family, family, f"content is {family} ({ext or 'no extension'})",
                       f"内容为{_ZH[family]}（扩展名 {ext or '无'}）")
    if ext in BLOCKED_EXTENSIONS:
        return Sniffed(None, family or "blocked", "type_blocked", f"extension {ext} is never released",
                       f"扩展名 {ext} 一律不得出域")
    if kind is None:
        return Sniffed(None, family or "unknown", "unknown_type", f"unknown extension {ext!r}",
                       f"未知扩展名 {ext!r}")
    if family == "utf16":
        return Sniffed(None, family, "encoding", "UTF-16 text is not accepted", "不接受 UTF-16 编码文本")
    if kind in TEXT_KINDS:
        if family is not None or looks_binary(head):
            return Sniffed(None, family or "binary", "type_mismatch",
                           f"{ext} file holds {family or 'binary'} content",
                           f"{ext} 文件的实际内容是 {family or '二进制'}（扩展名与内容不符）")
        return Sniffed(kind, "text")
    if family != BINARY_KINDS[kind]:
        return Sniffed(None, family or "unknown", "type_mismatch",
                       f"{ext} file holds {family or 'unrecognised'} content",
                       f"{ext} 文件的实际内容是 {family or '无法识别的数据'}（扩展名与内容不符）")
    if kind == "xlsx" and not _is_xlsx_container(data):
        return Sniffed(None, "zip", "archive", "zip file that is not an xlsx workbook",
                       "是压缩包而不是 xlsx 工作簿")
    return Sniffed(kind, family)


def _is_xlsx_container(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
        return False
    return "[Content_Types].xml" in names and "xl/workbook.xml" in names
