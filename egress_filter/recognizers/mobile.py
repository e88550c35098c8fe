"""CN_MOBILE: mainland China mobile numbers (ITU-T E.164 country code 86, MIIT numbering plan).

11 digits starting with a carrier prefix: 13x, 145-149, 150-153, 155-159, 162, 165-167,
170-178, 18x, 190-193, 195-199 (the CN mobile ranges of libphonenumber's metadata). Accepted
styles: ``+86``/``0086`` prefix, 3-4-4 grouping with spaces or hyphens, full-width digits (text
is NFKC-normalised before matching). No check digit exists, so the score depends on context;
a digit run inside a decimal number (``72.19131982042``) is refused by the boundaries.
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

PREFIXES = (
    [f"13{d}" for d in range(10)] + ["145", "146", "147", "148", "149"]
    + ["150", "151", "152", "153", "155", "156", "157", "158", "159"]
    + ["162", "165", "166", "167"] + [f"17{d}" for d in range(9)]
    + [f"18{d}" for d in range(10)] + ["190", "191", "192", "193", "195", "196", "197", "198", "199"]
)
_PREFIX_RE = r"1(?:3[0-9]|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8[0-9]|9[0-35-9])"
_VALID_PREFIX = np.zeros(1000, dtype=bool)
_VALID_PREFIX[[int(p) for p in PREFIXES]] = True


class MobilePatterns(ChinesePatterns):
    """Mainland mobile numbers, with or without +86 and separators.

    Specs, context words and validators; the Presidio recognizer is :class:`MobileRecognizer`.
    """

    ENTITY = "CN_MOBILE"
    SPECS = (
        Spec("cn_mobile", rf"(?:(?:\+|00)86[ -]?)?{_PREFIX_RE}(?:[ -]?[0-9]{{4}}){{2}}", 0.6,
             left="0-9.+", right="0-9", no_decimal_after=True),
    )
    CONTEXT = (
        "手机", "手机号", "手机号码", "电话", "联系电话", "联系方式", "电话号码", "移动电话", "微信",
        "致电", "来电", "mobile", "phone", "tel", "cell", "cellphone", "sjhm", "lxdh",
    )
    PREFILTER = DIGIT_PREFILTER
    COLUMN_SCORE = 0.7
    DIGIT_LENGTHS = frozenset({11})

    def valid_fixed(self, chars: np.ndarray) -> np.ndarray | None:
        if chars.shape[1] != 11:
            return None
        digits = digits_of(chars)
        prefix = digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]
        return all_digits(chars) & _VALID_PREFIX[np.clip(prefix, 0, 999)]


def __getattr__(attribute: str) -> type:
    """``MobileRecognizer``: the Presidio recognizer, created on first access."""
    return lazy_recognizer(__name__, attribute, "MobileRecognizer", MobilePatterns)
