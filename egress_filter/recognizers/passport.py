"""CN_PASSPORT: PRC passport numbers (National Immigration Administration numbering).

Ordinary passports: 1 letter + 8 digits (``G`` before 2012, ``E`` for e-passports), and after the
E range ran out ``E`` + a letter other than I/O + 7 digits. Diplomatic, service and public-affairs
passports: ``DE``/``SE``/``PE`` + 7 digits. There is no check digit and the shape is shared with
many product and document codes, so the score without a context word (护照, passport) is low and
a column needs its name or a high coverage to be tagged.
"""

from __future__ import annotations

from egress_filter.recognizers._base import DIGIT_PREFILTER, ChinesePatterns, Spec, lazy_recognizer


class PassportPatterns(ChinesePatterns):
    """PRC ordinary and official passport numbers; context-dependent.

    Specs, context words and validators; the Presidio recognizer is :class:`PassportRecognizer`.
    """

    ENTITY = "CN_PASSPORT"
    SPECS = (
        Spec("cn_passport_ordinary", r"[EG][0-9]{8}|E[A-HJ-NP-Z][0-9]{7}", 0.4,
             left="0-9A-Za-z", right="0-9A-Za-z"),
        Spec("cn_passport_official", r"(?:DE|SE|PE)[0-9]{7}", 0.3,
             left="0-9A-Za-z", right="0-9A-Za-z"),
    )
    NEGATIVE_CONTEXT = ("订单", "单号", "编号", "流水号", "序号", "批次", "工单", "票号", "型号", "货号",
                        "产品", "车次", "航班", "order", "serial", "model", "sku", "ref")
    CONTEXT = ("护照", "护照号", "护照号码", "证件号", "出入境", "passport", "hzhm")
    PREFILTER = DIGIT_PREFILTER
    COLUMN_SCORE = 0.35


def __getattr__(attribute: str) -> type:
    """``PassportRecognizer``: the Presidio recognizer, created on first access."""
    return lazy_recognizer(__name__, attribute, "PassportRecognizer", PassportPatterns)
