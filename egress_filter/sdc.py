"""Statistical disclosure control (SDC) for tables and model summaries that want to leave.

Rules and defaults follow ACRO (AI-SDC/ACRO ``default.yaml``): minimum cell count 10, zeros
disclosive, N-K dominance (N=2, k=0.90), p% rule (p=0.10), residual degrees of freedom ≥ 10.

What is checked, from the file alone:

- **Counts** are numeric, integral columns named like counts (``count``, ``n``, ``freq``, 人数,
  数量, 次数, 频数 …) or, failing names, integral columns that are not dimensions (year, month,
  code, age group …) or statistics (mean, rate, share, amount …). Every count cell with
  ``0 < n < threshold`` is ``SDC_THRESHOLD``; every 0 is ``SDC_ZERO`` when zeros are disclosive;
  negative counts are ``SDC_NEGATIVE`` (review).
- **Dominance and p%** need the largest contributions, which an aggregate normally hides. They
  are evaluated only when the table carries them: a top-contributor column (``top1``, ``max``,
  ``largest``, 最大 …), optionally a second (``top2``, ``second``, 第二 …), and a cell total
  (``total``, ``sum``, ``amount``, 合计, 总额, 金额 …). N-K fails when the top N make up ≥ k of the
  total; p% fails when ``total − top1 − top2 < p × top1``. Negative inputs → review, as ACRO does.
- **Degrees of freedom**: columns named ``df_resid``/``dof``/残差自由度 in tables, and
  ``Df Residuals: n`` (statsmodels) or ``on n degrees of freedom`` (R) in text.
- **Microdata** (not an aggregate at all): a personal identifier column (by name or by detector
  hits), or — when there is no count column — quasi-identifier columns (age, sex, district,
  date …) whose combinations are unique for at least ``unique_ratio`` of the rows. Aggregate
  checks are skipped on microdata; the ``MICRODATA`` finding decides.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MAX_ROWS_LISTED = 200
IDENTIFIER_SAMPLE_ROWS = 100_000


@dataclass(frozen=True)
class SdcConfig:
    threshold: int = 10
    zeros_disclosive: bool = True
    nk_n: int = 2
    nk_k: float = 0.9
    p_ratio: float = 0.1
    dof_threshold: int = 10
    microdata_min_rows: int = 20
    microdata_unique_ratio: float = 0.5


@dataclass
class SdcFinding:
    """One rule broken in one column; ``rows`` are 0-based data rows (all of them)."""

    entity: str
    column: str
    rows: list[int]
    detail: str
    verdict: str | None = None  # forced verdict (e.g. review for negative inputs)


@dataclass
class TableRoles:
    counts: list[str] = field(default_factory=list)
    dimensions: list[str] = field(default_factory=list)
    quasi_identifiers: list[str] = field(default_factory=list)
    identifiers: list[str] = field(default_factory=list)  # detector hits on direct identifiers
    identifier_names: list[str] = field(default_factory=list)  # named like an identifier
    top1: str | None = None
    top2: str | None = None
    total: str | None = None
    dof: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v}


def _names(*words: str) -> re.Pattern[str]:
    """Match ASCII words as whole tokens (split on _ - . space) and Chinese words anywhere."""
    ascii_words = [w for w in words if w.isascii()]
    cjk = [w for w in words if not w.isascii()]
    parts = []
    if ascii_words:
        parts.append(r"(?:^|[_\-.\s(])(?:" + "|".join(ascii_words) + r")(?:$|[_\-.\s)])")
    if cjk:
        parts.append("|".join(cjk))
    return re.compile("|".join(parts), re.IGNORECASE)


COUNT_NAMES = _names(
    "n", "count", "counts", "cnt", "num", "number", "freq", "frequency", "frequencies", "obs",
    "nobs", "cases", "persons", "people", "patients", "visits", "trips", "households", "records",
    "人数", "数量", "次数", "频数", "频次", "计数", "个数", "户数", "人次", "件数", "笔数", "辆数",
    "车次", "架次", "例数", "总数", "人口", "客流",
)
STAT_NAMES = _names(
    "mean", "avg", "average", "median", "std", "sd", "var", "rate", "ratio", "pct", "percent",
    "percentage", "share", "prop", "proportion", "coef", "se", "pvalue", "p", "ci", "lower",
    "upper", "sum", "amount", "value", "income", "revenue", "cost", "price", "fee", "min", "max",
    "均", "平均", "中位", "率", "比", "占比", "比例", "金额", "收入", "费用", "价格", "系数",
)
DIMENSION_NAMES = _names(
    "year", "month", "day", "week", "quarter", "date", "hour", "code", "id", "age", "group",
    "level", "rank", "grade", "band", "bin", "zip", "postcode", "index", "idx",
    "年", "月", "日", "周", "季度", "时", "代码", "编码", "编号", "序号", "年龄", "组", "级", "等级",
    "邮编", "段",
)
TOP1_NAMES = _names("top1", "top_1", "max", "largest", "first", "最大", "第一", "首位")
TOP2_NAMES = _names("top2", "top_2", "second", "second_largest", "次大", "第二")
TOTAL_NAMES = _names("total", "sum", "amount", "value", "合计", "总计", "总额", "金额", "总量")
DOF_NAMES = _names("dof", "df_resid", "df_residual", "residual_df", "resid_df", "df.residual",
                   "残差自由度", "自由度")
IDENTIFIER_NAMES = _names(
    "id", "patient_id", "person_id", "user_id", "uid", "customer_id", "passenger_id",
    "member_id", "citizen_id", "id_card", "idcard", "id_number", "ssn", "phone", "mobile", "name",
    "email", "身份证", "证件", "手机", "电话", "姓名", "名字", "联系人", "旅客", "乘客", "会员号",
    "工号", "学号", "车牌", "邮箱",
)
QI_NAMES = _names(
    "age", "sex", "gender", "birth", "dob", "birthday", "date", "time", "district", "county",
    "street", "township", "village", "community", "address", "zip", "postcode", "occupation",
    "job", "ethnicity", "ethnic", "education", "marital", "nationality",
    "年龄", "性别", "出生", "日期", "时间", "区", "县", "街道", "乡", "镇", "社区", "村", "地址",
    "住址", "邮编", "职业", "民族", "学历", "婚姻", "籍贯",
)

_NUMBER = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")
_DOF_TEXT = (
    re.compile(r"Df Residuals:\s*(\d+)"),
    re.compile(r"on (\d+) degrees of freedom"),
    re.compile(r"残差自由度[:：\s]*(\d+)"),
)


def numeric_column(column: pa.ChunkedArray | pa.Array) -> np.ndarray | None:
    """Float values (NaN for empty) when at least 95 % of non-empty cells are numbers, else None."""
    probe = [v for v in column.slice(0, 2000).to_pylist() if v is not None and str(v).strip()][:200]
    if probe and sum(1 for v in probe if _NUMBER.match(str(v))) < 0.95 * len(probe):
        return None  # clearly text: decided from the first rows, without converting the column
    fast = _cast_numeric(column)
    if fast is not None:
        return fast
    values = column.to_pylist()
    nonempty = [v for v in values if v is not None and str(v).strip() != ""]
    if not nonempty:
        return None
    out = np.full(len(values), np.nan)
    good = 0
    for i, v in enumerate(values):
        if v is not None and _NUMBER.match(str(v)):
            out[i] = float(v)
            good += 1
    return out if good >= 0.95 * len(nonempty) else None


def _cast_numeric(column: pa.ChunkedArray | pa.Array) -> np.ndarray | None:
    """Vectorised path: every non-empty cell parses as a float (else None, try the slow path)."""
    try:
        stripped = pc.utf8_trim_whitespace(column.cast(pa.string()))
        cleaned = pc.if_else(pc.equal(stripped, ""), pa.scalar(None, pa.string()), stripped)
        if pc.count(cleaned).as_py() == 0:
            return None
        values = pc.cast(cleaned, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    out = values.to_numpy(zero_copy_only=False)
    return np.where(np.isfinite(out), out, np.nan) if out.dtype.kind == "f" else out.astype(float)


def classify(table: pa.Table, *, identifier_columns: set[str] | None = None,
             profile: dict[str, list[str]] | None = None,
             numeric: dict[str, np.ndarray] | None = None) -> TableRoles:
    """Decide which columns are counts, dimensions, quasi-identifiers, contributors, totals.

    ``profile`` maps a column to the entities a detector found in most of its rows (the shape of
    ``detect.profile_table``); a ``LOCATION`` column counts as a quasi-identifier.
    """
    roles = TableRoles()
    identifier_columns = identifier_columns or set()
    numeric = numeric if numeric is not None else {}
    for name in table.column_names:
        tags = " ".join((profile or {}).get(name, [])).lower()
        if name in identifier_columns:
            roles.identifiers.append(name)
        elif IDENTIFIER_NAMES.search(name) and not COUNT_NAMES.search(name):
            roles.identifier_names.append(name)
        if QI_NAMES.search(name) or "quasi" in tags or "location" in tags:
            roles.quasi_identifiers.append(name)
        if name in identifier_columns:
            continue
        if name not in numeric:
            values = numeric_column(table.column(name))
            if values is None:
                roles.dimensions.append(name)
                continue
            numeric[name] = values
        _numeric_role(roles, name, numeric[name])
    return roles


def _numeric_role(roles: TableRoles, name: str, values: np.ndarray) -> None:
    if DOF_NAMES.search(name):
        roles.dof.append(name)
    elif TOP1_NAMES.search(name) and roles.top1 is None:
        roles.top1 = name
    elif TOP2_NAMES.search(name) and roles.top2 is None:
        roles.top2 = name
    elif TOTAL_NAMES.search(name) and roles.total is None and not COUNT_NAMES.search(name):
        roles.total = name
    elif COUNT_NAMES.search(name) and _integral(values):
        roles.counts.append(name)
    elif DIMENSION_NAMES.search(name) or STAT_NAMES.search(name):
        roles.dimensions.append(name)
    elif _integral(values):
        roles.counts.append(name)
    else:
        roles.dimensions.append(name)


def _integral(values: np.ndarray) -> bool:
    present = values[~np.isnan(values)]
    return present.size > 0 and bool(np.all(np.mod(present, 1) == 0))


def check_table(table: pa.Table, config: SdcConfig, *,
                identifier_columns: set[str] | None = None,
                profile: dict[str, list[str]] | None = None) -> tuple[list[SdcFinding], TableRoles]:
    """All SDC findings for one table, and the roles the columns were given."""
    numeric: dict[str, np.ndarray] = {}
    roles = classify(table, identifier_columns=identifier_columns, profile=profile, numeric=numeric)
    micro = microdata_findings(table, roles, config)
    if micro:
        return micro, roles
    findings: list[SdcFinding] = []
    for name in roles.counts:
        findings.extend(_count_findings(name, numeric[name], config))
    findings.extend(_dominance_findings(roles, numeric, config))
    for name in roles.dof:
        rows = _rows(numeric[name] < config.dof_threshold)
        if rows:
            findings.append(SdcFinding("SDC_DOF", name, rows,
                                       f"residual degrees of freedom below {config.dof_threshold}"))
    return findings, roles


def _rows(mask: np.ndarray) -> list[int]:
    return np.flatnonzero(mask).tolist()


def _count_findings(name: str, values: np.ndarray, config: SdcConfig) -> list[SdcFinding]:
    out = []
    with np.errstate(invalid="ignore"):
        small = _rows((values > 0) & (values < config.threshold))
        zeros = _rows(values == 0)
        negative = _rows(values < 0)
    if small:
        out.append(SdcFinding("SDC_THRESHOLD", name, small,
                              f"{len(small)} count(s) below the minimum of {config.threshold}"))
    if zeros and config.zeros_disclosive:
        out.append(SdcFinding("SDC_ZERO", name, zeros, f"{len(zeros)} zero count(s)"))
    if negative:
        out.append(SdcFinding("SDC_NEGATIVE", name, negative,
                              f"{len(negative)} negative count(s)", verdict="review"))
    return out


def _dominance_findings(roles: TableRoles, numeric: dict[str, np.ndarray],
                        config: SdcConfig) -> list[SdcFinding]:
    if roles.top1 is None or roles.total is None:
        return []
    total = numeric[roles.total]
    top1 = numeric[roles.top1]
    top2 = numeric[roles.top2] if roles.top2 else np.zeros_like(top1)
    out = []
    with np.errstate(invalid="ignore", divide="ignore"):
        negative = (total < 0) | (top1 < 0) | (top2 < 0)
        valid = ~negative & (total > 0)
        top_n = top1 + (top2 if config.nk_n >= 2 else 0)
        nk = valid & (top_n >= config.nk_k * total)
        pp = valid & ((total - top1 - top2) < config.p_ratio * top1)
    if negative.any():
        out.append(SdcFinding("SDC_NEGATIVE", roles.total, _rows(negative),
                              "negative contributions: dominance cannot be judged", verdict="review"))
    if nk.any():
        out.append(SdcFinding("SDC_DOMINANCE", roles.total, _rows(nk),
                              f"top {config.nk_n} contributor(s) ≥ {config.nk_k:.0%} of the total"))
    if pp.any():
        out.append(SdcFinding("SDC_P_PERCENT", roles.total, _rows(pp),
                              f"others sum to less than {config.p_ratio:.0%} of the largest"))
    return out


def microdata_findings(table: pa.Table, roles: TableRoles, config: SdcConfig) -> list[SdcFinding]:
    """``MICRODATA`` when the table holds rows about individuals rather than aggregates."""
    if table.num_rows < config.microdata_min_rows:
        return []
    out = []
    # a name like "district_id" is a key of an aggregate when counts are present
    candidates = roles.identifiers + ([] if roles.counts else roles.identifier_names)
    for name in candidates:
        # the first rows decide: 90 % unique there already means one row per person
        column = table.column(name).slice(0, IDENTIFIER_SAMPLE_ROWS)
        nonempty = pc.sum(pc.invert(pc.or_(pc.is_null(column), pc.equal(column, "")))).as_py() or 0
        distinct = pc.count_distinct(column).as_py()
        if nonempty >= config.microdata_min_rows and distinct >= 0.9 * nonempty:
            out.append(SdcFinding("MICRODATA", name, [],
                                  "identifier column with (nearly) unique values: row-level data"))
    qis = [q for q in roles.quasi_identifiers if q not in roles.counts]
    if not out and not roles.counts and len(qis) >= 2:  # an identifier already settles it
        rows = _unique_combination_rows(table, qis)
        if len(rows) >= config.microdata_unique_ratio * table.num_rows:
            out.append(SdcFinding(
                "MICRODATA", ",".join(qis), rows,
                f"{len(rows)} of {table.num_rows} rows have a unique combination of "
                f"{', '.join(qis)}",
            ))
    return out


def _unique_combination_rows(table: pa.Table, columns: list[str]) -> list[int]:
    keyed = pa.table([table.column(c).cast(pa.string()) for c in columns],
                     names=[f"k{i}" for i in range(len(columns))])
    keyed = keyed.append_column("row", pa.array(np.arange(table.num_rows)))
    groups = keyed.group_by([f"k{i}" for i in range(len(columns))], use_threads=False).aggregate(
        [("row", "count"), ("row", "min")])
    unique = groups.filter(pc.equal(groups["row_count"], 1))
    return sorted(unique["row_min"].to_pylist())


def check_text(text: str, config: SdcConfig) -> list[tuple[int, int, int, str]]:
    """Degrees-of-freedom problems in model summaries: ``(line, start, end, detail)``."""
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        for pattern in _DOF_TEXT:
            for m in pattern.finditer(line):
                if int(m.group(1)) < config.dof_threshold:
                    out.append((number, m.start(), m.end(),
                                f"residual degrees of freedom {m.group(1)} < {config.dof_threshold}"))
    return out


def read_acro_record(path: Path, sha256: str | None = None) -> dict[str, Any] | None:
    """What ACRO (AI-SDC/ACRO) said about ``path``, from a ``results.json`` in the same folder.

    ACRO's ``finalise(..., "json")`` writes ``results.json`` as ``{"version", "results": {uid:
    {"status", "type", "files": [{"name", "sdc": {"summary", "cells"}}], "summary", "exception",
    "comments", "command", ...}}}`` and ``checksums/<file>.txt`` with a SHA-256 per file. The
    record is informational: the scanner re-checks the file itself and never lowers its verdict
    because ACRO passed it.
    """
    results_path = path.parent / "results.json"
    if path.name == "results.json" or not results_path.is_file() or results_path.is_symlink():
        return None
    try:
        if results_path.stat().st_size > 16 * 1024 * 1024:
            return {"error": "results.json too large to read"}
        document = json.loads(results_path.read_text("utf-8"))
        results = document.get("results") or {}
        for uid, output in results.items():
            for entry in output.get("files") or []:
                if Path(str(entry.get("name", ""))).name == path.name:
                    return _acro_summary(document, uid, output, entry, path, sha256)
    except (OSError, ValueError, AttributeError, TypeError) as exc:
        return {"error": f"unreadable results.json: {type(exc).__name__}"}
    return None


def _acro_summary(document: dict[str, Any], uid: str, output: dict[str, Any], entry: dict[str, Any],
                  path: Path, sha256: str | None) -> dict[str, Any]:
    sdc = entry.get("sdc") or {}
    record = {
        "version": document.get("version"),
        "output": uid,
        "status": output.get("status"),
        "type": output.get("type"),
        "summary": output.get("summary"),
        "exception": output.get("exception"),
        "sdc_summary": sdc.get("summary"),
        "command": output.get("command"),
    }
    checksum_file = path.parent / "checksums" / f"{path.name}.txt"
    if sha256 and checksum_file.is_file() and not checksum_file.is_symlink():
        try:
            recorded = checksum_file.read_text("utf-8").split()[0].lower()
        except (OSError, ValueError, IndexError):
            recorded = ""
        record["checksum_valid"] = recorded == sha256
    return record
