"""Fast checks of the airlock app's pieces that need no hub or browser: previews and messages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hub.airlock.states import DECISIONS, STATES
from hub.airlock.web import render
from hub.airlock.web.messages import MESSAGES, message, pick_lang

TEMPLATES = Path(render.__file__).parent / "templates"


def test_split_segments_merges_overlaps_and_clamps() -> None:
    line = "车牌 豫A12345 与 豫B54321"
    pieces = render.split_segments(line, [(3, 10), (5, 9), (13, 20), (30, 40)])
    assert "".join(text for text, _ in pieces) == line
    assert [text for text, flagged in pieces if flagged] == ["豫A12345", "豫B54321"]


def test_split_segments_without_spans_keeps_the_line() -> None:
    assert render.split_segments("", []) == [("", False)]
    assert render.split_segments("abc", []) == [("abc", False)]


def test_table_flags_cells_whole_columns_and_sheets() -> None:
    findings = [
        {"location": {"column": "trips", "rows": [1, 3]}},
        {"location": {"column": "id", "coverage": 1.0}},
        {"location": {"column": "trips", "rows": [0], "sheet": "other"}},
        {"location": {"line": 2, "start": 0, "end": 3}},
    ]
    cells, whole = render.table_flags(findings, ["district", "trips", "id"])
    assert cells == {(1, 1), (3, 1)} and whole == {2}
    cells, whole = render.table_flags(findings, ["district", "trips", "id"], sheet="other")
    assert cells == {(0, 1)} and whole == set()


def test_text_spans_ignore_notebook_cells() -> None:
    spans = render.text_spans([{"location": {"line": 2, "start": 1, "end": 4}},
                               {"location": {"line": 2, "start": 1, "end": 4, "cell": 3}}])
    assert spans == {2: [(1, 4)]}


def test_preview_of_a_csv_flags_the_reported_cell(tmp_path: Path) -> None:
    path = tmp_path / "agg.csv"
    path.write_text("district,trips\nA,12\nB,0\n", encoding="utf-8")
    report = {"findings": [{"location": {"column": "trips", "rows": [1]}}]}
    preview = render.build_preview(path, "agg.csv", report)
    (table,) = preview.tables
    assert table.rows == [["A", "12"], ["B", "0"]] and table.flags == [set(), {1}]


def test_preview_of_html_is_source_only(tmp_path: Path) -> None:
    path = tmp_path / "p.html"
    path.write_text("<script>x()</script>\n<p>hi</p>", encoding="utf-8")
    preview = render.build_preview(path, "p.html", None)
    assert preview.source_only and preview.lines[0].segments == [("<script>x()</script>", False)]


def test_preview_refuses_a_disguised_image(tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    path.write_bytes(b"<html>not a png</html>")
    assert render.image_type(path, "x.png") is None
    assert render.build_preview(path, "x.png", None).problem is not None


def test_every_template_key_is_in_the_message_table() -> None:
    used = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+)["']\s*[,)]""", template.read_text()))
    assert used and used <= MESSAGES.keys()
    dynamic = ([f"state_{s}" for s in STATES] + [f"decision_{d}" for d in DECISIONS]
               + [f"verdict_{v}" for v in ("pass", "review", "block", "none")]
               + [f"purpose_{p}" for p in ("public_welfare", "industry", "free", "fee")]
               + [f"product_state_{s}" for s in ("building", "published", "revoked")])
    assert set(dynamic) <= MESSAGES.keys()
    assert all(zh and en for zh, en in MESSAGES.values())


@pytest.mark.parametrize(("query", "cookie", "expected"),
                         [(None, None, "zh"), ("en", None, "en"), (None, "en", "en"),
                          ("zh", "en", "zh"), ("xx", None, "zh")])
def test_language_choice(query: str | None, cookie: str | None, expected: str) -> None:
    assert pick_lang(query, cookie) == expected


def test_message_formats_values() -> None:
    assert message("req_title", "en", id=7) == "Export request #7"
    assert message("req_title", "zh", id=7) == "出域申请 #7"


def test_blocking_values_are_masked_review_values_are_not(tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text("id,trips\n110101199003077571,0\n", encoding="utf-8")
    report = {"findings": [{"verdict": "block", "location": {"column": "id"}},
                           {"verdict": "review", "location": {"column": "trips", "rows": [0]}}]}
    (preview,) = render.build_preview(table, "t.csv", report).tables
    assert preview.rows == [["1****************1", "0"]] and preview.flags == [{0, 1}]
    text = tmp_path / "t.txt"
    text.write_text("id 110101199003077571 here", encoding="utf-8")
    report = {"findings": [{"verdict": "block", "location": {"line": 1, "start": 3, "end": 21}}]}
    (line,) = render.build_preview(text, "t.txt", report).lines
    assert line.segments == [("id ", False), ("1****************1", True), (" here", False)]


def test_every_request_state_has_a_message() -> None:
    assert {f"state_{s}" for s in STATES} <= MESSAGES.keys()
