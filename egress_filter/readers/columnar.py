"""Parquet: sizes are checked from the footer before any column is decompressed."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from egress_filter.readers.base import (
    Document,
    ReaderError,
    ReadLimits,
    TableBlock,
    dedupe_headers,
)


def read_parquet(data: bytes, limits: ReadLimits) -> Document:
    """Read every row group of a Parquet file (its bytes) into a string table.

    Dictionary-encoded columns are a decompression-bomb vector (one long value repeated a million
    times is tiny on disk), so columns are read still dictionary-encoded and their expanded size
    is added up batch by batch before anything is decoded.
    """
    try:
        probe = pq.ParquetFile(pa.BufferReader(data))
        meta = probe.metadata
        inflated = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        _check_size(inflated, limits)
        names = [f.name for f in probe.schema_arrow
                 if pa.types.is_string(f.type) or pa.types.is_binary(f.type)
                 or pa.types.is_large_string(f.type) or pa.types.is_large_binary(f.type)]
        pf = pq.ParquetFile(pa.BufferReader(data), read_dictionary=names)
        batches = []
        for batch in pf.iter_batches(batch_size=8192):
            inflated += sum(_expanded_bytes(col) for col in batch.columns)
            _check_size(inflated, limits)
            batches.append(batch)
        table = pa.Table.from_batches(batches, schema=pf.schema_arrow) if batches else \
            pf.schema_arrow.empty_table()
    except ReaderError:
        raise
    except (pa.ArrowException, OSError, ValueError, IndexError, TypeError) as exc:
        raise ReaderError("malformed", f"malformed Parquet: {exc}"[:300], f"Parquet 格式错误：{exc}"[:300]) from exc
    return Document(kind="parquet", tables=[TableBlock(as_string_table(table))])


def _expanded_bytes(column: pa.Array) -> int:
    if pa.types.is_dictionary(column.type):
        lengths = pc.binary_length(column.dictionary).fill_null(0)
        return int(pc.sum(pc.take(lengths, column.indices)).as_py() or 0)
    return column.nbytes


def _check_size(inflated: int, limits: ReadLimits) -> None:
    if inflated > limits.max_uncompressed_bytes:
        raise ReaderError(
            "too_large",
            f"Parquet data inflates to more than {limits.max_uncompressed_bytes} bytes",
            f"Parquet 解压后超过上限 {limits.max_uncompressed_bytes} 字节（疑似压缩炸弹）",
        )


def as_string_table(table: pa.Table) -> pa.Table:
    """Every column as strings: primitives cast, nested and binary values rendered as text."""
    columns = []
    for column in table.columns:
        columns.append(_column_as_strings(column))
    return pa.table(columns, names=dedupe_headers(table.column_names))


def _column_as_strings(column: pa.ChunkedArray) -> pa.Array:
    t = column.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return column.cast(pa.string())
    if pa.types.is_dictionary(t):
        return _column_as_strings(column.cast(t.value_type))
    if pa.types.is_floating(t):
        # 13812345678.0 must still read as a phone number; keep integral floats integral
        return pa.array([_float_text(v) for v in column.to_pylist()], pa.string())
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return pa.array([None if v is None else v.decode("utf-8", "replace")
                         for v in column.to_pylist()], pa.string())
    if pa.types.is_nested(t):
        return pa.array([None if v is None else json.dumps(v, ensure_ascii=False, default=str)
                         for v in column.to_pylist()], pa.string())
    try:
        return column.cast(pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return pa.array([None if v is None else str(v) for v in column.to_pylist()], pa.string())


def _float_text(value: float | None) -> str | None:
    if value is None:
        return None
    if value == value and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(value)
