"""CN_RESIDENT_ID: citizen identity number (公民身份号码), GB 11643-1999.

18 characters: 6-digit address code (GB/T 2260, first two digits a province), 8-digit birth date
YYYYMMDD, 3-digit sequence, and a check character computed with ISO 7064 MOD 11-2 (``0-9`` or
``X``). A number is reported only when the province code is real, the birth date exists and is
not in the future, and the check character matches (:mod:`egress_filter.checksums`). Social
security numbers are the same number (社会保险法 Art. 58), so their column names are context too.
The legacy 15-digit form (no check digit) is not detected.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from egress_filter.checksums import (
    PROVINCE_CODES,
    RESIDENT_ID_CHECK,
    RESIDENT_ID_WEIGHTS,
    is_valid_resident_id,
)
from egress_filter.recognizers._base import ChinesePatterns, Spec, digits_of, lazy_recognizer

_CORE = (
    r"[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
    r"[0-9]{3}[0-9Xx]"
)
_PROVINCES = np.zeros(100, dtype=bool)
_PROVINCES[[int(p) for p in PROVINCE_CODES]] = True
_CHECK = np.frombuffer(RESIDENT_ID_CHECK.encode(), dtype=np.uint8)
_DAYS = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


class ResidentIdPatterns(ChinesePatterns):
    """Chinese resident identity numbers with GB 11643 validation.

    Specs, context words and validators; the Presidio recognizer is :class:`ResidentIdRecognizer`.
    """

    ENTITY = "CN_RESIDENT_ID"
    SPECS = (Spec("cn_resident_id_18", _CORE, 0.5, left="0-9A-Za-z.", right="0-9A-Za-z",
                  no_decimal_after=True),)
    CONTEXT = (
        "身份证", "身份证号", "身份证号码", "公民身份号码", "证件号", "证件号码", "身份號", "身分證",
        "居民身份证", "社保号", "社会保障号", "身份", "证件",
        "id card", "idcard", "id_card", "resident id", "identity", "id_no", "id_number",
        "sfzh", "zjhm",
    )
    COLUMN_SCORE = 1.0
    DIGIT_LENGTHS = frozenset({18})
    NEEDS_VALIDATION = True

    def validate_result(self, pattern_text: str) -> bool:
        return is_valid_resident_id(pattern_text.upper())

    def valid_fixed(self, chars: np.ndarray) -> np.ndarray | None:
        if chars.shape[1] != 18:
            return None
        return valid_resident_id_rows(chars)


def valid_resident_id_rows(chars: np.ndarray, today: dt.date | None = None) -> np.ndarray:
    """GB 11643 over ``(n, 18)`` ASCII rows: province, calendar date, MOD 11-2 check char."""
    body = chars[:, :17]
    ok = ((body >= ord("0")) & (body <= ord("9"))).all(axis=1)
    digits = digits_of(body)
    ok &= _PROVINCES[digits[:, 0] * 10 + digits[:, 1]]
    ok &= (digits[:, 2] * 10 + digits[:, 3]) != 0
    year = digits[:, 6] * 1000 + digits[:, 7] * 100 + digits[:, 8] * 10 + digits[:, 9]
    month = digits[:, 10] * 10 + digits[:, 11]
    day = digits[:, 12] * 10 + digits[:, 13]
    month_ok = (month >= 1) & (month <= 12)
    days_in = _DAYS[np.where(month_ok, month, 0)]
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    days_in = np.where((month == 2) & ~leap, 28, days_in)
    today = today or dt.date.today()
    stamp = year.astype(np.int64) * 10000 + month * 100 + day
    ok &= month_ok & (day >= 1) & (day <= days_in) & (year >= 1900)
    ok &= stamp <= today.year * 10000 + today.month * 100 + today.day
    total = (digits.astype(np.int32) * np.array(RESIDENT_ID_WEIGHTS, dtype=np.int32)).sum(axis=1)
    expected = _CHECK[total % 11]
    last = chars[:, 17]
    last = np.where(last == ord("x"), ord("X"), last)
    return ok & (last == expected)


def __getattr__(attribute: str) -> type:
    """``ResidentIdRecognizer``: the Presidio recognizer, created on first access."""
    return lazy_recognizer(__name__, attribute, "ResidentIdRecognizer", ResidentIdPatterns)
