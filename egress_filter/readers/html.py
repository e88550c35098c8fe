"""HTML: visible text, every attribute value (title, alt, ...), script/style bodies and comments.

Each piece becomes one line of the text that is scanned; the line maps back to the element's
source line and, for attributes, the attribute name. ``<table>`` elements are also returned as
tables so pandas ``to_html`` outputs get the statistical disclosure checks too.
"""

from __future__ import annotations

import warnings
from typing import Any

from egress_filter.readers.base import Document, ReaderError, TableBlock, TextBlock, string_table
from egress_filter.readers.encoding import decode_text

_MAX_TABLES = 50


def read_html(data: bytes) -> Document:
    text, _ = decode_text(data)
    return html_document(text, kind="html")


def html_document(markup: str, *, kind: str = "html", where: dict[str, Any] | None = None) -> Document:
    """Parse ``markup`` into text pieces and tables."""
    from bs4 import BeautifulSoup, Comment, NavigableString, Tag, XMLParsedAsHTMLWarning

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
            warnings.simplefilter("ignore", UserWarning)
            soup = BeautifulSoup(markup, "html.parser")
    except Exception as exc:  # html.parser raises assorted errors on hostile markup
        raise ReaderError("malformed", f"unparsable HTML: {type(exc).__name__}",
                          f"HTML 无法解析：{type(exc).__name__}") from exc
    lines: list[str] = []
    line_map: dict[int, dict[str, Any]] = {}

    def emit(piece: str, info: dict[str, Any]) -> None:
        piece = piece.replace("\r", " ").replace("\n", " ")
        if piece.strip():
            lines.append(piece)
            line_map[len(lines)] = {**(where or {}), **info}

    for node in soup.descendants:
        if isinstance(node, Tag):
            for attr, value in node.attrs.items():
                joined = " ".join(value) if isinstance(value, list) else str(value)
                emit(joined, {"source_line": node.sourceline, "tag": node.name, "attr": attr})
        elif isinstance(node, NavigableString):
            parent = node.parent
            info = {"source_line": getattr(parent, "sourceline", None),
                    "tag": getattr(parent, "name", None)}
            if isinstance(node, Comment):
                info["part"] = "comment"
            emit(str(node), info)
    tables = [TableBlock(t, name=f"table {i + 1}", extra={"where": dict(where or {})})
              for i, t in enumerate(_tables(soup))]
    return Document(kind=kind, texts=[TextBlock("\n".join(lines), where=dict(where or {}),
                                                line_map=line_map)], tables=tables)


def _tables(soup) -> list:
    out = []
    for table in soup.find_all("table")[:_MAX_TABLES]:
        rows = [[c.get_text(" ", strip=True) for c in tr.find_all(["th", "td"])]
                for tr in table.find_all("tr")]
        rows = [r for r in rows if r]
        if len(rows) < 2:
            continue
        width = max(len(r) for r in rows)
        header, body = rows[0], rows[1:]
        columns = [[r[i] if i < len(r) else None for r in body] for i in range(width)]
        out.append(string_table(columns, [header[i] if i < len(header) else "" for i in range(width)]))
    return out
