"""CN_RESIDENT_ID: GB 11643 checksum, province, birth date; CJK-safe boundaries."""

from __future__ import annotations

import random

import numpy as np
import pytest
from corpus import synth

from egress_filter.checksums import is_valid_resident_id
from egress_filter.detect import scan_text
from egress_filter.recognizers import ResidentIdRecognizer
from egress_filter.recognizers.resident_id import valid_resident_id_rows

VALID = ["11010519491231002X", "34052419800101001X", "513101198201130014", "110101199003077571",
         "410105199001010011"]
INVALID = [
    "110105194912310021",  # wrong check char
    "410105199013010018",  # month 13
    "410105199002300011",  # 30 February
    "990105199001010011",  # no province 99
    "410105209901010011",  # born in the future
]


def values(text: str) -> list[str]:
    return [h.value for h in scan_text(text, entities=["CN_RESIDENT_ID"])]


@pytest.mark.parametrize("number", VALID)
def test_valid_numbers_are_found_with_full_score(number):
    assert ResidentIdRecognizer().validate_result(number) is True
    hits = scan_text(f"证件号码：{number}", entities=["CN_RESIDENT_ID"])
    assert [(h.value, h.score) for h in hits] == [(number, 1.0)]


@pytest.mark.parametrize("number", INVALID)
def test_numbers_failing_any_check_are_not_identifiers(number):
    assert not is_valid_resident_id(number)
    assert values(f"身份证号{number}") == []


def test_found_inside_chinese_sentence_without_spaces_and_lowercase_x():
    assert values("张三的身份证号是11010519491231002x请核对") == ["11010519491231002x"]


def test_full_width_digits_are_normalised():
    full = "".join(chr(ord(c) + 0xFEE0) for c in "110101199003077571")
    hits = scan_text(f"身份证：{full}。", entities=["CN_RESIDENT_ID"])
    assert [h.value for h in hits] == [full]
    assert (hits[0].start, hits[0].end) == (4, 22)


def test_longer_digit_runs_and_decimals_are_not_ids():
    assert values("编号1101011990030775712") == []
    assert values("0.110101199003077571") == []


def test_vectorized_check_agrees_with_scalar_check():
    rng = random.Random(3)
    numbers = [synth.resident_id(rng, valid=rng.random() < 0.5) for _ in range(400)]
    numbers += [n[:6] + "19901332" + n[14:] for n in numbers[:50]]  # impossible dates
    rows = np.frombuffer("".join(numbers).encode(), dtype=np.uint8).reshape(-1, 18)
    assert list(valid_resident_id_rows(rows)) == [is_valid_resident_id(n) for n in numbers]
