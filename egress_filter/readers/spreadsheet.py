"""XLSX workbooks: every sheet, hidden and very hidden ones included.

An xlsx file is a zip. Before openpyxl touches it we read the zip directory and refuse
decompression bombs (total inflated size, per-entry ratio) and macro payloads.
"""

from __future__ import annotations

import io
import zipfile

from egress_filter.readers.base import Document, ReaderError, ReadLimits, TableBlock, string_table


def check_zip_directory(data: bytes, limits: ReadLimits) -> None:
    """Raise :class:`ReaderError` for bombs, macros or a broken container."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
        raise ReaderError("malformed", f"broken xlsx container: {exc}",
                          f"xlsx 文件结构损坏：{exc}") from exc
    total = sum(i.file_size for i in infos)
    if total > limits.max_uncompressed_bytes:
        raise ReaderError(
            "zip_bomb",
            f"workbook inflates to {total} bytes (limit {limits.max_uncompressed_bytes})",
            f"工作簿解压后 {total} 字节，超过上限 {limits.max_uncompressed_bytes}（疑似压缩炸弹）",
        )
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > 1 << 20 and ratio > limits.max_compression_ratio:
            raise ReaderError(
                "zip_bomb",
                f"entry {info.filename} has compression ratio {ratio:.0f} (limit "
                f"{limits.max_compression_ratio:.0f})",
                f"条目 {info.filename} 压缩比 {ratio:.0f}，超过上限（疑似压缩炸弹）",
            )
        if info.filename.lower().endswith(("vbaproject.bin", ".bin")) or "activex" in info.filename.lower():
            raise ReaderError("macro", f"workbook carries a binary part {info.filename}",
                              f"工作簿含二进制部件 {info.filename}（宏或控件）")


def read_xlsx(data: bytes, limits: ReadLimits) -> Document:
    """All sheets as string tables; the first row of each sheet is its header."""
    check_zip_directory(data, limits)
    import openpyxl  # heavy import, only when a workbook is scanned

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many unrelated types on bad input
        raise ReaderError("malformed", f"unreadable workbook: {type(exc).__name__}: {exc}",
                          f"工作簿无法读取：{type(exc).__name__}") from exc
    tables = []
    try:
        for ws in wb.worksheets:
            tables.append(_sheet_table(ws))
        # chartsheets have no cells but are listed so a reviewer sees them
        extra_sheets = [s.title for s in wb.chartsheets]
    except Exception as exc:
        raise ReaderError("malformed", f"unreadable sheet: {type(exc).__name__}: {exc}",
                          f"工作表无法读取：{type(exc).__name__}") from exc
    finally:
        wb.close()
    doc = Document(kind="xlsx", tables=tables)
    for block in tables:
        block.extra["chartsheets"] = extra_sheets
    return doc


def _sheet_table(ws) -> TableBlock:
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None) or ()
    body = [list(r) for r in rows]
    width = max([len(header), *(len(r) for r in body)], default=0)
    headers = [header[i] if i < len(header) else None for i in range(width)]
    columns = [[r[i] if i < len(r) else None for r in body] for i in range(width)]
    table = string_table(columns, [("" if h is None else str(h)) for h in headers])
    return TableBlock(table, name=ws.title, extra={"state": ws.sheet_state})
