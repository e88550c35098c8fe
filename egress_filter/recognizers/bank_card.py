"""BANK_CARD: payment card numbers (ISO/IEC 7812), validated with the Luhn algorithm.

16 to 19 digits, optionally in groups of four separated by spaces or hyphens, with an issuer
prefix (IIN) of a scheme issued in China: 62 UnionPay (Q/CUP, 16-19 digits), 4 Visa, 51-55 and
2221-2720 Mastercard, 35 JCB. A number that fails Luhn is not a card. An 18-digit number that
is a valid resident ID is reported as CN_RESIDENT_ID, not as a card (about 9 % of valid Henan
IDs also pass Luhn). Luhn passes one random number in ten, so the score stays below 1 and
rises with context words (银行卡, 卡号, 开户行 ...).
"""

from __future__ import annotations

import numpy as np

from egress_filter.checksums import is_valid_luhn, is_valid_resident_id
from egress_filter.recognizers._base import (
    ChinesePatterns,
    Spec,
    all_digits,
    digits_of,
    lazy_recognizer,
    luhn_valid,
)
from egress_filter.recognizers.resident_id import valid_resident_id_rows

_GROUPS = r"(?:[ -]?[0-9]{4}){3}(?:[ -]?[0-9]{1,3})?"


class BankCardPatterns(ChinesePatterns):
    """Payment cards with a Chinese-issued scheme prefix and a valid Luhn digit.

    Specs, context words and validators; the Presidio recognizer is :class:`BankCardRecognizer`.
    """

    ENTITY = "BANK_CARD"
    SPECS = (
        Spec("unionpay", rf"62[0-9]{{2}}{_GROUPS}", 0.5, left="0-9A-Za-z.", right="0-9A-Za-z",
             no_decimal_after=True),
        Spec("visa_mastercard_jcb", rf"(?:4[0-9]|5[1-5]|35|2[2-7])[0-9]{{2}}{_GROUPS}", 0.4,
             left="0-9A-Za-z.", right="0-9A-Za-z", no_decimal_after=True),
    )
    NEGATIVE_CONTEXT = ("订单", "单号", "编号", "流水号", "序号", "批次", "工单", "票号", "order", "serial",
                        "no.", "ref")
    CONTEXT = (
        "银行卡", "卡号", "银行账号", "账号", "帐号", "开户行", "借记卡", "信用卡", "储蓄卡", "银联",
        "bank", "card", "card_no", "account", "credit", "debit", "yhkh",
    )
    COLUMN_SCORE = 0.6
    DIGIT_LENGTHS = frozenset({16, 17, 18, 19})
    NEEDS_VALIDATION = True

    def validate_result(self, pattern_text: str) -> bool | None:
        digits = "".join(c for c in pattern_text if c.isdigit())
        if not is_valid_luhn(digits) or is_valid_resident_id(digits):
            return False
        return None  # keep the pattern score: Luhn alone is weak evidence

    def valid_fixed(self, chars: np.ndarray) -> np.ndarray | None:
        if chars.shape[1] not in self.DIGIT_LENGTHS:
            return None
        ok = all_digits(chars)
        d = digits_of(chars)
        first2 = d[:, 0] * 10 + d[:, 1]
        ok &= (
            (first2 == 62) | (d[:, 0] == 4) | ((first2 >= 51) & (first2 <= 55))
            | (first2 == 35) | ((first2 >= 22) & (first2 <= 27))
        )
        ok &= luhn_valid(np.where(ok[:, None], d, 0))
        if chars.shape[1] == 18:
            ok &= ~valid_resident_id_rows(chars)
        return ok


def __getattr__(attribute: str) -> type:
    """``BankCardRecognizer``: the Presidio recognizer, created on first access."""
    return lazy_recognizer(__name__, attribute, "BankCardRecognizer", BankCardPatterns)
