"""CN_LICENSE_PLATE: motor vehicle number plates (GA 36-2018).

Province abbreviation (京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼) + issuing
office letter (A-Z without I/O) + an optional printed dot + a serial: ordinary plates 5 characters
from A-Z (no I/O) and 0-9, or 4 and a 挂/学/警/港/澳/领/试/超 suffix; new-energy plates 6
characters, small vehicles ``D``/``F`` + letter-or-digit + 4 digits, large vehicles 5 digits +
``D``/``F``. Zhengzhou plates start with 豫A. Plates identify a vehicle owner and, across
records, a person's movements (行踪轨迹).
"""

from __future__ import annotations

from egress_filter.recognizers._base import ChinesePatterns, Spec, lazy_recognizer

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_ALNUM = "[A-HJ-NP-Z0-9]"
_CORE = (
    rf"[{PROVINCES}][A-HJ-NP-Z][·•]?"
    rf"(?:[DF]{_ALNUM}[0-9]{{4}}|[0-9]{{5}}[DF]|{_ALNUM}{{5}}|{_ALNUM}{{4}}[挂学警港澳领试超])"
)


class LicensePlatePatterns(ChinesePatterns):
    """Mainland licence plates, ordinary and new-energy.

    Specs, context words and validators; the Presidio recognizer is :class:`LicensePlateRecognizer`.
    """

    ENTITY = "CN_LICENSE_PLATE"
    SPECS = (Spec("cn_license_plate", _CORE, 0.6, left="", right="0-9A-Za-z"),)
    CONTEXT = ("车牌", "车牌号", "号牌", "车辆", "车号", "牌照", "plate", "license", "vehicle", "cph")
    NEEDS_HAN = True
    PREFILTER = rf"[{PROVINCES}][A-HJ-NP-Z]"
    COLUMN_SCORE = 0.7


def __getattr__(attribute: str) -> type:
    """``LicensePlateRecognizer``: the Presidio recognizer, created on first access."""
    return lazy_recognizer(__name__, attribute, "LicensePlateRecognizer", LicensePlatePatterns)
