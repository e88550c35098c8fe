"""Vectorized, format-valid fake values: the one place demo tables and synthetic twins draw from.

Every function takes a :class:`numpy.random.Generator` and a row count and returns a
:class:`pyarrow.StringArray`; nothing loops over rows in Python, so a million values take well
under a second. ASCII identifiers are built as ``(n, width)`` byte matrices and handed to Arrow
without copying; Chinese text is assembled with Arrow's string kernels.

Check characters use the constants of :mod:`egress_filter.checksums` (GB 11643 weights and check
table, GB 32100 alphabet and weights) with the arithmetic done on whole columns at once; the tests
verify every value with the scalar validators there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from egress_filter import checksums
from hub.demo import vocab

_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)
_PLATE_LETTERS = np.frombuffer(vocab.PLATE_LETTERS.encode(), dtype=np.uint8)
_PLATE_ALNUM = np.concatenate([_PLATE_LETTERS, _DIGITS])
_USCC_ALPHABET = np.frombuffer(checksums.USCC_ALPHABET.encode(), dtype=np.uint8)
_ID_CHECK = np.frombuffer(checksums.RESIDENT_ID_CHECK.encode(), dtype=np.uint8)
_ID_WEIGHTS = np.array(checksums.RESIDENT_ID_WEIGHTS, dtype=np.int64)
_USCC_WEIGHTS = np.array(checksums.USCC_WEIGHTS, dtype=np.int64)
_USCC_VALUE = np.zeros(256, dtype=np.int64)
_USCC_VALUE[_USCC_ALPHABET] = np.arange(len(_USCC_ALPHABET))
# GB 11714 organisation code: digits are themselves, letters A=10 ... Z=35.
_ORG_VALUE = np.zeros(256, dtype=np.int64)
_ORG_VALUE[_DIGITS] = np.arange(10)
_ORG_VALUE[np.arange(65, 91)] = np.arange(10, 36)
_ORG_WEIGHTS = np.array((3, 7, 9, 10, 5, 8, 4, 2), dtype=np.int64)
# USCC organisation-code characters: the USCC alphabet (GB 11714 letters that survive GB 32100).
_ORG_LETTERS = _USCC_ALPHABET[10:]


def ascii_strings(matrix: np.ndarray) -> pa.StringArray:
    """Turn an ``(n, width)`` uint8 matrix of ASCII codes into ``n`` strings of that width."""
    n, width = matrix.shape
    data = np.ascontiguousarray(matrix, dtype=np.uint8)
    offsets = np.arange(0, n * width + 1, width, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def join(*parts: pa.Array | str) -> pa.StringArray:
    """Concatenate string arrays (or constant strings) element-wise."""
    return pc.binary_join_element_wise(*parts, "")


def choose(rng: np.random.Generator, options: Mapping[str, float] | Sequence[str],
           n: int) -> pa.StringArray:
    """``n`` draws from ``options``: a mapping value→weight or a sequence (uniform)."""
    if isinstance(options, Mapping):
        values = list(options)
        weights = np.array([options[v] for v in values], dtype=float)
        idx = rng.choice(len(values), size=n, p=weights / weights.sum())
    else:
        values = list(options)
        idx = rng.integers(0, len(values), size=n)
    return pa.array(values, type=pa.string()).take(pa.array(idx))


def digit_matrix(rng: np.random.Generator, n: int, width: int,
                 *, first_nonzero: bool = False) -> np.ndarray:
    """Random ASCII digits, shape ``(n, width)``."""
    m = _DIGITS[rng.integers(0, 10, size=(n, width))]
    if first_nonzero and width:
        m[:, 0] = _DIGITS[rng.integers(1, 10, size=n)]
    return m


def int_strings(values: np.ndarray, width: int = 0) -> pa.StringArray:
    """Integers as decimal strings, left-padded with zeros to ``width``."""
    s = pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())
    return pc.utf8_lpad(s, width, padding="0") if width else s


def _code_matrix(codes: Sequence[str], idx: np.ndarray) -> np.ndarray:
    width = len(codes[0])
    table = np.frombuffer("".join(codes).encode("ascii"), dtype=np.uint8).reshape(-1, width)
    return table[idx]


def _weighted_index(rng: np.random.Generator, weights: Mapping[str, float],
                    n: int) -> tuple[list[str], np.ndarray]:
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return keys, rng.choice(len(keys), size=n, p=p / p.sum())


def birth_dates(rng: np.random.Generator, n: int, min_age: float = 18, max_age: float = 70,
                *, today: np.datetime64 | None = None) -> np.ndarray:
    """Birth dates (``datetime64[D]``) of people aged ``min_age``..``max_age`` on ``today``."""
    today = np.datetime64("2025-07-01") if today is None else np.datetime64(today, "D")
    ages = rng.uniform(min_age, max_age, size=n)
    return today - (ages * 365.25).astype("timedelta64[D]")


def _date_digits(dates: np.ndarray) -> np.ndarray:
    d = dates.astype("datetime64[D]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    month = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (d - d.astype("datetime64[M]")).astype(np.int64) + 1
    ymd = year * 10000 + month * 100 + day
    powers = 10 ** np.arange(7, -1, -1, dtype=np.int64)
    return _DIGITS[(ymd[:, None] // powers) % 10]


def resident_ids(rng: np.random.Generator, n: int, *,
                 regions: Mapping[str, float] | None = None,
                 births: np.ndarray | None = None,
                 male: np.ndarray | None = None) -> pa.StringArray:
    """GB 11643 resident identity numbers: region, birth date, sequence (odd = male), check.

    ``regions`` maps 6-digit GB/T 2260 codes to weights (default: mostly Zhengzhou);
    ``births`` are ``datetime64[D]`` (default: adults); ``male`` is a boolean array.
    """
    codes, idx = _weighted_index(rng, regions or vocab.REGION_CODES, n)
    births = birth_dates(rng, n) if births is None else births
    male = rng.random(n) < 0.5 if male is None else np.asarray(male, dtype=bool)
    sex_digit = rng.integers(0, 5, size=n) * 2 + male.astype(np.int64)
    body = np.hstack([
        _code_matrix(codes, idx),
        _date_digits(births),
        digit_matrix(rng, n, 2),
        _DIGITS[sex_digit][:, None],
    ])
    total = (body.astype(np.int64) - 48) @ _ID_WEIGHTS
    check = _ID_CHECK[total % 11]
    return ascii_strings(np.hstack([body, check[:, None]]))


def mobile_digits(rng: np.random.Generator, n: int, *,
                  prefixes: Mapping[str, float] | None = None) -> np.ndarray:
    """``(n, 11)`` ASCII matrix of mainland mobile numbers with real carrier prefixes."""
    codes, idx = _weighted_index(rng, prefixes or vocab.MOBILE_PREFIXES, n)
    return np.hstack([_code_matrix(codes, idx), digit_matrix(rng, n, 8)])


def mobiles(rng: np.random.Generator, n: int, *,
            prefixes: Mapping[str, float] | None = None) -> pa.StringArray:
    """11-digit mainland mobile numbers with real carrier prefixes."""
    return ascii_strings(mobile_digits(rng, n, prefixes=prefixes))


def landlines(rng: np.random.Generator, n: int, *, area: str = "0371",
              separator: str = "-") -> pa.StringArray:
    """Fixed-line numbers ``0371-6xxxxxxx`` (local numbers start 5, 6 or 8 in Zhengzhou)."""
    local = digit_matrix(rng, n, 8)
    local[:, 0] = np.frombuffer(b"568", dtype=np.uint8)[rng.integers(0, 3, size=n)]
    return join(area + separator, ascii_strings(local))


def _ordinary_serial(rng: np.random.Generator, n: int) -> np.ndarray:
    serial = digit_matrix(rng, n, 5)
    letters = _PLATE_LETTERS[rng.integers(0, len(_PLATE_LETTERS), size=(n, 5))]
    # Real serials are mostly digits with one or two letters, never a letter in the last place.
    use_letter = rng.random((n, 5)) < np.array([0.35, 0.2, 0.08, 0.05, 0.0])
    return np.where(use_letter, letters, serial)


PLATE_KINDS = ("ordinary", "nev_small", "nev_large", "trailer")


def plates(rng: np.random.Generator, n: int, *, kinds: np.ndarray | None = None,
           prefixes: Mapping[str, float] | None = None, separator: str = "") -> pa.StringArray:
    """Licence plates: province + office letter + serial.

    ``kinds`` holds an index into :data:`PLATE_KINDS` per row (default: ordinary): ordinary
    5-character serials, new-energy small (``D``/``F`` + 5) and large (5 + ``D``/``F``) 8-character
    plates, and trailers (4 digits + 挂).
    """
    kinds = np.zeros(n, dtype=np.int64) if kinds is None else np.asarray(kinds)
    df = np.frombuffer(b"DF", dtype=np.uint8)[rng.integers(0, 2, size=n)]
    second = _PLATE_ALNUM[rng.integers(0, len(_PLATE_ALNUM), size=n)]
    four = digit_matrix(rng, n, 4)
    serials = [
        ascii_strings(_ordinary_serial(rng, n)),
        ascii_strings(np.hstack([df[:, None], second[:, None], four])),
        ascii_strings(np.hstack([digit_matrix(rng, n, 5), df[:, None]])),
        join(ascii_strings(four), "挂"),
    ]
    serial = serials[0]
    for k in range(1, len(serials)):
        serial = pc.if_else(pa.array(kinds == k), serials[k], serial)
    return join(choose(rng, prefixes or vocab.PLATE_PREFIXES, n), separator, serial)


def org_code_check(body8: np.ndarray) -> np.ndarray:
    """GB 11714 check characters for an ``(n, 8)`` matrix of organisation-code characters."""
    c = 11 - (_ORG_VALUE[body8] @ _ORG_WEIGHTS) % 11
    out = _DIGITS[c % 10]
    out[c == 10] = ord("X")
    out[c == 11] = ord("0")
    return out


def usccs(rng: np.random.Generator, n: int, *,
          heads: Mapping[str, float] | None = None) -> pa.StringArray:
    """GB 32100 unified social credit codes.

    ``heads`` maps 8-character heads (authority, category, region code) to weights; by default
    mostly ``91`` enterprises registered in the zone. The organisation code is ``MA`` + 6
    characters (post-2015 style) or 8 digits (older codes), with its own GB 11714 check.
    """
    if heads is None:
        regions, ridx = _weighted_index(rng, vocab.USCC_REGIONS, n)
        kind = np.array([b"91", b"92", b"93"])[rng.choice(3, size=n, p=[0.9, 0.07, 0.03])]
        head = np.hstack([np.frombuffer(kind.tobytes(), np.uint8).reshape(n, 2),
                          _code_matrix(regions, ridx)])
    else:
        codes, idx = _weighted_index(rng, heads, n)
        head = _code_matrix(codes, idx)
    new_style = _ORG_LETTERS[rng.integers(0, len(_ORG_LETTERS), size=(n, 6))]
    new_style = np.where(rng.random((n, 6)) < 0.55, digit_matrix(rng, n, 6), new_style)
    body = np.hstack([np.tile(np.frombuffer(b"MA", np.uint8), (n, 1)), new_style])
    body = np.where((rng.random(n) < 0.3)[:, None], digit_matrix(rng, n, 8), body)
    first17 = np.hstack([head, body, org_code_check(body)[:, None]])
    total = _USCC_VALUE[first17] @ _USCC_WEIGHTS
    check = _USCC_ALPHABET[(31 - total % 31) % 31]
    return ascii_strings(np.hstack([first17, check[:, None]]))


def person_names(rng: np.random.Generator, n: int, *, two_char_given: float = 0.72,
                 surnames: Mapping[str, float] | Sequence[str] = vocab.SURNAMES) -> pa.StringArray:
    """Chinese full names: surname (weighted by default) + one or two given-name characters."""
    chars = list(vocab.GIVEN_CHARS)
    second = pc.if_else(pa.array(rng.random(n) < two_char_given), choose(rng, chars, n), "")
    return join(choose(rng, surnames, n), choose(rng, chars, n), second)


def _district_roads() -> tuple[list[str], list[str], list[str], np.ndarray]:
    districts, prefixes, roads, weights = [], [], [], []
    for district, names in vocab.DISTRICT_ROADS.items():
        area = "航空港区" if district.startswith("航空港区") else district
        for road in names:
            districts.append(district)
            prefixes.append(f"郑州市{area}")
            roads.append(road)
            weights.append(vocab.DISTRICT_WEIGHTS[district] / len(names))
    return districts, prefixes, roads, np.array(weights)


def street_addresses(rng: np.random.Generator, n: int, *,
                     residential: float = 0.5) -> tuple[pa.StringArray, pa.StringArray]:
    """Street-level addresses in and around the zone, and the district each one lies in.

    ``residential`` is the share with 院/楼/单元/室 detail (homes); the rest are door numbers.
    """
    districts, prefixes, roads, weights = _district_roads()
    idx = pa.array(rng.choice(len(roads), size=n, p=weights / weights.sum()))
    door = int_strings(rng.integers(1, 400, size=n))
    flat = join(int_strings(rng.integers(1, 30, size=n)), "号楼",
                int_strings(rng.integers(1, 5, size=n)), "单元",
                int_strings(rng.integers(1, 33, size=n)), int_strings(rng.integers(1, 5, size=n), 2),
                "室")
    street = join(pa.array(prefixes).take(idx), pa.array(roads).take(idx), door, "号")
    home = join(street, "院", flat)
    address = pc.if_else(pa.array(rng.random(n) < residential), home, street)
    return address, pa.array(districts).take(idx)


def emails(rng: np.random.Generator, n: int, *,
           domains: Mapping[str, float] | None = None, own_domain: float = 0.4) -> pa.StringArray:
    """E-mail addresses: pinyin or role local parts at free-mail or made-up company domains."""
    syl = vocab.PINYIN_SYLLABLES
    pinyin_local = join(choose(rng, syl, n), choose(rng, syl, n),
                        int_strings(rng.integers(1, 9999, size=n)))
    local = pc.if_else(pa.array(rng.random(n) < 0.35), choose(rng, vocab.MAIL_LOCAL_WORDS, n),
                       pinyin_local)
    made_up = join(choose(rng, syl, n), choose(rng, syl, n),
                   choose(rng, {".com": 5, ".com.cn": 3, ".cn": 2}, n))
    domain = choose(rng, domains or vocab.FREE_MAIL_DOMAINS, n)
    if domains is None:
        domain = pc.if_else(pa.array(rng.random(n) < own_domain), made_up, domain)
    return join(local, "@", domain)


def ipv4s(rng: np.random.Generator, n: int) -> pa.StringArray:
    """Dotted-quad IPv4 addresses avoiding 0, 127 and multicast first octets."""
    first = int_strings(rng.choice(np.r_[1:127, 128:224], size=n))
    rest = [int_strings(rng.integers(0, 256, size=n)) for _ in range(2)]
    return join(first, ".", rest[0], ".", rest[1], ".", int_strings(rng.integers(1, 255, size=n)))


def passports(rng: np.random.Generator, n: int) -> pa.StringArray:
    """Ordinary e-passport numbers: ``E`` + 8 digits or ``E`` + letter + 7 digits."""
    letter = _PLATE_LETTERS[rng.integers(0, len(_PLATE_LETTERS), size=n)]
    digits8 = digit_matrix(rng, n, 8)
    second = np.where(rng.random(n) < 0.5, letter, digits8[:, 0])
    e = np.full((n, 1), ord("E"), dtype=np.uint8)
    return ascii_strings(np.hstack([e, second[:, None], digits8[:, 1:]]))


def bank_cards(rng: np.random.Generator, n: int, *, iins: Sequence[str] = ("621700", "622202",
               "622848", "621483", "622588"), length: int = 19) -> pa.StringArray:
    """UnionPay-style card numbers with a valid Luhn digit."""
    head = _code_matrix(list(iins), rng.integers(0, len(iins), size=n))
    body = np.hstack([head, digit_matrix(rng, n, length - 7)])
    return ascii_strings(np.hstack([body, luhn_digits(body)[:, None]]))


def luhn_digits(body: np.ndarray) -> np.ndarray:
    """Luhn check digits for an ``(n, k)`` matrix of ASCII digits (the digit to append)."""
    d = body.astype(np.int64) - 48
    doubled = d[:, ::-1].copy()
    doubled[:, ::2] *= 2
    doubled[doubled > 9] -= 9
    return _DIGITS[(10 - doubled.sum(axis=1) % 10) % 10]
