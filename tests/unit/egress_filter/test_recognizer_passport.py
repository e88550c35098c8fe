"""CN_PASSPORT: E/G + 8 digits, E + letter + 7 digits; the score depends on context."""

from __future__ import annotations

import pytest

from egress_filter.detect import scan_column, scan_text


def hits(text: str):
    return scan_text(text, entities=["CN_PASSPORT"])


@pytest.mark.parametrize("number", ["E12345678", "G12345678", "EA1234567", "DE1234567"])
def test_found_with_context_word(number):
    (hit,) = hits(f"护照号{number}")
    assert hit.value == number and hit.score >= 0.6


def test_context_raises_score():
    assert hits("护照E12345678")[0].score > hits("E12345678")[0].score


@pytest.mark.parametrize("text", ["EI1234567", "E1234567", "E123456789", "XE12345678", "型号E12345678"])
def test_not_passports(text):
    assert hits(text) == []


def test_column_name_lets_weak_entity_through():
    values = ["E12345678", "EB7654321", "G87654321"]
    assert scan_column(values, name="护照号码")[0].entity == "CN_PASSPORT"
    # An isolated passport-shaped code in an unrelated column is below the report threshold.
    assert scan_column(["E12345678"] + ["x"] * 20, name="备注") == []
