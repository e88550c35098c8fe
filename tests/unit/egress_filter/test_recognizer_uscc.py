"""CN_USCC: GB 32100 mod-31 check character."""

from __future__ import annotations

import random

import numpy as np
import pytest
from corpus import synth

from egress_filter.checksums import is_valid_uscc
from egress_filter.detect import scan_column, scan_text
from egress_filter.recognizers.uscc import valid_uscc_rows


def values(text: str) -> list[str]:
    return [h.value for h in scan_text(text, entities=["CN_USCC"])]


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000600037341L"])
def test_valid_codes_found(code):
    assert values(f"统一社会信用代码{code}。") == [code]


@pytest.mark.parametrize("code", ["91350100M000100Y4Z", "91350100M000100Y44", "91110000600037341O"])
def test_invalid_codes_not_found(code):
    assert values(f"信用代码：{code}") == []


def test_vectorized_check_agrees_with_scalar_check():
    rng = random.Random(8)
    codes = [synth.uscc(rng, valid=rng.random() < 0.5) for _ in range(300)]
    rows = np.frombuffer("".join(codes).encode(), dtype=np.uint8).reshape(-1, 18)
    assert list(valid_uscc_rows(rows)) == [is_valid_uscc(c) for c in codes]


def test_uscc_column():
    rng = random.Random(9)
    codes = [synth.uscc(rng) for _ in range(100)]
    (hit,) = scan_column(codes, name="tyshxydm")
    assert hit.entity == "CN_USCC" and hit.coverage == 1.0
