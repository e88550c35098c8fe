"""CSV and TSV: every cell read as a string (leading zeros and long digit runs intact).

Parsing is strict: a row with the wrong number of fields is an error, never skipped, because a
skipped row is an unscanned row.
"""

from __future__ import annotations

import csv
import io

import pyarrow as pa
import pyarrow.csv as pacsv

from egress_filter.readers.base import Document, ReaderError, TableBlock, dedupe_headers
from egress_filter.readers.encoding import detect_encoding


def read_delimited(data: bytes, *, kind: str) -> Document:
    """Parse ``data`` as CSV (``kind="csv"``) or TSV into one string table."""
    delimiter = "\t" if kind == "tsv" else ","
    encoding = detect_encoding(data)
    if encoding != "utf-8":
        data = data.decode(encoding).encode("utf-8")
    headers = _header(data, delimiter)
    if not headers:
        return Document(kind=kind, tables=[TableBlock(pa.table({}), extra={"encoding": encoding})])
    names = [f"c{i}" for i in range(len(headers))]
    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=8 << 20),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise ReaderError(
            "malformed",
            f"malformed {kind.upper()}: {_first_line(str(exc))}",
            f"{kind.upper()} 格式错误：{_first_line(str(exc))}",
        ) from exc
    table = table.rename_columns(dedupe_headers(headers))
    return Document(kind=kind, tables=[TableBlock(table, extra={"encoding": encoding})])


def _header(data: bytes, delimiter: str) -> list[str]:
    """Header fields, parsed with the csv module so quoted names with delimiters work."""
    end = data.find(b"\n", 0, 1 << 20)
    first = data[: end if end >= 0 else 1 << 20].decode("utf-8", errors="strict").rstrip("\r")
    if not first.strip():
        if data.strip():
            raise ReaderError("malformed", "the first line (header) is empty",
                              "第一行（表头）为空")
        return []
    try:
        row = next(csv.reader(io.StringIO(first), delimiter=delimiter))
    except (csv.Error, StopIteration) as exc:
        raise ReaderError("malformed", f"unreadable header: {exc}", f"表头无法解析：{exc}") from exc
    return row


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0][:200] if message.strip() else "parse error"
