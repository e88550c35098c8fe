"""Scan one file (or many) that wants to leave, and decide pass / review / block.

Order of gates, each failing closed:

1. the path: missing, symlink or not a regular file → block;
2. the classification level: level 4 (核心) has no egress → block;
3. size, from ``lstat`` BEFORE reading, and again while reading → block when over the limit;
4. type, by content sniffing AND extension (mismatch, archive, executable, pickle → block),
   then the policy's allowed types;
5. the reader (format errors, bad encodings, decompression bombs → block);
6. detection of personal information in every table cell and text line, and statistical
   disclosure control on every table — always over the whole file, even when a row limit is
   already exceeded, so the report lists everything;
7. the row limit.

Any unexpected exception anywhere is a block with reason ``scanner_error``.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from egress_filter.model import FileReport, Finding, Reason, Verdict, mask
from egress_filter.policy import LevelRules, Policy, default_policy
from egress_filter.readers import Document, ReaderError, TableBlock, TextBlock, read_document, sniff
from egress_filter.sdc import check_table, check_text, read_acro_record

MAX_ROWS_IN_LOCATION = 1000  # rows listed per finding; "count" always has the full number
MAX_FINDINGS_PER_FILE = 5000
# entities that make a column a row-level identifier (for microdata detection)
DIRECT_IDENTIFIERS = frozenset({"CN_RESIDENT_ID", "CN_MOBILE", "BANK_CARD", "CN_PASSPORT",
                                "EMAIL_ADDRESS", "CN_LICENSE_PLATE", "PERSON"})
IDENTIFIER_COVERAGE = 0.5
# Free-text cells (备注, 描述 ...) get the text path for names: the column path finds names only
# as whole cells or after a label. Release files are small; past this many characters of distinct
# free text per file the pass is skipped and the file goes to review instead (fail closed).
FREE_TEXT_MAX_CHARS = 1_000_000
FREE_TEXT_MIN_MEAN_LENGTH = 6
FREE_TEXT_MIN_HAN_SHARE = 0.2
FREE_TEXT_ENTITIES = ("PERSON",)
FREE_TEXT_SAMPLE_ROWS = 20_000  # rows looked at to decide whether a column is free text


@dataclass
class _Scan:
    """Mutable state while one file is scanned."""

    report: FileReport
    rules: LevelRules
    reasons: list[Reason] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def reason(self, code: str, en: str, zh: str, verdict: Verdict = Verdict.BLOCK) -> None:
        self.reasons.append(Reason(code, en, zh, verdict))


def scan_file(path: str | os.PathLike[str], *, policy: Policy | None = None, level: int = 3,
              display_path: str | None = None) -> FileReport:
    """Scan one file under ``policy`` (default: the built-in one) at classification ``level``."""
    policy = policy or default_policy()
    rules = policy.level(level)
    shown = display_path if display_path is not None else os.fspath(path)
    scan = _Scan(FileReport(path=shown, verdict=Verdict.BLOCK), rules)
    scan.report.stats["level"] = level
    try:
        _scan(Path(path), scan)
    except Exception as exc:  # fail closed: whatever broke, the file does not leave
        scan.reason("scanner_error", f"scanner error: {type(exc).__name__}: {exc}"[:500],
                    f"扫描程序出错：{type(exc).__name__}")
    return _finish(scan)


def scan_paths(paths: Iterable[str | os.PathLike[str]], *, policy: Policy | None = None,
               level: int = 3) -> list[FileReport]:
    """Scan files and directories (walked without following symlinks), in a stable order."""
    policy = policy or default_policy()
    reports = []
    for given in paths:
        given_str = os.fspath(given)
        p = Path(given_str)
        if p.is_dir() and not p.is_symlink():
            for file_path in _walk(p):
                reports.append(scan_file(file_path, policy=policy, level=level))
        else:
            reports.append(scan_file(p, policy=policy, level=level, display_path=given_str))
    return reports


def _walk(root: Path) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        # symlinked directories are listed in dirnames but not entered: report them as files
        out.extend(Path(dirpath) / d for d in dirnames if (Path(dirpath) / d).is_symlink())
        out.extend(Path(dirpath) / f for f in sorted(filenames))
    return sorted(out)


def _scan(path: Path, scan: _Scan) -> None:
    data = _read_bytes(path, scan)
    if data is None:
        return
    sniffed = sniff(path, data)
    scan.report.kind = sniffed.kind or sniffed.family
    if sniffed.kind is None:
        scan.reason(sniffed.problem or "unknown_type", f"file type refused: {sniffed.detail}",
                    f"文件类型不允许出域：{sniffed.detail_zh or sniffed.detail}")
        return
    if sniffed.kind not in scan.rules.allowed_types:
        scan.reason("type_not_allowed",
                    f"{sniffed.kind} files may not leave at level {scan.rules.level}",
                    f"{scan.rules.level} 级（{scan.rules.label_zh}）数据不允许 {sniffed.kind} 类型文件出域")
        return
    if sniffed.kind in scan.rules.review_types:
        scan.reason("type_needs_review", f"{sniffed.kind} files always need a reviewer at this level",
                    f"该级别下 {sniffed.kind} 类型文件必须人工审核", Verdict.REVIEW)
    try:
        document = read_document(path, data, sniffed.kind, scan.rules.limits)
    except ReaderError as exc:
        scan.reason(exc.code, exc.en, exc.zh)
        return
    _inspect(document, scan)
    _acro(path, scan)


def _read_bytes(path: Path, scan: _Scan) -> bytes | None:
    """The file's bytes after the path and size gates, or None (with a reason) when refused."""
    rules = scan.rules
    try:
        st = path.lstat()
    except FileNotFoundError:
        scan.reason("not_found", f"no such file: {path}", f"文件不存在：{path}")
        return None
    except OSError as exc:
        scan.reason("unreadable", f"cannot stat file: {exc.strerror}", f"无法读取文件信息：{exc.strerror}")
        return None
    scan.report.size = st.st_size
    if stat.S_ISLNK(st.st_mode):
        scan.reason("symlink", "symbolic links are not followed or released", "符号链接不被跟随，也不允许出域")
        return None
    if not stat.S_ISREG(st.st_mode):
        scan.reason("not_a_file", "not a regular file", "不是普通文件")
        return None
    if not rules.egress:
        scan.reason("level_no_egress",
                    f"level {rules.level} ({rules.label_en}) data may never leave",
                    f"{rules.level} 级（{rules.label_zh}）数据一律不得出域")
        return None
    if st.st_size > rules.max_file_bytes:
        scan.reason("too_large", f"file is {st.st_size} bytes, over the limit of {rules.max_file_bytes}",
                    f"文件 {st.st_size} 字节，超过上限 {rules.max_file_bytes} 字节")
        return None
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(rules.max_file_bytes + 1)  # the file may have grown since lstat
    if len(data) > rules.max_file_bytes:
        scan.reason("too_large", "file grew past the size limit while being read",
                    "文件在读取过程中超过大小上限")
        return None
    scan.report.size = len(data)
    scan.report.sha256 = hashlib.sha256(data).hexdigest()
    return data


def _inspect(document: Document, scan: _Scan) -> None:
    from egress_filter import detect  # heavy: loads the recognizers only when content is scanned

    for note in document.notes:
        scan.reason(note.code, note.en, note.zh, note.verdict)
    tables = []
    for block in document.tables:
        tables.append(_inspect_table(block, scan, detect))
    scan.report.stats["tables"] = tables
    texts = 0
    for block in document.texts:
        texts += len(block.text)
        _inspect_text(block, scan, detect)
    scan.report.stats["text_chars"] = texts


def _inspect_table(block: TableBlock, scan: _Scan, detect: Any) -> dict[str, Any]:
    table = block.table
    base = dict(block.extra.get("where") or {})
    if block.name:
        base["sheet"] = block.name
    hits = detect.scan_table(table) if table.num_columns else {}
    identifiers = set()
    profile: dict[str, list[str]] = {}  # what detect.profile_table would say, without a rescan
    for column, column_hits in hits.items():
        for hit in column_hits:
            if hit.score < scan.rules.min_score:
                continue
            scan.findings.append(_column_finding(column, hit, base, scan.rules, table.num_rows))
            if hit.coverage >= IDENTIFIER_COVERAGE:
                profile.setdefault(column, []).append(hit.entity)
                if hit.entity in DIRECT_IDENTIFIERS:
                    identifiers.add(column)
    _scan_free_text(table, base, scan, detect)
    info: dict[str, Any] = {"rows": table.num_rows, "columns": table.num_columns}
    if block.name:
        info["name"] = block.name
    for key in ("encoding", "state"):
        if key in block.extra:
            info[key] = block.extra[key]
    if table.num_rows > scan.rules.max_table_rows:
        where = f" ({block.name})" if block.name else ""
        scan.reason("too_many_rows",
                    f"table{where} has {table.num_rows} data rows, over the limit of "
                    f"{scan.rules.max_table_rows}",
                    f"表格{where}有 {table.num_rows} 行数据，超过上限 {scan.rules.max_table_rows} 行")
    if scan.rules.sdc_enabled and table.num_rows and table.num_columns:
        sdc_findings, roles = check_table(table, scan.rules.sdc, identifier_columns=identifiers,
                                          profile=profile)
        info["roles"] = roles.to_json()
        for f in sdc_findings:
            scan.findings.append(_sdc_finding(f.entity, f.column, f.rows, f.detail, f.verdict, base,
                                              scan.rules))
    return info


def _is_free_text(column: Any) -> bool:
    """Chinese free text: a string column of long-ish values, a fair share holding Han."""
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return False
    present = pc.drop_null(column.slice(0, FREE_TEXT_SAMPLE_ROWS))  # a kind, not a detection
    present = pc.filter(present, pc.not_equal(present, ""))
    if len(present) == 0:
        return False
    mean_length = pc.mean(pc.utf8_length(present)).as_py()
    han = pc.mean(pc.cast(pc.match_substring_regex(present, "[\u4e00-\u9fff]"),
                          pa.int8())).as_py()
    return mean_length >= FREE_TEXT_MIN_MEAN_LENGTH and han >= FREE_TEXT_MIN_HAN_SHARE


def _distinct_size(column: Any) -> int:
    total = int(pc.sum(pc.utf8_length(column)).as_py() or 0)
    if total <= FREE_TEXT_MAX_CHARS:
        return total  # all values fit, so the distinct ones do too (an upper bound is enough)
    return int(pc.sum(pc.utf8_length(pc.unique(column))).as_py() or 0)


def _rows_by_value(column: Any) -> dict[str, list[int]]:
    rows: dict[str, list[int]] = {}
    for row, value in enumerate(column.to_pylist()):
        if value:
            rows.setdefault(value, []).append(row)
    return rows


def _scan_free_text(table: Any, base: dict[str, Any], scan: _Scan, detect: Any) -> None:
    """Names inside free-text cells, through the text path (Presidio + jieba), within a budget."""
    budget = FREE_TEXT_MAX_CHARS
    for name in table.column_names:
        column = table.column(name)
        if not _is_free_text(column):
            continue
        size = _distinct_size(column)
        if size > budget:
            scan.reason("free_text_too_large",
                        f"column {name}: {size} characters of free text, over the "
                        f"{FREE_TEXT_MAX_CHARS} the name check reads; a person must look",
                        f"列 {name}：自由文本共 {size} 字，超过姓名检查上限 {FREE_TEXT_MAX_CHARS} 字，"
                        "须人工审核", Verdict.REVIEW)
            continue
        budget -= size
        rows_of = _rows_by_value(column)
        values = list(rows_of)
        text = "\n".join(v.replace("\r", " ").replace("\n", " ") for v in values)
        every_row = set(range(table.num_rows))  # a whole-column finding lists no rows
        known = {(name, f.entity): set(f.location["rows"]) if "rows" in f.location else every_row
                 for f in scan.findings if f.location.get("column") == name}
        found: dict[str, tuple[set[int], float, list[str]]] = {}
        for hit in detect.scan_text(text, entities=FREE_TEXT_ENTITIES):
            if hit.score < scan.rules.min_score:
                continue
            rows, score, examples = found.setdefault(hit.entity, (set(), 0.0, []))
            rows.update(rows_of[values[hit.line - 1]])
            if len(examples) < 3:
                examples.append(mask(hit.value))
            found[hit.entity] = (rows, max(score, hit.score), examples)
        for entity, (rows, score, examples) in found.items():
            new = sorted(rows - known.get((name, entity), set()))
            if not new:
                continue
            scan.findings.append(Finding(
                entity=entity, count=len(new),
                location={**base, "column": name, "rows": new[:MAX_ROWS_IN_LOCATION]},
                score=score, examples=examples, verdict=scan.rules.entity_verdict(entity),
                detail="in free text"))


def _column_finding(column: str, hit: Any, base: dict[str, Any], rules: LevelRules,
                    num_rows: int) -> Finding:
    rows = np.asarray(hit.rows, dtype=np.int64)
    location: dict[str, Any] = {**base, "column": column, "coverage": round(float(hit.coverage), 4)}
    if rows.size < num_rows:  # rows are only left out when every row of the column matched
        location["rows"] = rows[:MAX_ROWS_IN_LOCATION].tolist()
        if rows.size > MAX_ROWS_IN_LOCATION:
            location["rows_truncated"] = True
    return Finding(
        entity=hit.entity,
        count=int(rows.size),
        location=location,
        score=float(hit.score),
        examples=[mask(str(e)) for e in list(hit.examples)[:3]],
        verdict=rules.entity_verdict(hit.entity),
    )


def _sdc_finding(entity: str, column: str, rows: list[int], detail: str, forced: str | None,
                 base: dict[str, Any], rules: LevelRules) -> Finding:
    location: dict[str, Any] = {**base, "column": column}
    if rows:
        location["rows"] = rows[:MAX_ROWS_IN_LOCATION]
        if len(rows) > MAX_ROWS_IN_LOCATION:
            location["rows_truncated"] = True
    verdict = Verdict(forced) if forced else rules.sdc_verdict(entity)
    return Finding(entity=entity, count=max(len(rows), 1), location=location, verdict=verdict,
                   detail=detail)


def _inspect_text(block: TextBlock, scan: _Scan, detect: Any) -> None:
    if not block.text.strip():
        return
    for hit in detect.scan_text(block.text):
        if hit.score < scan.rules.min_score:
            continue
        location = _text_location(block, hit.line, hit.start, hit.end)
        scan.findings.append(Finding(entity=hit.entity, count=1, location=location,
                                     score=float(hit.score), examples=[mask(str(hit.value))],
                                     verdict=scan.rules.entity_verdict(hit.entity)))
    if scan.rules.sdc_enabled:
        for line, start, end, detail in check_text(block.text, scan.rules.sdc):
            scan.findings.append(Finding(entity="SDC_DOF", count=1,
                                         location=_text_location(block, line, start, end),
                                         verdict=scan.rules.sdc_verdict("SDC_DOF"), detail=detail))


def _text_location(block: TextBlock, line: int, start: int, end: int) -> dict[str, Any]:
    extra = (block.line_map or {}).get(line, {})
    return {**block.where, **extra, "line": int(line), "start": int(start), "end": int(end)}


def _acro(path: Path, scan: _Scan) -> None:
    record = read_acro_record(path, scan.report.sha256)
    if record is None:
        return
    scan.report.stats["acro"] = record
    if str(record.get("status", "")).lower() == "fail":
        scan.reason("acro_fail", f"ACRO marked this output as failing: {record.get('summary') or ''}"[:500],
                    "ACRO 判定该输出未通过统计披露检查", scan.rules.acro_fail_verdict)
    if record.get("checksum_valid") is False:
        scan.reason("acro_checksum_mismatch", "file changed after ACRO checked it",
                    "文件在 ACRO 检查之后被修改", Verdict.REVIEW)


def _finish(scan: _Scan) -> FileReport:
    findings = scan.findings
    if len(findings) > MAX_FINDINGS_PER_FILE:
        scan.report.stats["findings_truncated"] = len(findings)
    summary = Counter((f.entity, f.verdict) for f in findings)
    for (entity, verdict), n in sorted(summary.items(), key=lambda kv: (kv[0][0], kv[0][1].value)):
        total = sum(f.count for f in findings if f.entity == entity and f.verdict == verdict)
        scan.reasons.append(Reason(f"found:{entity}", f"{entity}: {total} occurrence(s) in {n} place(s)",
                                   f"{entity}：{n} 处共 {total} 次", verdict))
    report = scan.report
    report.reasons = scan.reasons
    report.findings = findings[:MAX_FINDINGS_PER_FILE]
    report.verdict = Verdict.worst(*(r.verdict for r in scan.reasons), *(f.verdict for f in findings))
    return report
