"""The catalog: manifest errors name the field, versions are immutable and checksummed, the
scanner's tags suggest a level and a lower declared level needs --force (audited)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from hub import accounts, audit, catalog
from hub.errors import PolicyViolation, ValidationError


def fake_tagger(table):
    """Tags columns by name, standing in for the scanner (which loads Presidio)."""
    names = {"phone": ["CN_MOBILE"], "owner": ["PERSON"]}
    return {c: names[c] for c in table.column_names if c in names}


@pytest.fixture
def session(fresh_session):
    s = fresh_session
    system = accounts.resolve_actor(s, None)
    accounts.add_org(s, system, "zz-op", "operator")
    accounts.add_org(s, system, "airport", "provider")
    return s


@pytest.fixture
def system(session):
    return accounts.resolve_actor(session, None)


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def spec(files: list[Path], level: int = 2, **extra) -> catalog.DatasetSpec:
    return catalog.DatasetSpec(name="freight", title_zh="航空货运量", provider="airport",
                               domain="交通物流", level=level, files=files, **extra)


GOOD = {"name": "freight", "title_zh": "航空货运量", "provider": "airport", "domain": "交通物流",
        "level": 2, "files": ["freight.csv"]}


@pytest.mark.parametrize(("change", "field", "problem"), [
    ({"level": 5}, "datasets[0].level", "must be 1..4"),
    ({"level": "2"}, "datasets[0].level", "must be 1..4"),
    ({"title_zh": None}, "datasets[0].title_zh", "required"),
    ({"name": "Bad Name"}, "datasets[0].name", "lower-case"),
    ({"colour": "red"}, "datasets[0].colour", "unknown field"),
    ({"update_cadence": "hourly"}, "datasets[0].update_cadence", "must be one of"),
    ({"files": ["../secret.csv"]}, "datasets[0].files[0]", "inside the manifest"),
    ({"files": ["/etc/passwd"]}, "datasets[0].files[0]", "inside the manifest"),
    ({"files": ["freight.xlsx"]}, "datasets[0].files[0]", "csv or parquet"),
])
def test_manifest_errors_name_the_field(tmp_path, change, field, problem):
    item = {**GOOD, **change}
    item = {k: v for k, v in item.items() if v is not None}
    with pytest.raises(ValidationError) as caught:
        catalog.parse_manifest({"datasets": [item]}, tmp_path)
    assert caught.value.en.startswith(f"{field}: ")
    assert problem in caught.value.en
    assert caught.value.zh.startswith(f"{field}：")


def test_manifest_file_and_second_item_errors(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump({"datasets": [GOOD, {**GOOD, "name": "x", "level": 0}]},
                                   allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValidationError, match=r"^datasets\[1\]\.level: must be 1\.\.4"):
        catalog.load_manifest(path)
    path.write_text("datasets: [", encoding="utf-8")
    with pytest.raises(ValidationError, match="not valid YAML"):
        catalog.load_manifest(path)
    path.write_text("- just a list\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="^datasets: required"):
        catalog.load_manifest(path)


def test_register_copies_files_read_only_with_checksums_and_schema(session, system, tmp_path):
    source = write_csv(tmp_path / "freight.csv", ["month,tonnes,code,phone",
                                                  "2025-01,12.5,007,13812345678",
                                                  "2025-02,13,008,13912345678"])
    result = catalog.register(session, system, spec([source], level=3), tagger=fake_tagger)
    version = result.version
    assert result.created and version.label == "freight@1" and version.row_count == 2
    stored = catalog.version_dir(version) / "freight.csv"
    assert stored.read_bytes() == source.read_bytes()
    assert not os.access(stored, os.W_OK) or os.geteuid() == 0
    assert stored.stat().st_mode & 0o222 == 0
    assert version.files[0].sha256 == catalog.sha256_file(source)
    assert version.schema == [
        {"name": "month", "type": "string", "tags": []},
        {"name": "tonnes", "type": "float", "tags": []},
        {"name": "code", "type": "string", "tags": []},  # leading zeros: text, not a number
        {"name": "phone", "type": "string", "tags": ["CN_MOBILE"]},
    ]
    assert version.suggested_level == 3


def test_same_files_again_make_no_new_version_and_changes_do(session, system, tmp_path):
    source = write_csv(tmp_path / "freight.csv", ["month,tonnes", "2025-01,12"])
    first = catalog.register(session, system, spec([source]), tagger=fake_tagger)
    again = catalog.register(session, system, spec([source]), tagger=fake_tagger)
    assert not again.created and again.version.id == first.version.id
    write_csv(source, ["month,tonnes", "2025-01,12", "2025-02,14"])
    second = catalog.register(session, system, spec([source]), tagger=fake_tagger)
    assert second.created and second.version.number == 2
    assert (catalog.version_dir(first.version) / "freight.csv").read_text().count("\n") == 2
    assert catalog.get_version(session, "freight").number == 2
    assert catalog.get_version(session, "freight@1").row_count == 1


def test_level_below_the_suggestion_needs_force_and_is_audited(session, system, tmp_path):
    source = write_csv(tmp_path / "owners.csv", ["owner,phone", "张三,13812345678"])
    with pytest.raises(PolicyViolation, match="below the level 3"):
        catalog.register(session, system, spec([source], level=2), tagger=fake_tagger)
    entries = list(audit.entries(session))
    assert (entries[-1].action, entries[-1].outcome) == ("catalog.register", "refused")
    assert not catalog.list_datasets(session)
    forced = catalog.register(session, system, spec([source], level=2), force=True,
                              tagger=fake_tagger)
    assert forced.created and forced.warnings
    details = json.loads(list(audit.entries(session))[-1].details)
    assert details["force"] is True and "forced below suggested 3" in details["warnings"][0]


def test_verify_detects_changed_and_missing_files(session, system, tmp_path):
    a = write_csv(tmp_path / "a.csv", ["month,tonnes", "2025-01,12"])
    b = write_csv(tmp_path / "b.csv", ["month,tonnes", "2025-02,13"])
    version = catalog.register(session, system, spec([a, b]), tagger=fake_tagger).version
    assert catalog.verify_store(session, system) == []
    stored = catalog.version_dir(version)
    os.chmod(stored / "a.csv", 0o644)
    (stored / "a.csv").write_text("month,tonnes\n2025-01,99\n", encoding="utf-8")
    (stored / "b.csv").unlink()
    problems = catalog.verify_store(session, system)
    assert [(p.file, p.problem) for p in problems] == [("a.csv", "checksum_mismatch"),
                                                      ("b.csv", "missing")]
    last = list(audit.entries(session))[-1]
    assert (last.action, last.outcome) == ("catalog.verify", "error")


def test_files_of_one_version_must_share_a_schema(session, system, tmp_path):
    a = write_csv(tmp_path / "a.csv", ["month,tonnes", "2025-01,12"])
    b = write_csv(tmp_path / "b.csv", ["month,kg", "2025-02,13"])
    with pytest.raises(ValidationError, match="share one schema"):
        catalog.register(session, system, spec([a, b]), tagger=fake_tagger)


def test_parquet_is_profiled_from_its_schema(session, system, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "flights.parquet"
    pq.write_table(pa.table({"flight": ["CZ1"], "seats": [180], "load": [0.8]}), path)
    version = catalog.register(session, system, spec([path], level=1), tagger=fake_tagger).version
    assert version.format == "parquet"
    assert [c["type"] for c in version.schema] == ["string", "integer", "float"]


def test_the_default_tagger_is_the_egress_scanner(session, system, tmp_path):
    from egress_filter.checksums import resident_id_check_char

    ids = [f + resident_id_check_char(f) for f in ("11010519491231002", "11010519800101001",
                                                   "44052419800101001")]
    source = write_csv(tmp_path / "people.csv", [
        "name,id_number,mobile",
        f"张伟,{ids[0]},13812345678",
        f"王芳,{ids[1]},13912345679",
        f"李娜,{ids[2]},13712345670",
    ])
    result = catalog.register(session, system, spec([source], level=3))
    tags = {c["name"]: c["tags"] for c in result.version.schema}
    assert "CN_RESIDENT_ID" in tags["id_number"] and "CN_MOBILE" in tags["mobile"]
    assert result.suggested_level == 3
