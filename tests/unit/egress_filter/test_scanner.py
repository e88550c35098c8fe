"""Per-file verdicts: gates, findings with locations, SDC, acceptance cases, fail-closed errors."""

from __future__ import annotations

import json
import os
import random

import pytest
from egress_builders import (
    code_cell,
    notebook,
    png_output,
    png_with_text,
    write,
    xlsx_bytes,
    zip_with,
)

from egress_filter import scanner
from egress_filter.model import Verdict
from egress_filter.policy import default_policy, parse_policy
from egress_filter.scanner import scan_file, scan_paths

ID = "11010519491231002X"  # GB 11643 example number (valid check character)


def findings(report, entity=None):
    return [f for f in report.findings if entity is None or f.entity == entity]


def codes(report):
    return {r.code for r in report.reasons}


def test_phone_hidden_among_20000_aggregate_rows_is_blocked_and_row_named(tmp_path):
    rng = random.Random(7)
    lines = ["区县,月份,行业,人次"]
    for i in range(20_000):
        lines.append(f"区{i % 40},{i % 12 + 1},行业{i % 9},{rng.randint(10, 99_999)}")
    lines[1 + 13_579] = "区19,8,行业7,13812345678"
    path = write(tmp_path, "agg.csv", "\n".join(lines) + "\n")
    report = scan_file(path, level=2)
    assert report.verdict is Verdict.BLOCK
    [phone] = findings(report, "CN_MOBILE")
    assert phone.location["column"] == "人次" and phone.location["rows"] == [13_579]
    assert phone.examples == ["1*********8"] and phone.verdict is Verdict.BLOCK
    assert "13812345678" not in json.dumps(report.to_json(), ensure_ascii=False)
    assert "too_many_rows" in codes(report)  # 20 000 > 5 000, reported as well


def test_safe_aggregate_with_id_like_numbers_failing_checksums_passes(tmp_path):
    rng = random.Random(3)
    lines = ["区县,月份,人数,金额合计,批次号"]
    for i in range(300):
        first17 = f"41010{rng.randint(0, 9)}19{rng.randint(50, 99)}0{rng.randint(1, 9)}1{rng.randint(0, 9)}{rng.randint(100, 999)}"
        from egress_filter.checksums import is_valid_luhn, resident_id_check_char

        wrong = next(c for c in "0123456789X" if c != resident_id_check_char(first17))
        batch = first17 + wrong  # looks like a resident ID, check character wrong
        amount = str(rng.randint(10**15, 10**16 - 1))
        while is_valid_luhn(amount):  # 16 digits like a bank card, but Luhn fails
            amount = str(int(amount) + 1)
        lines.append(f"区{i % 30},{i % 12 + 1},{rng.randint(10, 5000)},{amount},{batch}")
    path = write(tmp_path, "safe.csv", "\n".join(lines) + "\n")
    report = scan_file(path, level=3)
    assert report.findings == [], [f.to_json() for f in report.findings]
    assert report.verdict is Verdict.PASS, [r.to_json() for r in report.reasons]


def test_small_counts_block_with_rows(tmp_path):
    path = write(tmp_path, "t.csv", "区县,人数\n金水区,120\n二七区,3\n中原区,0\n")
    report = scan_file(path, level=3)
    by_entity = {f.entity: f for f in report.findings}
    assert by_entity["SDC_THRESHOLD"].location == {"column": "人数", "rows": [1]}
    assert by_entity["SDC_ZERO"].verdict is Verdict.REVIEW
    assert report.verdict is Verdict.BLOCK
    assert scan_file(path, level=1).verdict is Verdict.REVIEW  # level 1: SDC goes to review


def test_microdata_table_is_blocked(tmp_path):
    rows = ["age,sex,district,diagnosis"] + [f"{20 + i},{'MF'[i % 2]},金水区,J{i}" for i in range(40)]
    report = scan_file(write(tmp_path, "m.csv", "\n".join(rows)), level=2)
    assert [f.entity for f in report.findings] == ["MICRODATA"]
    assert report.verdict is Verdict.BLOCK


def test_resident_id_column_whole_column(tmp_path):
    report = scan_file(write(tmp_path, "ids.csv", f"证件号码\n{ID}\n{ID}\n"), level=2)
    [hit] = findings(report, "CN_RESIDENT_ID")
    assert hit.location["column"] == "证件号码" and "rows" not in hit.location
    assert hit.location["coverage"] == 1.0 and report.verdict is Verdict.BLOCK


def test_text_finding_location(tmp_path):
    path = write(tmp_path, "notes.md", "# 说明\n\n请联系 13812345678 获取数据\n")
    [hit] = findings(scan_file(path, level=2), "CN_MOBILE")
    assert hit.location == {"line": 3, "start": 4, "end": 15}


def test_hidden_sheet_finding_names_sheet(tmp_path):
    data = xlsx_bytes({"汇总": [["区县", "人数"], ["金水区", 120]],
                       "底稿": [["备注"], ["无"], [f"身份证 {ID}"]]}, hidden=("底稿",))
    report = scan_file(write(tmp_path, "book.xlsx", data), level=2)
    [hit] = findings(report, "CN_RESIDENT_ID")
    assert hit.location["sheet"] == "底稿" and hit.location["rows"] == [1]
    assert report.verdict is Verdict.BLOCK


def test_notebook_png_output_phone_found_with_cell(tmp_path):
    nb = notebook([code_cell("x = 1", []), code_cell("plot()", [png_output(png_with_text("Tel 13812345678"))])])
    report = scan_file(write(tmp_path, "a.ipynb", nb), level=2)
    [hit] = findings(report, "CN_MOBILE")
    assert hit.location["cell"] == 1 and hit.location["part"] == "ocr"
    assert report.verdict is Verdict.BLOCK


def test_notebook_not_allowed_at_level_3(tmp_path):
    nb = notebook([code_cell("x = 1", [])])
    report = scan_file(write(tmp_path, "a.ipynb", nb), level=3)
    assert codes(report) == {"type_not_allowed"} and report.verdict is Verdict.BLOCK
    clean = scan_file(write(tmp_path, "a.ipynb", nb), level=2)
    assert clean.verdict is Verdict.REVIEW and "type_needs_review" in codes(clean)


def test_html_attribute_finding(tmp_path):
    html = f'<html><body><p>统计</p><img alt="证件 {ID}"></body></html>'
    [hit] = findings(scan_file(write(tmp_path, "r.html", html), level=2), "CN_RESIDENT_ID")
    assert hit.location["attr"] == "alt" and hit.location["tag"] == "img"


def test_image_ocr_unavailable_is_review_not_pass(tmp_path, monkeypatch):
    import pytesseract

    def missing(*a, **k):
        raise pytesseract.TesseractNotFoundError()

    monkeypatch.setattr(pytesseract, "image_to_string", missing)
    report = scan_file(write(tmp_path, "p.png", png_with_text("chart")), level=2)
    assert report.verdict is Verdict.REVIEW and "ocr_unavailable" in codes(report)


@pytest.mark.parametrize("name,data,code", [
    ("a.csv", zip_with({"a.csv": b"x"}), "type_mismatch"),
    ("a.tar.gz", b"\x1f\x8b\x08rest", "archive"),
    ("a.pkl", b"\x80\x04\x95", "pickle"),
    ("a.bin", b"\x7fELF", "executable"),
    ("a.weird", b"hello", "unknown_type"),
    ("a.csv", "a\n\xe9t\xe9\n".encode("latin-1") * 3, "encoding"),
    ("a.json", b"{broken", "malformed"),
])
def test_refused_files(tmp_path, name, data, code):
    report = scan_file(write(tmp_path, name, data), level=2)
    assert report.verdict is Verdict.BLOCK and code in codes(report)


def test_size_checked_before_reading(tmp_path, monkeypatch):
    path = write(tmp_path, "big.csv", b"a\n" + b"1\n" * (9 << 20))  # 18 MiB
    monkeypatch.setattr(scanner, "read_document", lambda *a, **k: pytest.fail("read a huge file"))
    report = scan_file(path, level=2)
    assert codes(report) == {"too_large"} and report.sha256 is None


def test_missing_symlink_and_level_4(tmp_path):
    target = write(tmp_path, "t.csv", "a,n\nx,20\n")
    os.symlink(target, tmp_path / "link.csv")
    assert codes(scan_file(tmp_path / "nope.csv")) == {"not_found"}
    assert codes(scan_file(tmp_path / "link.csv")) == {"symlink"}
    assert codes(scan_file(target, level=4)) == {"level_no_egress"}
    assert scan_file(target, level=2).verdict is Verdict.PASS


def test_reader_crash_is_scanner_error(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("kaput")

    monkeypatch.setattr(scanner, "read_document", boom)
    report = scan_file(write(tmp_path, "t.csv", "a\n1\n"), level=2)
    assert report.verdict is Verdict.BLOCK and codes(report) == {"scanner_error"}


def test_row_limit_exceeded_still_scans_every_row(tmp_path):
    lines = ["区县,人数"] + [f"区{i},{50 + i}" for i in range(6000)]
    lines.append(f"区x,{ID}")
    report = scan_file(write(tmp_path, "t.csv", "\n".join(lines)), level=2)
    assert "too_many_rows" in codes(report)
    [hit] = findings(report, "CN_RESIDENT_ID")
    assert hit.location["rows"] == [6000]


def test_acro_fail_never_downgrades_and_adds_review(tmp_path):
    path = write(tmp_path, "output_0_0.csv", "区县,人数\n金水区,120\n二七区,35\n")
    (tmp_path / "results.json").write_text(json.dumps({"version": "1.0.2", "results": {"output_0": {
        "status": "fail", "summary": "fail; threshold: 1 cells may need suppressing",
        "files": [{"name": "output_0_0.csv", "sdc": {"summary": {"MinimumThresholdCheck": 1}}}]}}}))
    report = scan_file(path, level=2)
    assert report.stats["acro"]["status"] == "fail"
    assert report.verdict is Verdict.REVIEW and "acro_fail" in codes(report)
    # ACRO saying "pass" does not rescue a file our own checks block
    small = write(tmp_path, "output_1_0.csv", "区县,人数\n金水区,3\n")
    (tmp_path / "results.json").write_text(json.dumps({"version": "1.0.2", "results": {"output_1": {
        "status": "pass", "files": [{"name": "output_1_0.csv"}]}}}))
    report = scan_file(small, level=2)
    assert report.stats["acro"]["status"] == "pass" and report.verdict is Verdict.BLOCK


def test_scan_paths_walks_directories_without_following_links(tmp_path):
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", "a.csv", "a,n\nx,20\n")
    os.symlink(tmp_path / "sub", tmp_path / "linkdir")
    reports = scan_paths([tmp_path, tmp_path / "missing.csv"], level=2)
    by_path = {r.path: r for r in reports}
    assert by_path[str(tmp_path / "sub" / "a.csv")].verdict is Verdict.PASS
    assert codes(by_path[str(tmp_path / "linkdir")]) == {"symlink"}
    assert codes(by_path[str(tmp_path / "missing.csv")]) == {"not_found"}


def test_custom_policy_changes_verdicts(tmp_path):
    import yaml

    doc = default_policy().document
    doc = {**doc, "levels": {**doc["levels"], "2": {**doc["levels"]["2"], "entities": {"block": []}}}}
    policy = parse_policy(yaml.safe_dump(doc, allow_unicode=True), source="t")
    path = write(tmp_path, "n.txt", "电话 13812345678\n")
    assert scan_file(path, policy=policy, level=2).verdict is Verdict.REVIEW
    assert scan_file(path, level=2).verdict is Verdict.BLOCK
