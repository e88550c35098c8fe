"""JSON and JSON Lines: lists of flat records become a table; anything else becomes text.

In text mode every string and number value is put on its own line of one text (newlines inside a
value become spaces so offsets stay true) and each line maps back to its JSON path, so a finding
says ``{"line": 7, "path": "$.people[2].phone", ...}``.
"""

from __future__ import annotations

import json
from typing import Any

from egress_filter.readers.base import Document, ReaderError, TableBlock, TextBlock, string_table
from egress_filter.readers.encoding import decode_text

_MAX_DEPTH = 200


def read_json(data: bytes) -> Document:
    text, _ = decode_text(data)
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ReaderError("malformed", f"malformed JSON: {exc}", f"JSON 格式错误：{exc}") from exc
    return _document("json", value)


def read_jsonl(data: bytes) -> Document:
    text, _ = decode_text(data)
    values = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            values.append(json.loads(line))
        except (json.JSONDecodeError, RecursionError) as exc:
            raise ReaderError("malformed", f"malformed JSON on line {number}: {exc}",
                              f"第 {number} 行 JSON 格式错误：{exc}") from exc
    return _document("jsonl", values)


def _document(kind: str, value: Any) -> Document:
    table = records_table(value)
    if table is not None:
        return Document(kind=kind, tables=[TableBlock(table)])
    return Document(kind=kind, texts=[values_text(value)])


def records_table(value: Any):
    """A string table when ``value`` is a non-empty list of objects with scalar values."""
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
        return None
    if any(isinstance(x, dict | list) for rec in value for x in rec.values()):
        return None
    keys: list[str] = []
    for rec in value:
        keys.extend(k for k in rec if k not in keys)
    if not keys:
        return None
    columns = [[_scalar(rec.get(k)) for rec in value] for k in keys]
    return string_table(columns, keys)


def _scalar(v: Any) -> Any:
    if isinstance(v, bool):
        return str(v).lower()
    return v


def values_text(value: Any) -> TextBlock:
    """Every string/number (and object key) on its own line, each line mapped to its path."""
    lines: list[str] = []
    line_map: dict[int, dict[str, Any]] = {}

    def emit(path: str, text: str) -> None:
        lines.append(text.replace("\r", " ").replace("\n", " "))
        line_map[len(lines)] = {"path": path}

    def walk(v: Any, path: str, depth: int) -> None:
        if depth > _MAX_DEPTH:
            raise ReaderError("malformed", "JSON nested too deeply", "JSON 嵌套层数过深")
        if isinstance(v, dict):
            for k, item in v.items():
                child = f"{path}.{k}"
                emit(child + "{key}", str(k))
                walk(item, child, depth + 1)
        elif isinstance(v, list):
            for i, item in enumerate(v):
                walk(item, f"{path}[{i}]", depth + 1)
        elif isinstance(v, str):
            emit(path, v)
        elif isinstance(v, int | float) and not isinstance(v, bool):
            emit(path, _number_text(v))

    walk(value, "$", 0)
    return TextBlock("\n".join(lines), line_map=line_map)


def _number_text(v: int | float) -> str:
    if isinstance(v, float) and v == v and v.is_integer() and abs(v) < 1e21:
        return str(int(v))
    return str(v)
