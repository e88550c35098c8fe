"""Jupyter notebooks: every cell source and every output, each located by ``cell`` index.

Outputs: stream text, error tracebacks, ``text/plain``, ``text/html`` (parsed like HTML),
``image/png`` and ``image/jpeg`` (OCR), any other textual or JSON mime type as text. A binary
output we cannot read (e.g. ``application/pdf``) blocks the notebook.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from egress_filter.model import Verdict
from egress_filter.readers.base import Document, Note, ReaderError, ReadLimits, TextBlock
from egress_filter.readers.encoding import decode_text
from egress_filter.readers.html import html_document
from egress_filter.readers.image import read_image
from egress_filter.readers.jsondoc import values_text

_IMAGE_KINDS = {"image/png": "png", "image/jpeg": "jpeg"}


def read_notebook(data: bytes, limits: ReadLimits) -> Document:
    text, _ = decode_text(data)
    try:
        nb = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ReaderError("malformed", f"notebook is not JSON: {exc}", f"笔记本不是合法 JSON：{exc}") from exc
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise ReaderError("malformed", "notebook has no cell list", "笔记本缺少 cells 列表")
    doc = Document(kind="ipynb")
    meta = nb.get("metadata")
    if meta:
        _add(doc, values_text(meta), {"part": "metadata"})
    for index, cell in enumerate(nb["cells"]):
        if not isinstance(cell, dict):
            raise ReaderError("malformed", f"cell {index} is not an object", f"第 {index} 个单元格格式错误")
        _read_cell(doc, cell, index, limits)
    return doc


def _read_cell(doc: Document, cell: dict[str, Any], index: int, limits: ReadLimits) -> None:
    where = {"cell": index}
    doc.texts.append(TextBlock(_join(cell.get("source", "")), where={**where, "part": "source"}))
    for name, payload in (cell.get("attachments") or {}).items():
        if isinstance(payload, dict):
            _read_bundle(doc, payload, {**where, "part": f"attachment:{name}"}, limits)
    outputs = cell.get("outputs") or []
    if not isinstance(outputs, list):
        raise ReaderError("malformed", f"cell {index} outputs is not a list", f"第 {index} 个单元格输出格式错误")
    for out_index, output in enumerate(outputs):
        if not isinstance(output, dict):
            raise ReaderError("malformed", f"cell {index} output {out_index} is not an object",
                              f"第 {index} 个单元格第 {out_index} 个输出格式错误")
        owhere = {**where, "output": out_index}
        otype = output.get("output_type")
        if otype == "stream":
            doc.texts.append(TextBlock(_join(output.get("text", "")), where={**owhere, "part": "stream"}))
        elif otype == "error":
            tb = "\n".join([str(output.get("ename", "")), str(output.get("evalue", "")),
                            *(_join(t) for t in output.get("traceback") or [])])
            doc.texts.append(TextBlock(tb, where={**owhere, "part": "error"}))
        elif isinstance(output.get("data"), dict):
            _read_bundle(doc, output["data"], owhere, limits)
        else:
            _add(doc, values_text(output), {**owhere, "part": str(otype)})


def _read_bundle(doc: Document, bundle: dict[str, Any], where: dict[str, Any], limits: ReadLimits) -> None:
    for mime, value in bundle.items():
        part = {**where, "part": mime}
        if mime in _IMAGE_KINDS:
            try:
                raw = base64.b64decode(_join(value), validate=False)
            except (binascii.Error, ValueError) as exc:
                raise ReaderError("malformed", f"bad base64 image in cell {where.get('cell')}",
                                  f"第 {where.get('cell')} 个单元格图片编码错误") from exc
            image_doc = read_image(raw, limits, kind=_IMAGE_KINDS[mime], where=part)
            doc.texts.extend(image_doc.texts)
            doc.notes.extend(image_doc.notes)
        elif mime == "text/html":
            sub = html_document(_join(value), where=part)
            doc.texts.extend(sub.texts)
            doc.tables.extend(sub.tables)
        elif isinstance(value, str | list) and (mime.startswith("text/") or mime.endswith(("+xml", "/xml"))
                                              or mime in ("application/javascript", "image/svg+xml")):
            doc.texts.append(TextBlock(_join(value), where=part))
        elif isinstance(value, dict | list) and (mime.endswith("json") or "+json" in mime):
            _add(doc, values_text(value), part)
        else:
            doc.notes.append(Note("unreadable_output",
                                  f"cell {where.get('cell')} has an output of type {mime} that cannot be checked",
                                  f"第 {where.get('cell')} 个单元格含无法检查的输出类型 {mime}",
                                  Verdict.BLOCK))


def _add(doc: Document, block: TextBlock, where: dict[str, Any]) -> None:
    block.where = {**where, **block.where}
    doc.texts.append(block)


def _join(value: Any) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return "" if value is None else str(value)
