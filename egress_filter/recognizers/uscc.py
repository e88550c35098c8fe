"""CN_USCC: unified social credit code (统一社会信用代码), GB 32100-2015.

18 characters from ``0-9A-HJ-NPQRTUWXY`` (no I, O, S, V, Z): registration authority (1-9, A, N,
Y), category, 6-digit GB/T 2260 region code, 9-character organisation code (GB 11714) and a check
character, weighted mod 31 (:func:`egress_filter.checksums.is_valid_uscc`). Codes of 个体工商户
(category ``92``) can identify a person. A code that fails the check is not reported.
"""

from __future__ import annotations

import numpy as np

from egress_filter.checksums import USCC_ALPHABET, USCC_WEIGHTS, is_valid_uscc
from egress_filter.recognizers._base import DIGIT_PREFILTER, ChinesePatterns, Spec, lazy_recognizer
from egress_filter.recognizers.resident_id import valid_resident_id_rows

_C = "[0-9A-HJ-NP-RTUWXY]"
_CORE = rf"[1-9ANY][1-9][0-9]{{6}}{_C}{{9}}{_C}"
_VALUE = np.full(256, -1, dtype=np.int16)
for _i, _ch in enumerate(USCC_ALPHABET):
    _VALUE[ord(_ch)] = _i
_ALPHABET = np.frombuffer(USCC_ALPHABET.encode(), dtype=np.uint8)


class UsccPatterns(ChinesePatterns):
    """Unified social credit codes with the GB 32100 check character.

    Specs, context words and validators; the Presidio recognizer is :class:`UsccRecognizer`.
    """

    ENTITY = "CN_USCC"
    SPECS = (Spec("cn_uscc", _CORE, 0.4, left="0-9A-Za-z", right="0-9A-Za-z"),)
    CONTEXT = (
        "统一社会信用代码", "信用代码", "社会信用代码", "纳税人识别号", "税号", "营业执照", "注册号",
        "uscc", "credit code", "tax id", "tyshxydm",
    )
    PREFILTER = DIGIT_PREFILTER
    COLUMN_SCORE = 1.0
    DIGIT_LENGTHS = frozenset({18})
    NEEDS_VALIDATION = True

    def validate_result(self, pattern_text: str) -> bool:
        code = pattern_text.upper()
        if code.isdigit() and len(code) == 18:
            # An all-digit code that is also a valid resident ID is the ID.
            rows = np.frombuffer(code.encode(), dtype=np.uint8).reshape(1, 18)
            if valid_resident_id_rows(rows)[0]:
                return False
        return is_valid_uscc(code)

    def valid_fixed(self, chars: np.ndarray) -> np.ndarray | None:
        if chars.shape[1] != 18:
            return None
        return valid_uscc_rows(chars) & ~valid_resident_id_rows(chars)


def valid_uscc_rows(chars: np.ndarray) -> np.ndarray:
    """GB 32100 over ``(n, 18)`` ASCII rows (upper case)."""
    values = _VALUE[chars]
    ok = (values >= 0).all(axis=1)
    ok &= ((chars[:, 2:8] >= ord("0")) & (chars[:, 2:8] <= ord("9"))).all(axis=1)
    total = (np.where(values[:, :17] < 0, 0, values[:, :17]).astype(np.int32)
             * np.array(USCC_WEIGHTS, dtype=np.int32)).sum(axis=1)
    expected = _ALPHABET[(31 - total % 31) % 31]
    return ok & (chars[:, 17] == expected)


def __getattr__(attribute: str) -> type:
    """``UsccRecognizer``: the Presidio recognizer, created on first access."""
    return lazy_recognizer(__name__, attribute, "UsccRecognizer", UsccPatterns)
