"""Public detection API: find personal information in text and in table columns.

Two paths, one set of recognizers (:mod:`egress_filter.recognizers`):

- **Text** (:func:`scan_text`): the offline Presidio analyzer (:mod:`egress_filter.engine`) runs
  over NFKC-normalised chunks of about 2,000 characters cut at line boundaries (Presidio's context
  enhancer costs O(hits x tokens) per call, so one big call is quadratic). Hits come back as
  1-based line numbers and character offsets within the original line.
- **Columns** (:func:`scan_column`, :func:`scan_table`): every row of the column, vectorized.
  Cells that are a bare digit string are routed by length to numpy checksum code (resident ID,
  bank card, USCC, mobile, landline); other cells go through a cheap RE2 prefilter and the
  recognizers' RE2 patterns in ``pyarrow.compute``, and only matched cells that need a checksum
  are validated one by one. Low-cardinality columns are scanned once per distinct value.
  Integers are scanned as digit strings; floats only by their whole-number values, so
  fractional digits never make an identifier. The column name is context: it raises the score,
  which lets weak entities (passport) through. Presidio is never called per cell.

Raw values appear in hits (``value``, ``examples``); callers mask them before reporting.
"""

from __future__ import annotations

import bisect
import os
import unicodedata
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from egress_filter.model import ENTITIES
from egress_filter.recognizers import (
    PATTERN_SPECS,
    ChinesePatterns,
    DetectionError,
    PersonNames,
)
from egress_filter.recognizers._base import Spec, join_re2

TEXT_MIN_SCORE = 0.4  # text hits below this are dropped (a context word lifts weak patterns)
COLUMN_MIN_SCORE = 0.4  # column hits below this are dropped
PROFILE_MIN_COVERAGE = 0.5  # profile_table tags an entity covering at least this share of rows
CHUNK_CHARS = 2000
_OVERLAP = 80  # characters repeated between pieces of one very long line
_CONTEXT_BOOST = 0.35  # same as Presidio's context_similarity_factor
_COVERAGE_BOOST = 0.1
_CHANCE_MIN_CANDIDATES = 20
_CHANCE_ENTITIES = {"BANK_CARD": 0.5, "CN_USCC": 0.5}  # weak checksums: min pass rate
_LOW_CARDINALITY = 0.3


@dataclass
class TextHit:
    """One identifier found in text: 1-based line, character offsets within that line."""

    entity: str
    line: int
    start: int
    end: int
    score: float
    value: str


@dataclass
class ColumnHit:
    """One entity found in a column: the exact rows, and how much of the column it covers."""

    entity: str
    rows: np.ndarray
    n_nonempty: int
    coverage: float
    score: float
    examples: list[str] = field(default_factory=list)


def _wanted(entities: Iterable[str] | None) -> list[str]:
    if entities is None:
        return list(ENTITIES)
    wanted = list(dict.fromkeys(entities))
    unknown = [e for e in wanted if e not in ENTITIES]
    if unknown:
        raise ValueError(f"unknown entities {unknown}; known: {list(ENTITIES)}")
    return wanted


# ---------------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------------


def _pieces(text: str) -> Iterable[tuple[int, int, int, int]]:
    """Cut ``text`` into pieces of ~CHUNK_CHARS: ``(from, to, keep_from, keep_to)``.

    A piece ends after a newline when one is in reach. A line longer than a chunk is cut
    anyway; then the piece is analysed with ``_OVERLAP`` extra characters on the cut side(s),
    and only hits starting in ``[keep_from, keep_to)`` are kept, so a value on the cut is
    whole in the piece that keeps it and a partial value seen at a piece edge is dropped.
    """
    pos, n = 0, len(text)
    lead = 0
    while pos < n:
        end = min(pos + CHUNK_CHARS, n)
        trail = 0
        if end < n:
            newline = text.rfind("\n", pos, end)
            if newline > pos:
                end = newline + 1
            else:
                trail = _OVERLAP
        yield pos - lead, min(end + trail, n), pos, end
        lead = trail
        pos = end


def _nfkc(piece: str) -> tuple[str, list[int] | None]:
    """NFKC form of ``piece`` and, when lengths change, each output char's source index."""
    if unicodedata.is_normalized("NFKC", piece):
        return piece, None
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(piece):
        norm = unicodedata.normalize("NFKC", ch)
        out.append(norm)
        origin.extend([i] * len(norm))
    normalized = "".join(out)
    if len(normalized) == len(piece):
        return normalized, None
    return normalized, origin


def scan_text(text: str, *, entities: Iterable[str] | None = None) -> list[TextHit]:
    """Find identifiers in ``text``; offsets refer to the original (un-normalised) lines.

    Raises :class:`~egress_filter.recognizers.DetectionError` when a pattern times out: the
    text is then not known to be clean.
    """
    from egress_filter.engine import get_analyzer

    wanted = _wanted(entities)
    if not text or not wanted:
        return []
    analyzer = get_analyzer()
    line_starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    found: dict[tuple[str, int, int], float] = {}
    for offset, stop, keep_from, keep_to in _pieces(text):
        normalized, origin = _nfkc(text[offset:stop])
        results = analyzer.analyze(
            text=normalized, language="zh", entities=wanted, score_threshold=TEXT_MIN_SCORE
        )
        for r in results:
            start, end = r.start, r.end
            if origin is not None:
                start, end = origin[start], origin[end - 1] + 1
            if not keep_from <= offset + start < keep_to:
                continue
            key = (r.entity_type, offset + start, offset + end)
            found[key] = max(found.get(key, 0.0), r.score)
    hits = []
    for (entity, start, end), score in _resolve_overlaps(found):
        line = bisect.bisect_right(line_starts, start) - 1
        base = line_starts[line]
        hits.append(TextHit(entity, line + 1, start - base, end - base, score, text[start:end]))
    hits.sort(key=lambda h: (h.line, h.start, h.entity))
    return hits


def _resolve_overlaps(
    found: dict[tuple[str, int, int], float],
) -> list[tuple[tuple[str, int, int], float]]:
    """Drop a hit whose span lies inside a stronger hit of another entity (same characters)."""
    order = {e: i for i, e in enumerate(ENTITIES)}
    ranked = sorted(found.items(), key=lambda kv: (-kv[1], order[kv[0][0]], kv[0][1]))
    kept: list[tuple[tuple[str, int, int], float]] = []
    for key, score in ranked:
        _, start, end = key
        inside = any(k[1] <= start and end <= k[2] and k[0] != key[0] for k, _ in kept)
        if not inside:
            kept.append((key, score))
    return kept


# ---------------------------------------------------------------------------------------------
# Columns
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _column_recognizers() -> tuple[list[ChinesePatterns], PersonNames]:
    # Plain pattern classes, not the Presidio recognizers: tables never import Presidio.
    person = PersonNames()
    person.load()
    return [cls() for cls in PATTERN_SPECS], person


def _as_arrow(values: Any) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    if isinstance(values, pa.Array):
        return values
    try:
        return pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        return pa.array([_cell_text(v) for v in values], type=pa.string())


def _cell_text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a float's fractional digits never make an identifier
    if isinstance(value, float):
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _to_strings(arr: pa.Array) -> pa.Array | None:
    """The column as strings to scan, row-aligned; None when its type cannot hold identifiers."""
    t = arr.type
    if pa.types.is_dictionary(t):
        return _to_strings(arr.dictionary_decode())
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return arr
    if pa.types.is_string_view(t):
        return pc.cast(arr, pa.string())
    if pa.types.is_integer(t) or pa.types.is_decimal(t):
        return pc.cast(arr, pa.string())
    if pa.types.is_floating(t):
        floats = arr.to_numpy(zero_copy_only=False)
        with np.errstate(invalid="ignore"):
            whole = np.isfinite(floats) & (np.floor(floats) == floats) & (np.abs(floats) < 9e18)
        ints = pa.array(np.where(whole, floats, 0).astype(np.int64), mask=~whole)
        return pc.cast(ints, pa.string())
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        try:
            return pc.cast(arr, pa.string())
        except pa.ArrowInvalid:
            return pa.array([_cell_text(v) for v in arr.to_pylist()], type=pa.string())
    if pa.types.is_boolean(t) or pa.types.is_temporal(t) or pa.types.is_null(t):
        return None
    return pa.array([_cell_text(v) for v in arr.to_pylist()], type=pa.string())


def _normalise(arr: pa.Array) -> pa.Array:
    """Trim, NFKC (full-width digits and brackets), and make empty cells null.

    NFKC is costly on long Han strings, so it runs only on rows holding a byte that can start a
    compatibility character (see :func:`_compat_rows`); other rows are already NFKC-stable.
    """
    arr = pc.utf8_trim_whitespace(arr)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    compat = _compat_rows(arr)
    if compat.any():
        rows = pa.array(np.flatnonzero(compat))
        fixed = pc.utf8_normalize(arr.take(rows), "NFKC")
        arr = pc.replace_with_mask(arr, pa.array(compat), fixed)
    empty = pc.equal(pc.binary_length(arr), 0)
    return pc.if_else(empty, pa.scalar(None, arr.type), arr)


def _offsets_and_data(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    offset_type = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    buffers = arr.buffers()
    offsets = np.frombuffer(buffers[1], dtype=offset_type)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.zeros(0, np.uint8)
    return offsets, data[offsets[0] : offsets[-1]]


def _rows_of_bytes(arr: pa.Array, positions: np.ndarray) -> np.ndarray:
    """Rows containing the given byte positions (relative to the first value's start)."""
    offsets, _ = _offsets_and_data(arr)
    mask = np.zeros(len(arr), dtype=bool)
    if len(positions):
        rows = np.searchsorted(offsets[1:] - offsets[0], positions, side="right")
        mask[rows] = True
    return mask


def _compat_rows(arr: pa.Array) -> np.ndarray:
    """Rows that may change under NFKC: UTF-8 lead bytes of U+00A0-U+036F, U+2000-U+3FFF
    (enclosed numbers, CJK punctuation, ideographic space), U+F000-U+FFFF (compatibility
    ideographs, full-width forms) and the supplementary planes."""
    _, data = _offsets_and_data(arr)
    if not len(data) or data.max() < 0x80:
        return np.zeros(len(arr), dtype=bool)
    lead = ((data >= 0xC2) & (data <= 0xCD)) | (data == 0xE2) | (data == 0xE3) | (data >= 0xEF)
    return _rows_of_bytes(arr, np.flatnonzero(lead))


def _mask(arr: pa.Array, pattern: str) -> np.ndarray:
    hit = pc.fill_null(pc.match_substring_regex(arr, pattern), False)
    return np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)


def _fixed_width(arr: pa.Array, width: int) -> np.ndarray:
    """``(n, width)`` bytes of a string array whose values all have ``width`` ASCII bytes."""
    return _offsets_and_data(arr)[1].reshape(-1, width)


@dataclass
class _Found:
    mask: np.ndarray
    candidates: int = 0
    valid: int = 0


def _scan_strings(work: pa.Array, wanted: list[str]) -> dict[str, _Found]:
    """Per entity, the rows of ``work`` (normalised strings) that hold it."""
    n = len(work)
    recognizers, person = _column_recognizers()
    active = [r for r in recognizers if r.ENTITY in wanted]
    found = {r.ENTITY: _Found(np.zeros(n, dtype=bool)) for r in active}
    pure = _scan_pure_digits(work, active, found)
    rest_idx = np.flatnonzero(~pure & np.asarray(pc.is_valid(work).to_numpy(zero_copy_only=False)))
    if len(rest_idx):
        rest = work if len(rest_idx) == n else work.take(pa.array(rest_idx))
        _scan_patterns(rest, rest_idx, active, found)
    if "PERSON" in wanted:
        has_han = not pc.all(pc.string_is_ascii(work)).as_py()
        found["PERSON"] = _Found(person.column_rows(work) if has_han else np.zeros(n, dtype=bool))
    return found


def _scan_pure_digits(work: pa.Array, active, found: dict[str, _Found]) -> np.ndarray:
    """Cells that are only ASCII digits (10-19 of them, or 17 and an X): checksums in numpy.

    Recognizers run in priority order and a row validated by one (a resident ID) is not
    offered to the next (bank card, USCC) at the same width.
    """
    lengths = np.asarray(pc.fill_null(pc.binary_length(work), 0).to_numpy(zero_copy_only=False))
    digits = np.asarray(pc.fill_null(pc.utf8_is_digit(work), False).to_numpy(zero_copy_only=False))
    pure = digits & (lengths >= 10) & (lengths <= 19)
    with_x = (lengths == 18) & ~digits
    if with_x.any():  # 17 digits + X: an ID written the usual way
        rows = np.flatnonzero(with_x)
        tail = pc.utf8_slice_codeunits(work.take(pa.array(rows)), 17)
        head = pc.utf8_slice_codeunits(work.take(pa.array(rows)), 0, 17)
        ok = pc.and_(pc.is_in(tail, value_set=pa.array(["X", "x"])), pc.utf8_is_digit(head))
        with_x[rows] = np.asarray(pc.fill_null(ok, False).to_numpy(zero_copy_only=False))
        pure |= with_x
    if pure.any():
        # utf8_is_digit also accepts non-ASCII digits: byte length == char length keeps ASCII.
        chars = np.asarray(pc.fill_null(pc.utf8_length(work), 0).to_numpy(zero_copy_only=False))
        pure &= chars == lengths
    if not pure.any():
        return pure
    for width in np.unique(lengths[pure]):
        rows = np.flatnonzero(pure & (lengths == width))
        matrix = _fixed_width(pc.utf8_upper(work.take(pa.array(rows))), int(width))
        free = np.ones(len(rows), dtype=bool)
        for r in active:
            if int(width) not in r.DIGIT_LENGTHS or not free.any():
                continue
            idx = np.flatnonzero(free)
            ok = r.valid_fixed(matrix[idx])
            if ok is None:
                continue
            f = found[r.ENTITY]
            f.mask[rows[idx[ok]]] = True
            f.candidates += len(idx)
            f.valid += int(ok.sum())
            free[idx[ok]] = False
    return pure


def _scan_patterns(rest: pa.Array, rest_idx: np.ndarray, active, found) -> None:
    prefilters: dict[str, np.ndarray] = {}
    ascii_only = pc.all(pc.string_is_ascii(rest)).as_py()
    for r in active:
        if r.NEEDS_HAN and ascii_only:
            continue
        if r.PREFILTER not in prefilters:
            prefilters[r.PREFILTER] = _prefilter(rest, r.PREFILTER)
        cand = prefilters[r.PREFILTER]
        if not cand.any():
            continue
        cand_idx = np.flatnonzero(cand)
        sub = rest if len(cand_idx) == len(rest) else rest.take(pa.array(cand_idx))
        plain = tuple(s for s in r.SPECS if not _spec_validated(r, s))
        checked = tuple(s for s in r.SPECS if _spec_validated(r, s))
        f = found[r.ENTITY]
        if plain:
            hit = _mask(sub, join_re2(plain))
            f.mask[rest_idx[cand_idx[hit]]] = True
        if checked:
            hit = _mask(sub, join_re2(checked))
            if hit.any():
                ok = _validate_cells(r, sub.filter(pa.array(hit)))
                f.candidates += int(hit.sum())
                f.valid += int(ok.sum())
                f.mask[rest_idx[cand_idx[np.flatnonzero(hit)[ok]]]] = True


def _prefilter(arr: pa.Array, pattern: str) -> np.ndarray:
    if pattern == "@":  # a single byte: numpy over the data buffer beats a regex pass
        _, data = _offsets_and_data(arr)
        return _rows_of_bytes(arr, np.flatnonzero(data == ord("@")))
    return _mask(arr, pattern)


def _spec_validated(r: ChinesePatterns, spec: Spec) -> bool:
    if not r.NEEDS_VALIDATION:
        return False
    return not (r.ENTITY == "IP_ADDRESS" and spec.name == "ipv4")  # octets checked in the regex


def _validate_cells(r: ChinesePatterns, cells: pa.Array) -> np.ndarray:
    """Checksum-validate cells that matched: whole fixed-width cells in numpy, the rest in Python."""
    ok = np.zeros(len(cells), dtype=bool)
    todo = np.ones(len(cells), dtype=bool)
    ascii18 = pc.and_(pc.string_is_ascii(cells), pc.equal(pc.binary_length(cells), 18))
    rows18 = np.flatnonzero(np.asarray(ascii18.to_numpy(zero_copy_only=False), dtype=bool))
    if len(rows18) and r.ENTITY in ("CN_RESIDENT_ID", "CN_USCC"):
        chars = _fixed_width(pc.utf8_upper(cells.take(pa.array(rows18))), 18)
        ok[rows18] = r.valid_fixed(chars)
        todo[rows18] = False
    for i in np.flatnonzero(todo):
        ok[i] = r.find_valid(cells[int(i)].as_py()) is not None
    return ok


def _examples(r, cells: list[str]) -> list[str]:
    if r is None:
        return cells
    out = []
    for cell in cells:
        match = r.find_valid(cell)
        out.append(match if match is not None else cell)
    return out


def _column_score(recognizer, entity: str, f: _Found, coverage: float, name: str) -> float:
    score = recognizer.COLUMN_SCORE
    if recognizer.name_context(name):
        score += _CONTEXT_BOOST
    if coverage >= 0.8:
        score += _COVERAGE_BOOST
    min_rate = _CHANCE_ENTITIES.get(entity)
    if min_rate and f.candidates >= _CHANCE_MIN_CANDIDATES and f.valid < min_rate * f.candidates:
        # Many numbers of the shape, checksums passing at about chance rate (Luhn: 1 in 10):
        # the passes are coincidences of an aggregate or code column, not cards.
        score = min(score, COLUMN_MIN_SCORE - 0.05)
    return min(score, 1.0)


def scan_column(
    values: pa.Array | pa.ChunkedArray | Sequence[Any],
    *,
    name: str = "",
    entities: Iterable[str] | None = None,
) -> list[ColumnHit]:
    """Scan every row of one column; hits sorted by coverage, most covering first.

    ``values`` may be a pyarrow array, a pandas Series or any sequence. Row numbers are 0-based
    positions in ``values``.
    """
    wanted = _wanted(entities)
    arrow = _as_arrow(values)
    strings = _to_strings(arrow)
    if strings is None or not wanted:
        return []
    work = _normalise(strings)
    n_nonempty = len(work) - work.null_count
    if pa.types.is_floating(arrow.type):  # non-whole floats are values, just never identifiers
        n_nonempty = len(arrow) - pc.sum(pc.is_nan(pc.fill_null(arrow, float("nan")))).as_py()
    if n_nonempty == 0:
        return []
    indices = None
    if isinstance(work, pa.ChunkedArray):
        work = work.combine_chunks()
    if _low_cardinality(work):
        encoded = work.dictionary_encode()
        indices = np.asarray(pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False))
        work = encoded.dictionary
    found = _scan_strings(work, wanted)
    recognizers, person = _column_recognizers()
    by_entity = {r.ENTITY: r for r in recognizers}
    by_entity["PERSON"] = person
    hits = []
    for entity, f in found.items():
        mask = f.mask
        if indices is not None:
            mask = np.append(mask, False)[indices]
        rows = np.flatnonzero(mask)
        if not len(rows):
            continue
        coverage = len(rows) / n_nonempty
        recognizer = by_entity[entity]
        score = _column_score(recognizer, entity, f, coverage, name)
        if score < COLUMN_MIN_SCORE:
            continue
        cells = [str(strings[int(i)].as_py()) for i in rows[:3]]
        normal = [_normalise(pa.array([c]))[0].as_py() or c for c in cells]
        pattern = recognizer if entity != "PERSON" else None
        hits.append(ColumnHit(entity, rows, n_nonempty, coverage, score,
                              _examples(pattern, normal)))
    hits.sort(key=lambda h: (-h.coverage, -h.score, h.entity))
    return hits


def _low_cardinality(work: pa.Array) -> bool:
    if len(work) < 1000:
        return False
    sample = work.slice(0, 20_000)
    return len(pc.unique(sample)) < _LOW_CARDINALITY * len(sample)


def scan_table(
    table: pa.Table | Any, *, entities: Iterable[str] | None = None
) -> dict[str, list[ColumnHit]]:
    """Scan every column of a pyarrow Table or pandas DataFrame (columns in parallel)."""
    wanted = _wanted(entities)
    if isinstance(table, pa.Table):
        columns = [(str(n), table.column(i)) for i, n in enumerate(table.column_names)]
    else:
        columns = [(str(n), table[n]) for n in table.columns]
    _column_recognizers()  # load jieba once, before the threads race for it
    workers = max(1, min(os.cpu_count() or 1, len(columns)))
    # Largest columns first (longest-processing-time order): a big column started last would
    # leave the other workers idle while it finishes.
    order = sorted(range(len(columns)), key=lambda i: -_nbytes(columns[i][1]))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {
            i: pool.submit(scan_column, columns[i][1], name=columns[i][0], entities=wanted)
            for i in order
        }
        return {name: futures[i].result() for i, (name, _) in enumerate(columns)}


def _nbytes(values: Any) -> int:
    try:
        return int(values.nbytes)
    except (AttributeError, TypeError, ValueError):
        return 0


def profile_table(table: pa.Table | Any) -> dict[str, list[str]]:
    """Column → entity tags covering at least half of its non-empty rows, most covering first."""
    return {
        column: [h.entity for h in hits if h.coverage >= PROFILE_MIN_COVERAGE]
        for column, hits in scan_table(table).items()
    }


__all__ = [
    "ColumnHit",
    "DetectionError",
    "TextHit",
    "profile_table",
    "scan_column",
    "scan_table",
    "scan_text",
]
