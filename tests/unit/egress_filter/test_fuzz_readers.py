"""Fuzzing every reader: random and mutated bytes never crash, malformed input is refused.

Readers may only raise :class:`ReaderError` (which the scanner turns into a block with a reason);
any other exception would be a reader bug (the scanner would still block it as scanner_error, the
last line of defence, which the last test checks end to end).
"""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from egress_builders import code_cell, notebook, png_output, xlsx_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from egress_filter.model import Verdict
from egress_filter.readers import ReaderError, ReadLimits, read_document, sniff
from egress_filter.scanner import scan_file

LIMITS = ReadLimits(ocr_enabled=False, max_uncompressed_bytes=8 << 20)
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(out, format="PNG")
    return out.getvalue()


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(out, format="JPEG")
    return out.getvalue()


def _parquet() -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table({"a": ["x", "y"], "n": [1, 2]}), out)
    return out.getvalue()


SEEDS = {
    ".csv": "区县,人数\n金水区,12\n\"a,b\",3\n".encode(),
    ".tsv": "区县\t人数\n金水区\t12\n".encode(),
    ".json": json.dumps({"a": [1, "x", {"b": None}]}).encode(),
    ".jsonl": b'{"a": 1}\n{"a": 2}\n',
    ".txt": "联系 13812345678\n".encode(),
    ".md": b"# t\n\n* a\n",
    ".log": b"2026-01-01 INFO ok\n",
    ".html": b"<html><body><p title='t'>x</p><table><tr><th>a</th></tr><tr><td>1</td></tr></table></body></html>",
    ".ipynb": notebook([code_cell("print(1)", [{"output_type": "stream", "name": "stdout", "text": "1"},
                                               png_output(_png())])]),
    ".png": _png(),
    ".jpg": _jpeg(),
    ".parquet": _parquet(),
    ".xlsx": xlsx_bytes({"s": [["a", "n"], ["x", 1]]}),
}


def _read(ext: str, data: bytes) -> None:
    """Sniff and read like the scanner does; anything but ReaderError fails the test."""
    path = Path("fuzz" + ext)
    sniffed = sniff(path, data)
    if sniffed.kind is None:
        assert sniffed.problem  # refused with a reason
        return
    try:
        read_document(path, data, sniffed.kind, LIMITS)
    except ReaderError as exc:
        assert exc.code and exc.en and exc.zh


def _mutate(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    """Apply (position, op, byte) edits: op 0 replaces, 1 inserts, 2 deletes."""
    buf = bytearray(data)
    for pos, op, value in edits:
        if not buf:
            buf.append(value)
            continue
        i = pos % len(buf)
        if op == 0:
            buf[i] = value
        elif op == 1:
            buf.insert(i, value)
        else:
            del buf[i]
    return bytes(buf)


EDITS = st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 2), st.integers(0, 255)),
                 min_size=1, max_size=8)


@FUZZ
@given(ext=st.sampled_from(sorted(SEEDS)), data=st.binary(max_size=2048))
def test_random_bytes_under_every_extension(ext, data):
    _read(ext, data)


@FUZZ
@given(ext=st.sampled_from(sorted(SEEDS)), edits=EDITS)
def test_mutated_valid_files(ext, edits):
    _read(ext, _mutate(SEEDS[ext], edits))


@FUZZ
@given(ext=st.sampled_from([".csv", ".tsv", ".json", ".jsonl", ".txt", ".html", ".ipynb"]),
       text=st.text(max_size=300))
def test_random_text_under_text_extensions(ext, text):
    _read(ext, text.encode("utf-8"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ext=st.sampled_from(sorted(SEEDS)), edits=EDITS)
def test_scan_file_on_mutants_gives_a_verdict_with_reasons(ext, edits):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("m" + ext)
        path.write_bytes(_mutate(SEEDS[ext], edits))
        report = scan_file(path, level=2)
    assert report.verdict in (Verdict.PASS, Verdict.REVIEW, Verdict.BLOCK)
    if report.verdict is not Verdict.PASS:
        assert report.reasons  # every non-pass says why
    assert "scanner_error" not in {r.code for r in report.reasons}, report.to_json()
