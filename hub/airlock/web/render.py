"""File previews for reviewers: tables with flagged cells, text with flagged spans, images.

Files are read with the egress filter's own readers (:mod:`egress_filter.readers`), so a reviewer
sees exactly what the scanner saw, except that values flagged by a ``block`` finding are masked
(:func:`egress_filter.model.mask`): such a file can never be approved, so nobody needs to read the
identifier itself. Review-level findings stay readable: judging them is the reviewer's job. Nothing is ever rendered as HTML: HTML, notebooks and JSON are
shown as escaped source lines (the template escapes every piece). Flags come from the scan
report's finding locations (``{"column", "rows"}`` for tables, ``{"line", "start", "end"}`` for
text; see :class:`egress_filter.model.Finding`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from egress_filter.model import mask
from egress_filter.readers import ReaderError, read_document, sniff
from egress_filter.readers.encoding import decode_text

TABLE_KINDS = frozenset({"csv", "tsv", "parquet", "xlsx"})
IMAGE_TYPES = {"png": "image/png", "jpeg": "image/jpeg"}
# Kinds whose text findings are located in the decoded file itself (line/offset of the source).
SOURCE_LOCATED = frozenset({"text", "log", "markdown"})
MAX_ROWS = 50
MAX_LINES = 400
MAX_CELL_CHARS = 200


@dataclass
class TablePreview:
    """The first rows of one table; ``flags[r]`` is the set of flagged column indexes of row r."""

    name: str
    headers: list[str]
    rows: list[list[str]]
    flags: list[set[int]]
    flagged_columns: set[int]
    total_rows: int


@dataclass
class TextLine:
    """One source line split into (text, flagged) segments."""

    number: int
    segments: list[tuple[str, bool]]

    @property
    def flagged(self) -> bool:
        return any(flag for _, flag in self.segments)


@dataclass
class Preview:
    """What the request page shows for one file (at most one of tables / lines / image)."""

    kind: str | None
    tables: list[TablePreview] = field(default_factory=list)
    lines: list[TextLine] = field(default_factory=list)
    total_lines: int = 0
    source_only: bool = False  # markup shown as source, never rendered
    image_type: str | None = None
    problem: tuple[str, str] | None = None  # (zh, en) why there is no preview


def image_type(path: Path, name: str) -> str | None:
    """The content type to serve ``path`` with, only when its bytes really are PNG/JPEG."""
    data = path.read_bytes()
    found = sniff(Path(name), data)
    return IMAGE_TYPES.get(found.kind or "")


def build_preview(path: Path, name: str, report: dict[str, Any] | None,
                  max_rows: int = MAX_ROWS, max_lines: int = MAX_LINES) -> Preview:
    """Preview of the quarantined file ``path`` (called ``name``) with ``report``'s findings."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return Preview(None, problem=(f"无法读取文件（{exc.strerror}）",
                                      f"cannot read the file ({exc.strerror})"))
    found = sniff(Path(name), data)
    findings = list((report or {}).get("findings", []))
    if found.kind is None:
        return Preview(None, problem=(found.detail_zh or found.detail, found.detail))
    if found.kind in IMAGE_TYPES:
        return Preview(found.kind, image_type=IMAGE_TYPES[found.kind])
    if found.kind in TABLE_KINDS:
        return _table_preview(path, data, found.kind, findings, max_rows)
    return _text_preview(data, found.kind, findings, max_lines)


def _table_preview(path: Path, data: bytes, kind: str, findings: Iterable[dict[str, Any]],
                   max_rows: int) -> Preview:
    from egress_filter.readers.base import ReadLimits

    try:
        document = read_document(path, data, kind, ReadLimits())
    except ReaderError as exc:
        return Preview(kind, problem=(exc.zh, exc.en))
    tables = []
    for block in document.tables:
        headers = list(block.table.column_names)
        shown = block.table.slice(0, max_rows).to_pylist()
        rows = [[_cell(record.get(h)) for h in headers] for record in shown]
        cells, whole = table_flags(findings, headers, block.name)
        flags = [{c for c in range(len(headers)) if c in whole or (r, c) in cells}
                 for r in range(len(rows))]
        hidden, hidden_columns = table_flags(_blocking(findings), headers, block.name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value and (c in hidden_columns or (r, c) in hidden):
                    row[c] = mask(value)
        tables.append(TablePreview(block.name, headers, rows, flags, whole, block.num_rows))
    return Preview(kind, tables=tables)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= MAX_CELL_CHARS else text[:MAX_CELL_CHARS] + "…"


def table_flags(findings: Iterable[dict[str, Any]], headers: list[str], sheet: str = ""
                ) -> tuple[set[tuple[int, int]], set[int]]:
    """Flagged (row, column) pairs and wholly flagged columns of one table."""
    index = {h: i for i, h in enumerate(headers)}
    cells: set[tuple[int, int]] = set()
    whole: set[int] = set()
    for finding in findings:
        where = finding.get("location") or {}
        column = index.get(where.get("column"))
        if column is None or where.get("sheet", "") != sheet:  # CSV findings have no sheet
            continue
        rows = where.get("rows")
        if rows is None:
            whole.add(column)
        else:
            cells.update((int(r), column) for r in rows)
    return cells, whole


def _text_preview(data: bytes, kind: str, findings: Iterable[dict[str, Any]],
                  max_lines: int) -> Preview:
    try:
        text, _ = decode_text(data)
    except (UnicodeDecodeError, LookupError):
        return Preview(kind, problem=("无法解码文本", "the text cannot be decoded"))
    source = text.split("\n")
    spans = text_spans(findings) if kind in SOURCE_LOCATED else {}
    hidden = text_spans(_blocking(findings)) if kind in SOURCE_LOCATED else {}
    lines = [TextLine(n, split_segments(_masked(line, hidden.get(n, [])), spans.get(n, [])))
             for n, line in enumerate(source[:max_lines], start=1)]
    return Preview(kind, lines=lines, total_lines=len(source),
                   source_only=kind not in SOURCE_LOCATED)


def _blocking(findings: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in findings if f.get("verdict") == "block"]


def _masked(line: str, spans: list[tuple[int, int]]) -> str:
    """``line`` with every span masked (mask keeps the length, so offsets stay valid)."""
    for start, end in spans:
        start, end = max(0, start), min(len(line), end)
        if start < end:
            line = line[:start] + mask(line[start:end]) + line[end:]
    return line


def text_spans(findings: Iterable[dict[str, Any]]) -> dict[int, list[tuple[int, int]]]:
    """Flagged (start, end) character spans per 1-based line, from plain-text locations."""
    spans: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for finding in findings:
        where = finding.get("location") or {}
        if {"line", "start", "end"} <= where.keys() and "cell" not in where:
            spans[int(where["line"])].append((int(where["start"]), int(where["end"])))
    return spans


def split_segments(line: str, spans: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """``line`` cut into (text, flagged) pieces; overlapping spans are merged."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        start, end = max(0, start), min(len(line), end)
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces: list[tuple[str, bool]] = []
    pos = 0
    for start, end in merged:
        if start > pos:
            pieces.append((line[pos:start], False))
        pieces.append((line[start:end], True))
        pos = end
    if pos < len(line) or not pieces:
        pieces.append((line[pos:], False))
    return pieces
