"""Each reader: what it returns for good input and how it refuses bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from egress_builders import (
    code_cell,
    notebook,
    png_output,
    png_with_text,
    xlsx_bytes,
    zip_with,
)

from egress_filter.readers import ReaderError, ReadLimits, read_document, sniff
from egress_filter.readers.image import normalise_ocr

LIMITS = ReadLimits()


def read(name: str, data: bytes, limits: ReadLimits = LIMITS):
    path = Path(name)
    sniffed = sniff(path, data)
    assert sniffed.kind is not None, sniffed
    return read_document(path, data, sniffed.kind, limits)


# --- CSV / TSV -------------------------------------------------------------------------------

def test_csv_cells_stay_strings_with_leading_zeros():
    doc = read("a.csv", b"code,phone,n\n0371,13812345678,12\n0001,,3\n")
    table = doc.tables[0].table
    assert table.column_names == ["code", "phone", "n"]
    assert table.column("code").to_pylist() == ["0371", "0001"]
    assert table.column("phone").to_pylist() == ["13812345678", ""]


@pytest.mark.parametrize("encoding,expected", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"),
                                                ("gbk", "gb18030"), ("gb18030", "gb18030")])
def test_csv_encodings(encoding, expected):
    text = "区县,人数,备注\n金水区,120,郑州市金水区花园路\n二七区,35,航空港区\n"
    doc = read("a.csv", text.encode(encoding))
    block = doc.tables[0]
    assert block.extra["encoding"] == expected
    assert block.table.column_names == ["区县", "人数", "备注"]
    assert block.table.column("区县").to_pylist() == ["金水区", "二七区"]


def test_csv_in_unknown_encoding_is_refused():
    data = "Ça a été très déjà vu, señor; naïve façade\n".encode("latin-1") * 5
    with pytest.raises(ReaderError) as err:
        read("a.csv", b"name\n" + data)
    assert err.value.code == "encoding"


def test_csv_ragged_row_is_malformed_not_skipped():
    with pytest.raises(ReaderError) as err:
        read("a.csv", b"a,b\n1,2\n3,4,5\n")
    assert err.value.code == "malformed"


def test_csv_quoted_newlines_and_duplicate_headers():
    doc = read("a.csv", b'a,a,\n"x\ny",2,3\n')
    table = doc.tables[0].table
    assert table.column_names == ["a", "a (2)", "column_3"]
    assert table.column(0).to_pylist() == ["x\ny"]


def test_tsv():
    doc = read("a.tsv", "区县\t人数\n金水区\t12\n".encode())
    assert doc.tables[0].table.column("人数").to_pylist() == ["12"]


# --- Parquet ----------------------------------------------------------------------------------

def test_parquet_types_become_strings():
    table = pa.table({"phone": [13812345678.0, None], "n": [1, 2], "tags": [["a"], ["b", "c"]]})
    out = io.BytesIO()
    pq.write_table(table, out)
    doc = read("a.parquet", out.getvalue())
    got = doc.tables[0].table
    assert got.column("phone").to_pylist() == ["13812345678", None]
    assert got.column("n").to_pylist() == ["1", "2"]
    assert got.column("tags").to_pylist() == ['["a"]', '["b", "c"]']


def test_parquet_inflation_limit():
    out = io.BytesIO()
    # one long value repeated: tiny on disk thanks to dictionary encoding, huge once decoded
    pq.write_table(pa.table({"x": ["a" * 1000] * 20_000}), out, compression="zstd")
    assert len(out.getvalue()) < 10_000
    with pytest.raises(ReaderError) as err:
        read("a.parquet", out.getvalue(), ReadLimits(max_uncompressed_bytes=1_000_000))
    assert err.value.code == "too_large"
    assert read("a.parquet", out.getvalue()).tables[0].num_rows == 20_000


# --- XLSX -------------------------------------------------------------------------------------

def test_xlsx_reads_every_sheet_including_hidden():
    data = xlsx_bytes({"汇总": [["区县", "人数"], ["金水区", 120]],
                       "隐藏": [["姓名", "手机"], ["张三", 13812345678]]}, hidden=("隐藏",))
    doc = read("a.xlsx", data)
    names = [t.name for t in doc.tables]
    assert names == ["汇总", "隐藏"]
    hidden = doc.tables[1]
    assert hidden.extra["state"] == "hidden"
    assert hidden.table.column("手机").to_pylist() == ["13812345678"]


def test_xlsx_decompression_bomb_refused_before_opening():
    bomb = zip_with({"[Content_Types].xml": b"<x/>", "xl/workbook.xml": b"<x/>",
                     "xl/worksheets/sheet1.xml": b"\0" * (4 << 20)})
    with pytest.raises(ReaderError) as err:
        read("a.xlsx", bomb, ReadLimits(max_uncompressed_bytes=1 << 20))
    assert err.value.code == "zip_bomb"
    with pytest.raises(ReaderError) as err:
        read("a.xlsx", bomb, ReadLimits(max_compression_ratio=10))
    assert err.value.code == "zip_bomb"


def test_xlsx_with_macro_part_refused():
    data = zip_with({"[Content_Types].xml": b"<x/>", "xl/workbook.xml": b"<x/>",
                     "xl/vbaProject.bin": b"\x01\x02"})
    with pytest.raises(ReaderError) as err:
        read("a.xlsx", data)
    assert err.value.code == "macro"


# --- JSON / JSONL -----------------------------------------------------------------------------

def test_json_records_become_a_table():
    doc = read("a.json", json.dumps([{"区县": "金水区", "人数": 12}, {"区县": "二七区", "人数": 30}]).encode())
    assert not doc.texts
    assert doc.tables[0].table.column("人数").to_pylist() == ["12", "30"]


def test_json_nested_becomes_text_with_paths():
    doc = read("a.json", json.dumps({"meta": {"owner": "张三"}, "rows": [{"tel": 13812345678}]},
                                    ensure_ascii=False).encode())
    block = doc.texts[0]
    lines = block.text.split("\n")
    where = {lines[n - 1]: info["path"] for n, info in block.line_map.items()}
    assert where["张三"] == "$.meta.owner"
    assert where["13812345678"] == "$.rows[0].tel"


def test_jsonl_records_and_malformed_line():
    doc = read("a.jsonl", b'{"a": "x"}\n\n{"a": "y"}\n')
    assert doc.tables[0].table.column("a").to_pylist() == ["x", "y"]
    with pytest.raises(ReaderError) as err:
        read("a.jsonl", b'{"a": 1}\n{oops\n')
    assert "line 2" in err.value.en


# --- text, HTML -------------------------------------------------------------------------------

def test_text_and_markdown_gbk():
    doc = read("a.md", "# 报告\n联系人：张三\n".encode("gbk"))
    assert "联系人：张三" in doc.texts[0].text


def test_html_visible_text_attributes_scripts_comments_tables():
    html = """<html><head><title>报告</title><script>var tel = "13812345678";</script></head>
<body><p title="负责人 李四">正文</p><img alt="身份证 110101199003077571" src="x.png">
<!-- 备注 王五 --><table><tr><th>区县</th><th>人数</th></tr><tr><td>金水区</td><td>3</td></tr></table>
</body></html>"""
    doc = read("a.html", html.encode())
    text = doc.texts[0].text
    for piece in ("报告", "13812345678", "负责人 李四", "身份证 110101199003077571", "备注 王五", "正文"):
        assert piece in text
    infos = list(doc.texts[0].line_map.values())
    assert {"tag": "img", "attr": "alt"}.items() <= next(i for i in infos if i.get("attr") == "alt").items()
    assert doc.tables[0].table.column("人数").to_pylist() == ["3"]


# --- notebooks and images ---------------------------------------------------------------------

def test_notebook_sources_and_outputs_located_by_cell():
    nb = notebook([
        {"cell_type": "markdown", "metadata": {}, "source": ["# 分析\n", "联系人 张三"]},
        code_cell("print(x)", [
            {"output_type": "stream", "name": "stdout", "text": ["13812345678\n"]},
            {"output_type": "execute_result", "execution_count": 1, "metadata": {},
             "data": {"text/plain": "110101199003077571",
                      "text/html": "<table><tr><th>a</th></tr><tr><td>x</td></tr></table>"}},
            {"output_type": "error", "ename": "KeyError", "evalue": "'王五'", "traceback": ["tb"]},
        ]),
    ])
    doc = read("a.ipynb", nb)
    by_part = {(t.where.get("cell"), t.where.get("part")): t.text for t in doc.texts}
    assert "联系人 张三" in by_part[(0, "source")]
    assert "13812345678" in by_part[(1, "stream")]
    assert by_part[(1, "text/plain")] == "110101199003077571"
    assert "王五" in by_part[(1, "error")]
    html_block = next(t for t in doc.texts if t.where.get("part") == "text/html")
    assert all(info["cell"] == 1 for info in html_block.line_map.values())
    assert doc.tables and doc.tables[0].extra["where"]["cell"] == 1


def test_notebook_unknown_binary_output_blocks():
    nb = notebook([code_cell("", [{"output_type": "display_data", "metadata": {},
                                   "data": {"application/pdf": "JVBERi0xLjQ="}}])])
    doc = read("a.ipynb", nb)
    assert [(n.code, n.verdict.value) for n in doc.notes] == [("unreadable_output", "block")]


def test_notebook_output_png_is_ocred():
    png = png_with_text("Tel 13812345678")
    doc = read("a.ipynb", notebook([code_cell("plot()", [png_output(png)])]))
    ocr = [t for t in doc.texts if t.where.get("part") == "ocr"]
    assert ocr and ocr[0].where["cell"] == 0
    assert "13812345678" in ocr[0].text.replace(" ", "")


def test_png_ocr_failure_is_a_review_note(monkeypatch):
    import pytesseract

    def broken(*args, **kwargs):
        raise pytesseract.TesseractNotFoundError()

    monkeypatch.setattr(pytesseract, "image_to_string", broken)
    doc = read("a.png", png_with_text("hello"))
    assert [(n.code, n.verdict.value) for n in doc.notes] == [("ocr_unavailable", "review")]


def test_png_text_chunks_are_read_and_pixel_bombs_refused():
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "张三 13812345678")
    out = io.BytesIO()
    Image.new("RGB", (10, 10), "white").save(out, format="PNG", pnginfo=info)
    doc = read("a.png", out.getvalue(), ReadLimits(ocr_enabled=False))
    assert "13812345678" in doc.texts[0].text
    assert doc.notes[0].code == "ocr_disabled"
    with pytest.raises(ReaderError) as err:
        read("a.png", out.getvalue(), ReadLimits(max_image_pixels=50))
    assert err.value.code == "too_large"


def test_ocr_normalisation_joins_han_and_digits():
    assert normalise_ocr("联 系 人 张 伟 138 1234 5678") == "联系人张伟 13812345678"


# --- sniffing ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name,data,problem", [
    ("a.csv", zip_with({"x.csv": b"a,b\n"}), "type_mismatch"),
    ("a.xlsx", zip_with({"x.csv": b"a,b\n"}), "archive"),
    ("a.zip", zip_with({"x.csv": b"a,b\n"}), "type_blocked"),
    ("a.csv", b"\x1f\x8b\x08\x00rest", "archive"),
    ("a.json", b"\x7fELF\x02\x01\x01", "executable"),
    ("a.txt", b"\x80\x04\x95\x00\x00", "pickle"),
    ("a.csv", b"\x89PNG\r\n\x1a\n....", "type_mismatch"),
    ("a.png", b"a,b\n1,2\n", "type_mismatch"),
    ("a.exe", b"hello", "type_blocked"),
    ("a.py", b"print(1)", "unknown_type"),
    ("noext", b"a,b", "unknown_type"),
    ("a.csv", "a,b\n".encode("utf-16"), "encoding"),
    ("a.txt", b"abc\x00def", "type_mismatch"),
    ("a.csv", b"x" * 257 + b"ustar\x00", "archive"),
])
def test_sniff_refuses(name, data, problem):
    got = sniff(Path(name), data)
    assert got.kind is None and got.problem == problem


def test_sniff_accepts_real_types():
    assert sniff(Path("A.CSV"), b"a,b\n").kind == "csv"
    assert sniff(Path("a.xlsx"), xlsx_bytes({"s": [["a"]]})).kind == "xlsx"
    assert sniff(Path("a.jpg"), b"\xff\xd8\xff\xe0rest").kind == "jpeg"
