"""Synthetic twins: same schema and formats as a table, plausible values, no real people.

Level-3 data is never shown in the interactive sandbox; its twin is. A twin keeps what analysts
need to write code (column names, dtypes, string formats, rough marginal distributions) and drops
what identifies anyone:

- identifier columns (tagged with an entity of ``egress_filter.model.ENTITIES``) are regenerated
  with format-valid fakes (GB 11643 / GB 32100 / Luhn check characters, same plate province,
  same phone punctuation) and redrawn until **no value equals any value of that column in the
  original**;
- categorical columns are sampled from the original frequencies of categories seen at least
  ``min_support`` times (rare values, the ones that single people out, never appear);
- numeric and date columns are drawn from the original's 1st..99th percentile curve with jitter,
  rounded like the original, inside the original range;
- everything else (free text, codes) is rewritten character by character, keeping only the
  characters that are structure (the same at that position in most rows, or address words).

Columns are drawn independently (no row of the twin corresponds to a row of the original); each
column uses its own random stream derived from the seed and the column name, so the same seed
always gives the same twin.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from egress_filter.model import ENTITIES
from hub.demo import fakes, vocab
from hub.errors import IntegrityError, ValidationError

MIN_SUPPORT = 5
_MAX_REDRAWS = 25
# Order in which a column's tags are tried on each value (most specific shape first).
_ENTITY_ORDER = ("CN_RESIDENT_ID", "CN_USCC", "BANK_CARD", "CN_PASSPORT", "CN_LICENSE_PLATE",
                 "CN_MOBILE", "CN_LANDLINE", "EMAIL_ADDRESS", "IP_ADDRESS", "PERSON", "LOCATION")
_SHAPES: dict[str, str] = {
    "CN_RESIDENT_ID": r"^\d{17}[\dXx]$",
    "CN_USCC": r"^[0-9A-HJ-NPQRTUWXY]{18}$",
    "BANK_CARD": r"^\d[\d -]{13,22}\d$",
    "CN_PASSPORT": r"^[A-Z]{1,2}\d{7,8}$",
    "CN_LICENSE_PLATE": r"^[\u4e00-\u9fff][A-Z]·?[A-Z0-9]{4,6}[\u4e00-\u9fff]?$",
    "CN_MOBILE": r"^\D*(?:86)?\D*1[3-9]\d(?:\D?\d){8}$",
    "CN_LANDLINE": r"\d{3,4}\D?\d{7,8}",
    "EMAIL_ADDRESS": r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$",
    "IP_ADDRESS": r"^\d{1,3}(?:\.\d{1,3}){3}$",
    "PERSON": r".",
    "LOCATION": r".",
}
# Characters that give an address its shape; kept when free text is rewritten.
_STRUCTURE_CODES = np.array([ord(c) for c in "省市区县镇乡村街道路号巷弄院栋楼幢单元层室大厦广场园期座"
                             "办事处中心小区有限公司股份责任"], dtype=np.uint32)
_POOL_CODES = np.array([ord(c) for c in vocab.GIVEN_CHARS + vocab.TRADE_NAME_CHARS],
                       dtype=np.uint32)
_LETTER_CODES = np.array([ord(c) for c in "ABCDEFGHJKLMNPQRSTUVWXYZ"], dtype=np.uint32)
_DATE_STRING = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?$")

Table = pd.DataFrame | pa.Table


def make_twin(table: Table, column_tags: Mapping[str, Sequence[str]] | None = None,
              seed: int = 0, *, n_rows: int | None = None,
              min_support: int = MIN_SUPPORT) -> Table:
    """A synthetic twin of ``table`` (a DataFrame or Arrow table; the same kind is returned).

    ``column_tags`` maps column names to entity tags (as ``profile_table`` returns them);
    ``n_rows`` defaults to the original's row count.
    """
    is_arrow = isinstance(table, pa.Table)
    df = table.to_pandas() if is_arrow else table
    tags = dict(column_tags or {})
    unknown = sorted(set(tags) - set(map(str, df.columns)))
    if unknown:
        raise ValidationError(f"tagged columns not in the table: {', '.join(unknown)}",
                              f"标注的列不在表中：{'、'.join(unknown)}")
    n = len(df) if n_rows is None else int(n_rows)
    out = {}
    for name in df.columns:
        rng = np.random.default_rng([seed, zlib.crc32(str(name).encode("utf-8"))])
        out[name] = _twin_column(df[name], tags.get(str(name), []), rng, n, min_support)
    twin = pd.DataFrame(out, columns=df.columns)
    if is_arrow:
        return pa.Table.from_pandas(twin, schema=table.schema, preserve_index=False)
    return twin


def _twin_column(col: pd.Series, tags: Sequence[str], rng: np.random.Generator, n: int,
                 min_support: int) -> pd.Series:
    entities = [e for e in _ENTITY_ORDER if e in set(tags)]
    unknown = sorted(set(tags) - set(ENTITIES))
    if unknown:  # an entity we cannot fake is still an identifier: rewrite it, never copy it
        entities.append("UNKNOWN")
    present = col.dropna()
    null_share = 1 - len(present) / len(col) if len(col) else 0.0
    if present.empty:
        return pd.Series([None] * n, dtype=col.dtype)
    if entities:
        values = _identifiers(_as_text(present), entities, rng, n, min_support)
    elif pd.api.types.is_bool_dtype(col.dtype):
        values = _categorical(present, rng, n, min_support)
    elif pd.api.types.is_datetime64_any_dtype(col.dtype):
        values = _datetimes(present, rng, n)
    elif pd.api.types.is_numeric_dtype(col.dtype):
        values = _numbers(present, rng, n, min_support)
    else:
        values = _strings(present.astype(str), rng, n, min_support)
    result = pd.Series(values)
    if null_share:
        result = result.where(rng.random(n) >= null_share)
    return _cast_like(result, col)


def _as_text(values: pd.Series) -> pd.Series:
    """Identifiers as text; numbers read from CSV (``1.3812345678e10``) as their digits."""
    if pd.api.types.is_float_dtype(values.dtype) and (values % 1 == 0).all():
        values = values.astype(np.int64)
    return values.astype(str).reset_index(drop=True)


def _cast_like(values: pd.Series, col: pd.Series) -> pd.Series:
    try:
        return values.astype(col.dtype)
    except (TypeError, ValueError):  # e.g. a fake mobile in an integer column that had NaN
        return values


# --- categories, numbers, dates --------------------------------------------------------------


def _supported(values: pd.Series, min_support: int) -> pd.Series:
    counts = values.value_counts()
    return counts[counts >= min_support]


def _categorical(values: pd.Series, rng: np.random.Generator, n: int,
                 min_support: int) -> np.ndarray:
    counts = _supported(values, min_support)
    if counts.empty:
        raise ValidationError("no category has enough support", "没有足够支持度的类别")
    p = counts.to_numpy(dtype=float)
    return counts.index.to_numpy()[rng.choice(len(counts), size=n, p=p / p.sum())]


def _is_categorical(values: pd.Series, min_support: int) -> bool:
    """Mostly values that recur: at least half the rows hold a category seen min_support times."""
    return _supported(values, min_support).sum() >= 0.5 * len(values)


def _quantile_draw(x: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    """Draw from the 1st..99th percentile curve of ``x``, jittered, clipped to x's range."""
    grid = np.quantile(x, np.linspace(0.01, 0.99, 99))
    draws = np.interp(rng.uniform(0, 98, size=n), np.arange(99), grid)
    spread = np.subtract(*np.quantile(x, [0.75, 0.25])) or (np.ptp(x) or 1.0)
    draws = draws + rng.normal(0, 0.02 * spread, size=n)
    return np.clip(draws, x.min(), x.max())


def _decimals(x: np.ndarray) -> int:
    for places in range(7):
        if np.allclose(x, np.round(x, places), rtol=0, atol=1e-9):
            return places
    return 12


def _numbers(values: pd.Series, rng: np.random.Generator, n: int,
             min_support: int) -> np.ndarray:
    x = values.to_numpy(dtype=float)
    integral = pd.api.types.is_integer_dtype(values.dtype)
    if integral and values.nunique() <= 20 and _is_categorical(values, min_support):
        return _categorical(values, rng, n, min_support)
    draws = _quantile_draw(x, rng, n)
    return np.round(draws).astype(np.int64) if integral else np.round(draws, _decimals(x))


def _datetimes(values: pd.Series, rng: np.random.Generator, n: int) -> np.ndarray:
    stamps = values.astype("datetime64[s]").to_numpy().astype(np.int64)
    draws = _quantile_draw(stamps.astype(float), rng, n).astype(np.int64)
    for unit in (86_400, 3_600, 60):  # keep the original's resolution: dates stay dates
        if (stamps % unit == 0).all():
            draws = draws // unit * unit
            break
    return draws.astype("datetime64[s]")


# --- strings ---------------------------------------------------------------------------------


def _strings(values: pd.Series, rng: np.random.Generator, n: int,
             min_support: int) -> np.ndarray | pd.Series:
    if _is_categorical(values, min_support):
        return _categorical(values, rng, n, min_support)
    if values.str.match(_DATE_STRING).mean() >= 0.99:
        return _date_strings(values, rng, n)
    templates = _sample(values, rng, n)
    modes = _position_modes(values)
    return _avoiding(values, lambda r, t, strict: _rewrite_text(t, {} if strict else modes, r),
                     templates, rng)


def _date_strings(values: pd.Series, rng: np.random.Generator, n: int) -> pd.Series:
    sample = values.iloc[0]
    fmt = "%Y-%m-%d"
    if len(sample) > 10:
        sep = sample[10]
        fmt += sep + ("%H:%M:%S" if len(sample) > 16 else "%H:%M")
    parsed = pd.to_datetime(values, format=fmt, errors="coerce").dropna()
    return pd.Series(_datetimes(parsed, rng, n)).dt.strftime(fmt)


def _sample(values: pd.Series, rng: np.random.Generator, n: int) -> pd.Series:
    """Original values to borrow *style* from (never content) — one per twin row."""
    return values.iloc[rng.integers(0, len(values), size=n)].reset_index(drop=True)


def _avoiding(original: pd.Series,
              make: Callable[[np.random.Generator, pd.Series, bool], pd.Series],
              templates: pd.Series, rng: np.random.Generator) -> pd.Series:
    """``make`` fakes for ``templates``, redrawing any value that occurs in ``original``.

    After a few redraws ``make`` is called with ``strict=True``: rewrite without keeping the
    characters most rows share (dense sequential codes leave no room otherwise).
    """
    seen = pd.Index(original.astype(str).unique().astype(object))  # hashed once, then probed
    result = make(rng, templates, False).reset_index(drop=True)
    rows = np.arange(len(result))
    for attempt in range(_MAX_REDRAWS):
        candidates = result.iloc[rows].astype(str).to_numpy(dtype=object)
        rows = rows[seen.get_indexer(candidates) >= 0]
        if not rows.size:
            return result
        strict = attempt >= 3
        result.iloc[rows] = make(rng, templates.iloc[rows].reset_index(drop=True),
                                 strict).to_numpy()
    raise IntegrityError(
        "could not draw fake values distinct from the original; the column's format leaves too "
        "little room", "无法生成与原值不同的合成值：该列格式可取值过少")


def _rewrite_text(templates: pd.Series, modes: dict[int, np.ndarray],
                  rng: np.random.Generator) -> pd.Series:
    """Rewrite each value character by character, keeping structure characters.

    A character is structure if it is an address word, punctuation, or the character ``modes``
    (from :func:`_position_modes`) names for that length and position (``TR`` in
    ``TR2025000001``). Digits become random digits, Latin letters random letters of the same
    case, Han characters random name characters. Works on code-point matrices, one per length.
    """
    templates = templates.reset_index(drop=True).astype(str)
    out = np.empty(len(templates), dtype=object)
    lengths = templates.str.len().to_numpy()
    for length in np.unique(lengths):
        rows = np.flatnonzero(lengths == length)
        if length == 0:
            out[rows] = ""
            continue
        cp = _codepoints(templates.iloc[rows], int(length))
        keep = np.isin(cp, _STRUCTURE_CODES)
        if int(length) in modes:
            keep |= cp == modes[int(length)][None, :]
        cp = np.where(keep, cp, _random_like(cp, rng))
        out[rows] = cp.view(f"<U{int(length)}").ravel()
    return pd.Series(out, dtype=object)


def _codepoints(values: pd.Series, length: int) -> np.ndarray:
    return np.array(values.to_numpy(dtype=object), dtype=f"<U{length}").view(
        np.uint32).reshape(-1, length).copy()


def _random_like(cp: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random character of the same class (digit, upper, lower, Han) for every code point."""
    out = cp.copy()
    digit = (cp >= 48) & (cp <= 57)
    upper = (cp >= 65) & (cp <= 90)
    lower = (cp >= 97) & (cp <= 122)
    han = (cp >= 0x4E00) & (cp <= 0x9FFF)
    out[digit] = 48 + rng.integers(0, 10, size=int(digit.sum()))
    out[upper] = _LETTER_CODES[rng.integers(0, len(_LETTER_CODES), size=int(upper.sum()))]
    out[lower] = _LETTER_CODES[rng.integers(0, len(_LETTER_CODES), size=int(lower.sum()))] + 32
    out[han] = _POOL_CODES[rng.integers(0, len(_POOL_CODES), size=int(han.sum()))]
    return out


def _position_modes(values: pd.Series) -> dict[int, np.ndarray]:
    """Per value length: the code point more than half the rows hold at each position (else 0).

    A length where that would leave fewer than two characters to rewrite gets no modes: a shape
    held by most rows is a value, not structure.
    """
    sample = values.iloc[:20_000].astype(str)
    lengths = sample.str.len().to_numpy()
    modes: dict[int, np.ndarray] = {}
    for length in np.unique(lengths):
        rows = np.flatnonzero(lengths == length)
        if length == 0 or rows.size < MIN_SUPPORT:
            continue
        cp = _codepoints(sample.iloc[rows], int(length))
        mode = np.zeros(int(length), dtype=np.uint32)
        for i in range(int(length)):
            points, counts = np.unique(cp[:, i], return_counts=True)
            if counts.max() * 2 > rows.size:
                mode[i] = points[counts.argmax()]
        free = (mode == 0) & (_random_like(cp[:1], np.random.default_rng(0))[0] != cp[0])
        if free.sum() >= 2:
            modes[int(length)] = mode
    return modes


# --- identifiers -----------------------------------------------------------------------------


def _identifiers(values: pd.Series, entities: list[str], rng: np.random.Generator, n: int,
                 min_support: int) -> pd.Series:
    context = _Context(values, min_support)
    templates = _sample(values, rng, n)

    def make(r: np.random.Generator, t: pd.Series, strict: bool) -> pd.Series:
        context.strict = strict
        result = pd.Series([None] * len(t), dtype=object)
        todo = np.ones(len(t), dtype=bool)
        for entity in entities:
            shape = _SHAPES.get(entity)
            match = t.str.contains(shape, regex=True).to_numpy() if shape else np.ones(len(t), bool)
            rows = np.flatnonzero(todo & match)
            if rows.size:
                fake = _FAKERS.get(entity, _fake_unknown)(r, t.iloc[rows].reset_index(drop=True),
                                                          context)
                result.iloc[rows] = np.asarray(fake, dtype=object)
                todo[rows] = False
        rows = np.flatnonzero(todo)
        if rows.size:  # a value of none of the tagged shapes: rewrite it
            result.iloc[rows] = _rewrite_text(t.iloc[rows], context.text_modes(), r).to_numpy()
        return result

    return _avoiding(values, make, templates, rng)


class _Context:
    """What fakers may learn from the original column: only well-supported style features."""

    def __init__(self, values: pd.Series, min_support: int) -> None:
        self.values = values
        self.min_support = min_support
        self.strict = False  # set on late redraws: rewrite free text without shared characters
        self._memo: dict[str, Any] = {}

    def memo(self, key: str, compute: Callable[[pd.Series], Any]) -> Any:
        """``compute(values)``, once per column (redraws ask again and again)."""
        if key not in self._memo:
            self._memo[key] = compute(self.values)
        return self._memo[key]

    def text_modes(self) -> dict[int, np.ndarray]:
        """Position modes for free-text rewriting; none on strict redraws."""
        return {} if self.strict else self.memo("modes", _position_modes)

    def supported(self, parts: pd.Series) -> dict[str, float]:
        counts = _supported(parts.dropna(), self.min_support)
        return {str(k): float(v) for k, v in counts.items()}


def _arrow(values: pd.Series) -> pa.StringArray:
    return pa.array(values.astype(str).to_numpy(dtype=object), type=pa.string())


def _fake_resident_id(rng: np.random.Generator, t: pd.Series, ctx: _Context) -> pa.Array:
    regions = ctx.memo("regions", lambda v: ctx.supported(v.str[:6]) or None)
    births = pd.to_datetime(t.str[6:14], format="%Y%m%d", errors="coerce")
    fallback = pd.Series(fakes.birth_dates(rng, len(t)))
    births = births.fillna(fallback).to_numpy().astype("datetime64[D]")
    births = births + rng.integers(-730, 731, size=len(t)).astype("timedelta64[D]")
    births = np.clip(births, np.datetime64("1920-01-01"), np.datetime64("2025-01-01"))
    male = t.str[16].fillna("1").map(lambda d: d.isdigit() and int(d) % 2 == 1).to_numpy(bool)
    return fakes.resident_ids(rng, len(t), regions=regions, births=births, male=male)


def _fake_uscc(rng: np.random.Generator, t: pd.Series, ctx: _Context) -> pa.Array:
    def supported_heads(values: pd.Series) -> dict[str, float] | None:
        head = values.str.upper().str[:8]
        return ctx.supported(head.where(head.str.fullmatch(r"[0-9A-HJ-NPQRTUWXY]{2}\d{6}"))) or None
    heads = ctx.memo("heads", supported_heads)
    return fakes.usccs(rng, len(t), heads=heads)


def _fake_passport(rng: np.random.Generator, t: pd.Series, ctx: _Context) -> pa.Array:
    return fakes.passports(rng, len(t))


def _fake_plate(rng: np.random.Generator, t: pd.Series, ctx: _Context) -> pa.Array:
    prefixes = ctx.memo("plate_prefixes", lambda v: ctx.supported(v.str[:2]) or None)
    bare = t.str.replace("·", "", regex=False)
    kinds = np.zeros(len(t), dtype=np.int64)
    eight = bare.str.len() == 8
    kinds[(eight & bare.str[2].isin(["D", "F"])).to_numpy()] = 1
    kinds[(eight & bare.str[-1].isin(["D", "F"])).to_numpy()] = 2
    kinds[bare.str.endswith("挂").to_numpy()] = 3
    dotted = t.str.contains("·", regex=False).to_numpy()
    plain = fakes.plates(rng, len(t), kinds=kinds, prefixes=prefixes)
    with_dot = pc.utf8_replace_slice(plain, 2, 2, "·")
    return pc.if_else(pa.array(dotted), with_dot, plain)


def _redigit(t: pd.Series, fill: Callable[[np.ndarray], np.ndarray]) -> pd.Series:
    """Replace the digits of each template with ``fill(digits)``, keeping every other character.

    Rows are grouped by shape (digits masked), so ``fill`` gets an ``(rows, digits)`` ASCII
    matrix and works on whole groups at once.
    """
    shapes = t.str.replace(r"\d", "0", regex=True)
    out = pd.Series([None] * len(t), dtype=object)
    for shape, rows in shapes.groupby(shapes).groups.items():
        idx = t.index.get_indexer(rows)
        digits = t.iloc[idx].str.replace(r"\D", "", regex=True)
        width = len(digits.iloc[0])
        matrix = np.frombuffer("".join(digits).encode(), dtype=np.uint8).reshape(-1, width)
        new = fill(matrix.copy())
        parts = re.split(r"(0)", shape)
        columns: list[pa.Array | str] = []
        k = 0
        for part in parts:
            if part == "0":
                columns.append(fakes.ascii_strings(new[:, k:k + 1]))
                k += 1
            elif part:
                columns.append(part)
        out.iloc[idx] = np.asarray(fakes.join(*columns) if len(columns) > 1 else
                                   pa.array([columns[0]] * len(idx)), dtype=object)
    return out


def _fake_mobile(rng: np.random.Generator, t: pd.Series, ctx: _Context) -> pd.Series:
    prefixes = ctx.memo("mobile_prefixes", lambda v: ctx.supported(
        v.str.replace(r"\D", "", regex=True).str[-11:].str[:3]) or None)

    def fill(m: np.ndarray) -> np.ndarray:
        m[:, -11:] = fakes.mobile_digits(rng, len(m), prefixes=prefixes)
        return m
    return _redigit(t, fill)


def _fake_landline(rng: np.random.Generator, t: pd.Series, ctx: _Context) -> pd.Series:
    def fill(m: np.ndarray) -> np.ndarray:
        m[:, -7:] = fakes.digit_matrix(rng, len(m), 7)
        return m
    return _redigit(t, fill)


def _fake_bank_card(rng: np.random.Generator, t: pd.Series, ctx: _Context) -> pd.Series:
    def fill(m: np.ndarray) -> np.ndarray:
        m[:, 6:-1] = fakes.digit_matrix(rng, len(m), m.shape[1] - 7)
        m[:, -1] = fakes.luhn_digits(m[:, :-1])
        return m
    return _redigit(t, fill)


def _fake_email(rng: np.random.Generator, t: pd.Series, ctx: _Context) -> pa.Array:
    domains = ctx.memo("domains", lambda v: ctx.supported(v.str.split("@").str[-1].str.lower()))
    return fakes.emails(rng, len(t), domains=domains or None, own_domain=0.0 if domains else 0.4)


def _fake_ip(rng: np.random.Generator, t: pd.Series, ctx: _Context) -> pa.Array:
    return fakes.ipv4s(rng, len(t))


def _fake_person(rng: np.random.Generator, t: pd.Series, ctx: _Context) -> pa.Array:
    han = t.str.fullmatch(r"[\u4e00-\u9fff]{2,4}").to_numpy()
    # Common-surname two-character names are a small space a large original fills up: late
    # redraws use three characters and all surnames equally.
    three = 1.0 if ctx.strict else ctx.memo("three", lambda v: float((v.str.len() >= 3).mean()))
    surnames = list(vocab.SURNAMES) if ctx.strict else vocab.SURNAMES
    names = fakes.person_names(rng, len(t), two_char_given=three, surnames=surnames)
    if han.all():
        return names
    syl = vocab.PINYIN_SYLLABLES
    latin = fakes.join(pc.utf8_capitalize(fakes.choose(rng, syl, len(t))), " ",
                       pc.utf8_capitalize(fakes.choose(rng, syl, len(t))))
    return pc.if_else(pa.array(han), names, latin)


def _fake_location(rng: np.random.Generator, t: pd.Series, ctx: _Context) -> pd.Series:
    street = t.str.contains(r"\d", regex=True) & t.str.contains("[路街道号]", regex=True)
    out = _rewrite_text(t, ctx.text_modes(), rng)
    rows = np.flatnonzero(street.to_numpy())
    # Real-looking street addresses come from a finite road list; once they keep clashing with
    # a large original, the character rewrite above (new road names) is what is left.
    if rows.size and not ctx.strict:
        residential = ctx.memo("residential",
                               lambda v: float(v.str.contains("室", regex=False).mean()))
        address, _ = fakes.street_addresses(rng, rows.size, residential=residential)
        out.iloc[rows] = np.asarray(address, dtype=object)
    return out


def _fake_unknown(rng: np.random.Generator, t: pd.Series, ctx: _Context) -> pd.Series:
    return _rewrite_text(t, ctx.text_modes(), rng)


_FAKERS: dict[str, Callable[[np.random.Generator, pd.Series, _Context], pa.Array | pd.Series]] = {
    "CN_RESIDENT_ID": _fake_resident_id,
    "CN_USCC": _fake_uscc,
    "BANK_CARD": _fake_bank_card,
    "CN_PASSPORT": _fake_passport,
    "CN_LICENSE_PLATE": _fake_plate,
    "CN_MOBILE": _fake_mobile,
    "CN_LANDLINE": _fake_landline,
    "EMAIL_ADDRESS": _fake_email,
    "IP_ADDRESS": _fake_ip,
    "PERSON": _fake_person,
    "LOCATION": _fake_location,
}
