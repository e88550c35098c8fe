"""LOCATION: street-level addresses; bare cities and districts are not addresses."""

from __future__ import annotations

import pytest

from egress_filter.detect import scan_text


def values(text: str) -> list[str]:
    return [h.value for h in scan_text(text, entities=["LOCATION"])]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("家住河南省郑州市金水区花园路88号院3号楼2单元501室", "河南省郑州市金水区花园路88号院3号楼2单元501室"),
        ("他住在花园路88号", "花园路88号"),
        ("郑州市二七区大学路", "郑州市二七区大学路"),
        ("中牟县官渡镇小王庄村3组", "中牟县官渡镇小王庄村3组"),
        ("小区3号楼2单元501室", "3号楼2单元501室"),
    ],
)
def test_addresses_found(text, expected):
    assert values(text) == [expected]


@pytest.mark.parametrize("text", ["郑州市", "金水区客流上升", "思路清晰", "第3号文件", "一路顺风"])
def test_not_street_level(text):
    assert values(text) == []
