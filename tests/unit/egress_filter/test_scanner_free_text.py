"""Names hidden in free-text cells are found through the text path, within a budget."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from egress_filter import scanner
from egress_filter.model import Verdict

NOTES = (
    "district,note\n"
    "金水区,今天王建国来电询问货运进度\n"
    "二七区,客户反馈良好，无其他问题\n"
    "航空港区,请联系刘晓燕确认收货地址\n"
)


def _write(tmp_path: Path, text: str, name: str = "out.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_name_inside_a_remark_is_found_with_its_row(tmp_path):
    report = scanner.scan_file(_write(tmp_path, NOTES), level=3)
    person = [f for f in report.findings if f.entity == "PERSON"]
    assert len(person) == 1
    assert person[0].location == {"column": "note", "rows": [0, 2]}
    assert person[0].detail == "in free text"
    assert "王建国" not in str(report.to_json())  # masked
    assert report.verdict is Verdict.BLOCK  # PERSON blocks at level 3


def test_the_same_remark_goes_to_review_at_level_2(tmp_path):
    report = scanner.scan_file(_write(tmp_path, NOTES), level=2)
    assert report.verdict is Verdict.REVIEW


def test_remarks_without_names_pass(tmp_path):
    clean = ("district,note\n金水区,本月货运量平稳增长\n二七区,客户反馈良好，无其他问题\n"
             "航空港区,请尽快确认收货地址\n")
    report = scanner.scan_file(_write(tmp_path, clean), level=3)
    assert [f.entity for f in report.findings] == []


def test_a_name_column_is_not_reported_twice(tmp_path):
    names = "traveller,remark\n" + "".join(
        f"{n},{n}今天已到达航空港区货站\n" for n in ("王建国", "刘晓燕", "张伟", "李娜", "陈静"))
    report = scanner.scan_file(_write(tmp_path, names), level=3)
    by_column = [(f.location["column"], f.entity) for f in report.findings
                 if f.entity == "PERSON"]
    assert by_column.count(("traveller", "PERSON")) == 1
    assert by_column.count(("remark", "PERSON")) <= 1


def test_free_text_over_the_budget_goes_to_review_not_pass(tmp_path, monkeypatch):
    monkeypatch.setattr(scanner, "FREE_TEXT_MAX_CHARS", 20)
    clean = ("district,note\n金水区,本月货运量平稳增长\n二七区,客户反馈良好，无其他问题\n"
             "航空港区,请尽快确认收货地址\n")
    report = scanner.scan_file(_write(tmp_path, clean), level=2)
    assert [r.code for r in report.reasons] == ["free_text_too_large"]
    assert report.verdict is Verdict.REVIEW


@pytest.mark.parametrize("column", ["金水区", "A12345", "2025-01"])
def test_short_codes_and_categories_are_not_free_text(column):
    assert not scanner._is_free_text(pa.chunked_array([[column] * 50]))
