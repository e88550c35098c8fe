"""Public detection API: text offsets, column scanning, aggregates, table profiles."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from corpus import synth

from egress_filter import detect
from egress_filter.detect import ColumnHit, profile_table, scan_column, scan_table, scan_text
from egress_filter.engine import get_analyzer
from egress_filter.recognizers import DetectionTimeout


@pytest.fixture(scope="session", autouse=True)
def analyzer():
    """Build the offline Presidio engine once for the whole session."""
    return get_analyzer()


# -- text ------------------------------------------------------------------------------------


def test_hits_map_to_line_and_offsets_in_the_original_text():
    text = "第一行没有\r\n乘客身份证11010519491231002X\n\n电话：１３８００１３８０００，邮箱a@example.com"
    hits = {h.entity: h for h in scan_text(text)}
    lines = text.split("\n")
    for hit in hits.values():
        assert lines[hit.line - 1][hit.start : hit.end] == hit.value
    assert (hits["CN_RESIDENT_ID"].line, hits["CN_RESIDENT_ID"].start) == (2, 5)
    assert hits["CN_MOBILE"].line == 4 and hits["CN_MOBILE"].value == "１３８００１３８０００"
    assert hits["EMAIL_ADDRESS"].value == "a@example.com"


def test_long_text_is_chunked_and_every_line_is_mapped():
    rng = random.Random(1)
    phones = [synth.mobile(rng) for _ in range(400)]
    filler = "统计口径说明：本表数据来源于公共数据平台。" * 3
    text = "\n".join(f"{filler}联系电话{p}" for p in phones)
    assert len(text) > 10 * detect.CHUNK_CHARS
    hits = scan_text(text, entities=["CN_MOBILE"])
    assert [h.value for h in hits] == phones
    assert [h.line for h in hits] == list(range(1, 401))


def test_value_on_the_cut_of_a_very_long_line_is_found():
    text = "甲" * (detect.CHUNK_CHARS - 5) + "身份证11010519491231002X" + "乙" * 3000
    (hit,) = scan_text(text, entities=["CN_RESIDENT_ID"])
    assert (hit.line, hit.start, hit.value) == (1, detect.CHUNK_CHARS - 2, "11010519491231002X")


def test_unknown_entity_is_an_error():
    with pytest.raises(ValueError, match="unknown entities"):
        scan_text("x", entities=["SSN"])


def test_regex_timeout_raises_instead_of_skipping(monkeypatch):
    from egress_filter.recognizers import _base

    monkeypatch.setattr(_base, "REGEX_TIMEOUT_SECONDS", 1e-9)
    with pytest.raises(DetectionTimeout) as info:
        scan_text("手机13800138000 " * 2000, entities=["CN_MOBILE"])
    assert "timed out" in info.value.en and "超时" in info.value.zh


# -- columns ---------------------------------------------------------------------------------


def test_int64_column_of_phone_numbers_is_a_phone_column():
    rng = random.Random(2)
    phones = pa.array([int(synth.mobile(rng)) for _ in range(1000)], type=pa.int64())
    (hit,) = scan_column(phones, name="联系电话")
    assert hit.entity == "CN_MOBILE" and hit.coverage == 1.0 and hit.n_nonempty == 1000
    assert len(hit.rows) == 1000 and hit.score == 1.0


def test_float_column_with_whole_phone_numbers_and_nan():
    values = pd.Series([13800138000.0, np.nan, 13912345678.0, 5.5])
    (hit,) = scan_column(values)
    assert hit.entity == "CN_MOBILE" and list(hit.rows) == [0, 2] and hit.n_nonempty == 3


def test_fractional_digits_of_floats_never_make_identifiers():
    rng = np.random.default_rng(0)
    floats = rng.random(5000) * 100
    floats[17] = 72.19131982042  # the 11-digit run that fooled presidio-structured
    assert scan_column(pd.Series(floats)) == []
    as_text = [f"{x:.11f}" for x in floats]
    assert scan_column(as_text) == []


def test_one_phone_number_hidden_in_20000_aggregate_rows():
    rng = np.random.default_rng(4)
    counts = rng.integers(0, 5000, 20_000).astype(object)
    counts[12_345] = 13800138000
    table = pa.table({
        "区县": rng.choice(["金水区", "二七区", "中原区"], 20_000),
        "人次": pa.array(counts.astype(np.int64)),
        "均值": rng.random(20_000) * 1000,
    })
    hits = scan_table(table)
    assert hits["区县"] == [] and hits["均值"] == []
    (hit,) = hits["人次"]
    assert hit.entity == "CN_MOBILE" and list(hit.rows) == [12_345]
    assert hit.coverage == pytest.approx(1 / 20_000) and hit.examples == ["13800138000"]


def test_aggregate_table_whose_numbers_fail_every_checksum_has_no_hits():
    rng = random.Random(10)
    table = pd.DataFrame({
        "统计编码": [synth.bad_checksum_number(rng, 18) for _ in range(600)],
        "批次号": [synth.bad_checksum_number(rng, 16) for _ in range(600)],
        "流水号": [synth.bad_checksum_number(rng, 19) for _ in range(600)],
        "金额": [round(rng.random() * 1e6, 2) for _ in range(600)],
        "件数": [rng.randrange(10**9) for _ in range(600)],
    })
    assert scan_table(table) == {c: [] for c in table.columns}


def test_embedded_identifiers_in_text_cells_and_exact_rows():
    cells = ["无"] * 50 + ["联系人电话13800138000"] + ["正常"] * 49 + ["身份证：11010519491231002X"]
    hits = {h.entity: h for h in scan_column(cells, name="备注")}
    assert list(hits["CN_MOBILE"].rows) == [50]
    assert list(hits["CN_RESIDENT_ID"].rows) == [100]
    assert hits["CN_RESIDENT_ID"].examples == ["11010519491231002X"]


def test_full_width_and_padded_cells_are_normalised():
    (hit,) = scan_column(["  １３８００１３８０００ ", "", None, "13912345678"])
    assert hit.entity == "CN_MOBILE" and list(hit.rows) == [0, 3] and hit.n_nonempty == 2


def test_column_name_is_context_for_scores():
    rng = random.Random(11)
    cards = [synth.bank_card(rng) for _ in range(30)]
    assert scan_column(cards, name="银行卡号")[0].score > scan_column(cards, name="c1")[0].score


def test_chance_level_luhn_passes_are_not_cards():
    rng = random.Random(12)
    codes = ["62" + "".join(str(rng.randrange(10)) for _ in range(14)) for _ in range(2000)]
    assert [h.entity for h in scan_column(codes, name="批次号")] == []


def test_sequence_pandas_and_arrow_inputs_agree():
    rng = random.Random(13)
    ids = [synth.resident_id(rng) for _ in range(200)] + [None, "n/a"]
    results = [scan_column(v) for v in (ids, pd.Series(ids), pa.array(ids),
                                        pa.chunked_array([ids[:100], ids[100:]]),
                                        pa.array(ids).dictionary_encode())]
    for hits in results:
        assert [h.entity for h in hits] == ["CN_RESIDENT_ID"]
        assert hits[0].n_nonempty == 201 and len(hits[0].rows) == 200


def test_low_cardinality_column_maps_rows_back():
    values = ["北京"] * 3000 + ["13800138000"] + ["上海"] * 3000
    (hit,) = scan_column(values)
    assert list(hit.rows) == [3000]


def test_boolean_and_date_columns_are_skipped():
    assert scan_column(pa.array([True, False])) == []
    assert scan_column(pd.Series(pd.to_datetime(["2024-01-01", "2024-02-03"]))) == []


def test_profile_and_scan_of_a_travel_table():
    table = synth.travel_table(5000, seed=3)
    profile = profile_table(table)
    assert profile == {
        "姓名": ["PERSON"], "身份证号": ["CN_RESIDENT_ID"], "手机": ["CN_MOBILE"],
        "车牌": ["CN_LICENSE_PLATE"], "住址": ["LOCATION"], "区县": [], "出行日期": [],
        "金额": [], "次数": [],
    }
    hits = scan_table(table.to_pandas())
    assert all(isinstance(h, ColumnHit) for col in hits.values() for h in col)
    assert hits["身份证号"][0].coverage == 1.0 and len(hits["身份证号"][0].examples) == 3


def test_partial_value_at_a_cut_is_not_reported():
    # A resident ID cut mid-line: the tail seen at the next piece's edge holds an 11-digit run
    # shaped like a mobile number; only the whole ID may be reported.
    for shift in range(0, 18, 3):
        text = "甲" * (detect.CHUNK_CHARS - shift) + "41010519900101001" + "1" + "乙" * 500
        hits = scan_text(text)
        assert [(h.entity, h.value) for h in hits] == [("CN_RESIDENT_ID", "410105199001010011")]


def test_pieces_cover_the_text_exactly_once():
    text = ("短行\n" * 700) + "长" * 9000 + "\n尾"
    kept = [(k0, k1) for _, _, k0, k1 in detect._pieces(text)]
    assert kept[0][0] == 0 and kept[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in zip(kept, kept[1:], strict=False))
