"""CN_LANDLINE: area codes, separators and brackets; bare digit runs need context."""

from __future__ import annotations

import pytest

from egress_filter.detect import scan_text


def values(text: str) -> list[str]:
    return [h.value for h in scan_text(text, entities=["CN_LANDLINE"])]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("办公电话0371-61234567", "0371-61234567"),
        ("电话：(0371)6123 4567", "(0371)6123 4567"),
        ("传真（０３７１）６１２３４５６７", "（０３７１）６１２３４５６７"),
        ("北京010-82345678转", "010-82345678"),
        ("座机 0371 6123456", "0371 6123456"),
    ],
)
def test_styled_numbers_are_found(text, expected):
    assert values(text) == [expected]


def test_plain_digits_need_a_context_word():
    assert values("037161234567") == []
    assert values("固定电话037161234567") == ["037161234567"]


@pytest.mark.parametrize("text", ["2024-01-02", "0371-0123", "编号0371-61234567", "1.0371-6123"])
def test_not_landlines(text):
    assert values(text) == []
