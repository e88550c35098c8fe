"""Plain text, Markdown and logs: decoded (UTF-8 or GB18030) and scanned as they are."""

from __future__ import annotations

from egress_filter.readers.base import Document, TextBlock
from egress_filter.readers.encoding import decode_text


def read_text(data: bytes, *, kind: str = "text") -> Document:
    text, encoding = decode_text(data)
    return Document(kind=kind, texts=[TextBlock(text, where={})])
