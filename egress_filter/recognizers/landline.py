"""CN_LANDLINE: mainland China fixed-line numbers (national numbering plan, trunk prefix 0).

Area code ``010``/``02x`` (3 digits) or ``0xxx`` (4 digits, e.g. 0371 Zhengzhou) followed by a
7- or 8-digit local number. Styles: ``0371-6123 4567``, ``0371 61234567``, ``(0371)61234567``,
full-width brackets and digits (NFKC). Written without any separator the number is only a
weak candidate (score below the report threshold unless a context word is near), because
order numbers and codes of the same length are common. No check digit exists.
"""

from __future__ import annotations

import numpy as np

from egress_filter.recognizers._base import (
    DIGIT_PREFILTER,
    ChinesePatterns,
    Spec,
    all_digits,
    digits_of,
    lazy_recognizer,
)

_AREA = r"0(?:10|2[0-9]|[3-9][0-9]{2})"
_LOCAL = r"[1-9][0-9]{2,3}[ -]?[0-9]{4}"


class LandlinePatterns(ChinesePatterns):
    """Fixed-line numbers with an area code.

    Specs, context words and validators; the Presidio recognizer is :class:`LandlineRecognizer`.
    """

    ENTITY = "CN_LANDLINE"
    SPECS = (
        Spec("cn_landline_separated", rf"(?:\({_AREA}\)[ -]?|{_AREA}[ -]){_LOCAL}", 0.55,
             left="0-9.", right="0-9", no_decimal_after=True),
        Spec("cn_landline_plain", r"0(?:10|2[0-9])[2-9][0-9]{7}|0[3-9][0-9]{2}[2-9][0-9]{6,7}",
             0.3, left="0-9.", right="0-9", no_decimal_after=True),
    )
    NEGATIVE_CONTEXT = ("订单", "单号", "编号", "流水号", "序号", "批次", "工单", "票号", "order", "serial",
                        "no.", "ref")
    CONTEXT = (
        "电话", "座机", "固话", "固定电话", "联系电话", "办公电话", "传真", "热线", "联系方式",
        "phone", "tel", "telephone", "landline", "fax", "lxdh",
    )
    PREFILTER = DIGIT_PREFILTER
    COLUMN_SCORE = 0.5
    DIGIT_LENGTHS = frozenset({10, 11, 12})

    def valid_fixed(self, chars: np.ndarray) -> np.ndarray | None:
        width = chars.shape[1]
        if width not in self.DIGIT_LENGTHS:
            return None
        d = digits_of(chars)
        ok = all_digits(chars) & (d[:, 0] == 0)
        short_area = (d[:, 1] == 1) & (d[:, 2] == 0) | (d[:, 1] == 2)  # 010, 02x
        # 3-digit areas take an 8-digit local number, 4-digit areas 7 or 8 digits.
        local_len = np.where(short_area, width - 3, width - 4)
        local_first = np.where(short_area, d[:, 3], d[:, min(4, width - 1)])
        ok &= np.where(short_area, local_len == 8, (local_len == 7) | (local_len == 8))
        ok &= (d[:, 1] >= 2) | ((d[:, 1] == 1) & (d[:, 2] == 0))  # no 01x area but 010
        ok &= local_first >= 2
        return ok


def __getattr__(attribute: str) -> type:
    """``LandlineRecognizer``: the Presidio recognizer, created on first access."""
    return lazy_recognizer(__name__, attribute, "LandlineRecognizer", LandlinePatterns)
