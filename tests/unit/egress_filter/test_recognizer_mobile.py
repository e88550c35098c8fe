"""CN_MOBILE: carrier prefixes, +86/0086, separators, full-width digits, decimal trap."""

from __future__ import annotations

import pytest

from egress_filter.detect import scan_text


def values(text: str) -> list[str]:
    return [h.value for h in scan_text(text, entities=["CN_MOBILE"])]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("手机13800138000", "13800138000"),
        ("联系电话：+86 138-0013-8000。", "+86 138-0013-8000"),
        ("请拨0086 13912345678", "0086 13912345678"),
        ("电话 199 1234 5678 找我", "199 1234 5678"),
        ("致电１３８００１３８０００谢谢", "１３８００１３８０００"),
        ("他的号码是16612345678吧", "16612345678"),
    ],
)
def test_styled_numbers_are_found(text, expected):
    assert values(text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "72.19131982042",  # fractional digits of a float
        "13800138000.25",  # integer part of an amount
        "订单号138001380001",  # 12 digits
        "14012345678",  # 140 is not a carrier prefix
        "12345678901",
    ],
)
def test_not_mobiles(text):
    assert values(text) == []


def test_context_word_raises_score():
    bare = scan_text("13800138000", entities=["CN_MOBILE"])[0].score
    with_context = scan_text("手机号13800138000", entities=["CN_MOBILE"])[0].score
    assert with_context > bare
