"""PERSON: Chinese names from a shipped surname list and jieba's dictionary."""

from __future__ import annotations

import pytest

from egress_filter.detect import scan_column, scan_text
from egress_filter.recognizers.person import name_score


def values(text: str) -> list[str]:
    return [h.value for h in scan_text(text, entities=["PERSON"])]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("联系人王小明，电话见附件", "王小明"),
        ("申请人：欧阳娜娜", "欧阳娜娜"),
        ("经办人张伟已签字", "张伟"),
    ],
)
def test_names_found(text, expected):
    assert expected in values(text)


@pytest.mark.parametrize("word", ["谢谢", "马上", "金水区", "黄河", "高度", "同比增加", "常用"])
def test_common_words_and_places_are_not_names(word):
    assert name_score(word) == 0


def test_context_raises_score():
    bare = scan_text("王小明", entities=["PERSON"])[0].score
    assert scan_text("姓名王小明", entities=["PERSON"])[0].score > bare


def test_name_column_found_and_district_column_not():
    names = ["张伟", "李娜", "王小明", "刘洋", "陈静", "欧阳娜娜"] * 300
    (hit,) = scan_column(names, name="乘客姓名")
    assert hit.entity == "PERSON" and hit.coverage == 1.0 and hit.score >= 0.8
    districts = ["金水区", "二七区", "中原区", "管城回族区", "高新区"] * 300
    assert scan_column(districts, name="区县") == []


def test_labelled_name_inside_free_text_cells_of_a_column():
    cells = ["无"] * 30 + ["联系人：王小明，电话见附件", "申请人于2025年提交", "投诉人反映噪音"]
    (hit,) = scan_column(cells, name="备注")
    assert hit.entity == "PERSON" and list(hit.rows) == [30]
