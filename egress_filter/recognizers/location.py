"""LOCATION: street-level Chinese addresses (GB/T 23705 style: region + road + door).

Reported: a road/street/lane (路, 街, 大道, 巷, 胡同, 弄) with a house number (号) and optional
building/unit/room (号楼, 栋, 幢, 单元, 室); an administrative prefix (省/市/区/县/镇/乡/街道) followed
by a road or a village (村); and building-unit-room strings (3号楼2单元501室). A bare city or
district name (郑州市, 金水区) is a quasi-identifier, not an address, and is not reported.
Names of roads exclude common function characters so a match does not swallow the verb before
it (``住在花园路88号`` → ``花园路88号``).
"""

from __future__ import annotations

from egress_filter.recognizers._base import (
    ChinesePatterns,
    Spec,
    han_class_without,
    lazy_recognizer,
)

_NAME = han_class_without("在住于的是到从与及为往向家位址去来了我你他她们这那个处即其之")
_ADMIN = rf"{_NAME}{{2,7}}?(?:省|自治区|市|自治州|地区|盟|区|县|旗|镇|乡|街道)"
_ROAD = rf"{_NAME}{{1,6}}?(?:大道|大街|路|街|巷|胡同|弄)"
_NUM = "[0-9]{1,5}"
_DOOR = (
    rf"{_NUM}(?:号院|号|弄)(?:{_NUM}(?:号楼|栋|幢|座))?(?:{_NUM}单元)?(?:{_NUM}(?:室|户|号))?"
)
_BUILDING = rf"{_NUM}(?:号楼|栋|幢)(?:{_NUM}单元)?{_NUM}(?:室|户)"


class LocationPatterns(ChinesePatterns):
    """Street-level addresses.

    Specs, context words and validators; the Presidio recognizer is :class:`LocationRecognizer`.
    """

    ENTITY = "LOCATION"
    SPECS = (
        Spec("address_door", rf"(?:{_ADMIN})*{_ROAD}{_DOOR}", 0.7, left="", right="0-9"),
        Spec("address_road", rf"(?:{_ADMIN})+{_ROAD}", 0.55, left="", right=""),
        Spec("address_village", rf"(?:{_ADMIN})+{_NAME}{{1,6}}?村(?:{_NUM}组)?", 0.55, left="",
             right=""),
        Spec("address_building", _BUILDING, 0.55, left="0-9", right="0-9"),
    )
    CONTEXT = (
        "地址", "住址", "家庭住址", "居住地", "户籍", "籍贯", "住所", "现住", "收货地址", "联系地址",
        "address", "addr", "residence", "zz", "jtzz",
    )
    NEEDS_HAN = True
    PREFILTER = r"路|街|大道|巷|胡同|弄|村|号楼|栋|幢|单元|室"
    COLUMN_SCORE = 0.6


def __getattr__(attribute: str) -> type:
    """``LocationRecognizer``: the Presidio recognizer, created on first access."""
    return lazy_recognizer(__name__, attribute, "LocationRecognizer", LocationPatterns)
