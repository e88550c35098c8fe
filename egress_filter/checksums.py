"""Check-digit algorithms for Chinese and international identifiers.

One place for each algorithm, used both by the recognizers (to validate) and by the demo and
synthetic-twin generators (to make format-valid fakes).

- Resident identity number, GB 11643-1999: ISO 7064 MOD 11-2 over the first 17 digits.
- Unified social credit code, GB 32100-2015: weighted mod 31 over a 31-character alphabet.
- Payment cards, ISO/IEC 7812: the Luhn algorithm.
"""

from __future__ import annotations

import datetime as _dt

RESIDENT_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
RESIDENT_ID_CHECK = "10X98765432"  # index = weighted sum mod 11

# GB 32100: digits and capitals without I, O, Z, S, V.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}

# GB/T 2260 province-level codes (first two digits of a region code).
PROVINCE_CODES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82",
})


def resident_id_check_char(first17: str) -> str:
    """The GB 11643 check character for 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, RESIDENT_ID_WEIGHTS, strict=True))
    return RESIDENT_ID_CHECK[total % 11]


def resident_id_birth_date(number: str) -> _dt.date | None:
    try:
        return _dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def is_valid_resident_id(number: str, *, today: _dt.date | None = None) -> bool:
    """18-character GB 11643 number: known province, real birth date (1900..today), check char."""
    if len(number) != 18 or not number[:17].isascii() or not number[:17].isdigit():
        return False
    if number[:2] not in PROVINCE_CODES or number[2:4] == "00":
        return False
    birth = resident_id_birth_date(number)
    if birth is None or birth.year < 1900 or birth > (today or _dt.date.today()):
        return False
    return resident_id_check_char(number[:17]) == number[17].upper()


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a USCC."""
    total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_valid_uscc(code: str) -> bool:
    """18-character unified social credit code with a correct GB 32100 check character."""
    code = code.upper()
    if len(code) != 18 or any(c not in _USCC_VALUE for c in code):
        return False
    if not code[2:8].isdigit():  # registration authority region code
        return False
    return uscc_check_char(code[:17]) == code[17]


def luhn_check_digit(partial: str) -> str:
    """The Luhn digit to append to ``partial`` (digits only)."""
    total = 0
    for i, ch in enumerate(reversed(partial)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def is_valid_luhn(number: str) -> bool:
    if not number.isascii() or not number.isdigit() or len(number) < 2:
        return False
    return luhn_check_digit(number[:-1]) == number[-1]
