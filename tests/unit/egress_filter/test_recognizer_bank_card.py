"""BANK_CARD: Luhn, scheme prefixes, 16-19 digits, grouping; IDs and order numbers are not cards."""

from __future__ import annotations

import random

import pytest
from corpus import synth

from egress_filter.detect import scan_column, scan_text


def values(text: str) -> list[str]:
    return [h.value for h in scan_text(text, entities=["BANK_CARD"])]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("卡号6217000000000006", "6217000000000006"),
        ("银行卡：6217 0000 0000 0000 004。", "6217 0000 0000 0000 004"),
        ("信用卡4111-1111-1111-1111已冻结", "4111-1111-1111-1111"),
        ("借记卡６２１７０００００００００００６", "６２１７０００００００００００６"),
    ],
)
def test_valid_cards_are_found(text, expected):
    assert values(text) == [expected]


@pytest.mark.parametrize("number", ["6217000000000007", "4111111111111112", "62170000000000000005"])
def test_luhn_failures_and_wrong_lengths_are_not_cards(number):
    assert values(f"卡号{number}") == []


def test_order_number_that_passes_luhn_is_not_a_card():
    assert values("订单号6217000000000006") == []


def test_valid_resident_id_is_not_reported_as_card():
    rng = random.Random(5)
    ids = [synth.resident_id(rng) for _ in range(300)]
    hits = scan_column(ids, name="证件号码")
    assert [h.entity for h in hits] == ["CN_RESIDENT_ID"]


def test_card_column_with_context_name():
    rng = random.Random(6)
    cards = [synth.bank_card(rng) for _ in range(50)]
    (hit,) = scan_column(cards, name="银行卡号")
    assert hit.entity == "BANK_CARD" and hit.coverage == 1.0 and hit.score == 1.0
