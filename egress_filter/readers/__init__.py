"""Readers for every format that may try to leave, and the dispatcher that picks one.

The scanner checks size first, reads the bytes once, sniffs the type (:func:`sniff`), then calls
:func:`read_document`. Each reader either returns a :class:`Document` (tables and texts to scan)
or raises :class:`ReaderError`; unknown kinds raise too, so nothing is ever passed unread.
"""

from __future__ import annotations

from pathlib import Path

from egress_filter.readers.base import (
    Document,
    Note,
    ReaderError,
    ReadLimits,
    TableBlock,
    TextBlock,
)
from egress_filter.readers.sniff import EXTENSION_KINDS, Sniffed, sniff

__all__ = [
    "EXTENSION_KINDS",
    "Document",
    "Note",
    "ReadLimits",
    "ReaderError",
    "Sniffed",
    "TableBlock",
    "TextBlock",
    "read_document",
    "sniff",
]


def read_document(path: Path, data: bytes, kind: str, limits: ReadLimits) -> Document:
    """Read ``data`` (the bytes of ``path``) as ``kind``; readers import their libraries lazily."""
    if kind in ("csv", "tsv"):
        from egress_filter.readers.delimited import read_delimited

        return read_delimited(data, kind=kind)
    if kind == "parquet":
        from egress_filter.readers.columnar import read_parquet

        return read_parquet(data, limits)
    if kind == "xlsx":
        from egress_filter.readers.spreadsheet import read_xlsx

        return read_xlsx(data, limits)
    if kind == "json":
        from egress_filter.readers.jsondoc import read_json

        return read_json(data)
    if kind == "jsonl":
        from egress_filter.readers.jsondoc import read_jsonl

        return read_jsonl(data)
    if kind in ("text", "log", "markdown"):
        from egress_filter.readers.text import read_text

        return read_text(data, kind=kind)
    if kind == "html":
        from egress_filter.readers.html import read_html

        return read_html(data)
    if kind == "ipynb":
        from egress_filter.readers.notebook import read_notebook

        return read_notebook(data, limits)
    if kind in ("png", "jpeg"):
        from egress_filter.readers.image import read_image

        return read_image(data, limits, kind=kind)
    raise ReaderError("unknown_type", f"no reader for {kind}", f"没有 {kind} 类型的读取器")
