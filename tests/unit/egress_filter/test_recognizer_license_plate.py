"""CN_LICENSE_PLATE: province + letter + 5, new-energy 6-character serials, printed dot."""

from __future__ import annotations

import pytest

from egress_filter.detect import scan_text


def values(text: str) -> list[str]:
    return [h.value for h in scan_text(text, entities=["CN_LICENSE_PLATE"])]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("车牌豫A12345违章", "豫A12345"),
        ("新能源车豫AD12345", "豫AD12345"),
        ("大型新能源豫A12345F", "豫A12345F"),
        ("京N·8B2C9驶入", "京N·8B2C9"),
        ("教练车豫A1234学", "豫A1234学"),
    ],
)
def test_plates_are_found(text, expected):
    assert values(text) == [expected]


@pytest.mark.parametrize("text", ["豫I12345", "河南A12345", "豫A1234", "豫A123456789"])
def test_not_plates(text):
    assert values(text) == []
