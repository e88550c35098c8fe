"""What a reader hands to the scanner: tables and texts, each with where it came from.

Readers never decide a verdict. They either return a :class:`Document` or raise
:class:`ReaderError` with a stable code and a message in both languages; the scanner turns the
error into a *block* (fail closed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from egress_filter.model import Verdict


class ReaderError(Exception):
    """A file could not be read safely and completely. Always leads to a verdict of block."""

    def __init__(self, code: str, en: str, zh: str) -> None:
        super().__init__(en)
        self.code = code
        self.en = en
        self.zh = zh


@dataclass
class TableBlock:
    """A table of strings (every cell as text, so leading zeros and long digit runs survive).

    ``name`` is the sheet name for workbooks, else empty. ``headers`` are the column names as they
    appear in the file (deduplicated); ``table`` has the same column order.
    """

    table: pa.Table
    name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def num_rows(self) -> int:
        return self.table.num_rows


@dataclass
class TextBlock:
    """Text to scan. ``where`` is merged into every finding location (e.g. ``{"cell": 3}``).

    ``line_map`` optionally maps a 1-based line of ``text`` to extra location keys (used where the
    text is assembled from pieces, e.g. JSON paths or HTML elements).
    """

    text: str
    where: dict[str, Any] = field(default_factory=dict)
    line_map: dict[int, dict[str, Any]] | None = None


@dataclass
class Note:
    """Something a reader could not fully check (e.g. OCR unavailable); becomes a reason."""

    code: str
    en: str
    zh: str
    verdict: Verdict = Verdict.REVIEW


@dataclass
class Document:
    kind: str
    tables: list[TableBlock] = field(default_factory=list)
    texts: list[TextBlock] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)


@dataclass(frozen=True)
class ReadLimits:
    """Resource limits a reader must respect (from the policy)."""

    max_file_bytes: int = 16 * 1024 * 1024
    max_uncompressed_bytes: int = 64 * 1024 * 1024  # xlsx / parquet inflated size
    max_compression_ratio: float = 100.0
    max_image_pixels: int = 40_000_000
    ocr_lang: str = "chi_sim+eng"
    ocr_timeout_s: float = 30.0
    ocr_enabled: bool = True


def dedupe_headers(names: list[str]) -> list[str]:
    """Unique, non-empty column names: ``a, a, ""`` → ``a, a (2), column_3``."""
    seen: dict[str, int] = {}
    out = []
    for i, raw in enumerate(names):
        name = str(raw).strip() if raw is not None else ""
        name = name or f"column_{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        seen.setdefault(name, 1)
        out.append(name)
    return out


def string_table(columns: list[list[Any]], headers: list[str]) -> pa.Table:
    """Build a table where every cell is a string or null, whatever the source type."""
    arrays = [pa.array([None if v is None else _as_text(v) for v in col], pa.string())
              for col in columns]
    return pa.table(arrays, names=dedupe_headers(headers))


def _as_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))  # 13812345678.0 read from a sheet is still a phone number
    return str(value)
