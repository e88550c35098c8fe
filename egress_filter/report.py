"""Scan results as one JSON object (the public contract) or a short summary for people (zh / en)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from egress_filter.model import FileReport, Verdict
from egress_filter.policy import Policy
from hub.i18n import Language, current_language

_VERDICT_WORDS = {
    "zh": {Verdict.PASS: "通过", Verdict.REVIEW: "需人工审核", Verdict.BLOCK: "拦截"},
    "en": {Verdict.PASS: "pass", Verdict.REVIEW: "review", Verdict.BLOCK: "block"},
}
MAX_FINDINGS_SHOWN = 10


def scan_result_json(reports: list[FileReport], policy: Policy, level: int) -> dict[str, Any]:
    """``{"files": [FileReport.to_json()...], "policy": {name, version, sha256, source, level}}``."""
    return {"files": [r.to_json() for r in reports], "policy": policy.to_json(level)}


def overall_verdict(reports: list[FileReport]) -> Verdict:
    return Verdict.worst(*(r.verdict for r in reports))


def human_summary(reports: list[FileReport], policy: Policy, level: int,
                  language: Language | None = None) -> str:
    """A readable multi-line summary in Chinese or English."""
    lang = language or current_language()
    words = _VERDICT_WORDS[lang]
    lines = []
    for report in reports:
        lines.append(f"[{words[report.verdict]}] {report.path}")
        for reason in report.reasons:
            if reason.code.startswith("found:"):
                continue
            text = reason.zh if lang == "zh" else reason.en
            lines.append(f"    - {text} ({words[reason.verdict]})")
        for finding in report.findings[:MAX_FINDINGS_SHOWN]:
            lines.append(f"    * {finding.entity} ×{finding.count} @ {_where(finding.location, lang)}"
                         f"{' ' + ', '.join(finding.examples) if finding.examples else ''}"
                         f" ({words[finding.verdict]})")
        hidden = len(report.findings) - MAX_FINDINGS_SHOWN
        if hidden > 0:
            lines.append(f"    … 另有 {hidden} 条发现（用 --json 查看全部）" if lang == "zh"
                         else f"    … {hidden} more finding(s) (use --json for all)")
    counts = Counter(r.verdict for r in reports)
    tally = ", ".join(f"{words[v]} {counts.get(v, 0)}" for v in (Verdict.PASS, Verdict.REVIEW, Verdict.BLOCK))
    if lang == "zh":
        lines.append(f"共 {len(reports)} 个文件：{tally}。策略 {policy.name} {policy.version}"
                     f"（sha256 {policy.sha256[:12]}…），数据分级 {level}。")
    else:
        lines.append(f"{len(reports)} file(s): {tally}. Policy {policy.name} {policy.version} "
                     f"(sha256 {policy.sha256[:12]}…), classification level {level}.")
    return "\n".join(lines)


def _where(location: dict[str, Any], lang: Language) -> str:
    parts = []
    labels = {"sheet": ("工作表", "sheet"), "cell": ("单元格", "cell"), "column": ("列", "column"),
              "path": ("路径", "path"), "line": ("行", "line")}
    for key, (zh, en) in labels.items():
        if key in location:
            parts.append(f"{zh if lang == 'zh' else en} {location[key]}")
    rows = location.get("rows")
    if rows:
        shown = ", ".join(str(r) for r in rows[:5]) + (" …" if len(rows) > 5 else "")
        parts.append(f"{'数据行' if lang == 'zh' else 'rows'} {shown}")
    elif "coverage" in location:
        parts.append(f"{'覆盖' if lang == 'zh' else 'coverage'} {location['coverage']:.0%}")
    return ", ".join(parts) or "-"
