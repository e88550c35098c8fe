"""The shapes every part of the egress filter speaks: findings, reasons, verdicts, reports.

Readers turn files into blocks (tables and text); detectors turn blocks into findings; the policy
turns findings and reasons into a verdict. The JSON form of a report (``FileReport.to_json``) is a
public contract used by the airlock, the CLI (``enclave scan --json``) and release manifests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

ENTITIES = (
    "CN_RESIDENT_ID",
    "CN_MOBILE",
    "CN_LANDLINE",
    "BANK_CARD",
    "CN_PASSPORT",
    "CN_LICENSE_PLATE",
    "CN_USCC",
    "EMAIL_ADDRESS",
    "IP_ADDRESS",
    "PERSON",
    "LOCATION",
)


class Verdict(StrEnum):
    PASS = "pass"
    REVIEW = "review"
    BLOCK = "block"

    @staticmethod
    def worst(*verdicts: Verdict) -> Verdict:
        order = {Verdict.PASS: 0, Verdict.REVIEW: 1, Verdict.BLOCK: 2}
        return max(verdicts, key=order.__getitem__, default=Verdict.PASS)


@dataclass(frozen=True)
class Reason:
    """Why a file got its verdict, in both languages, with a stable code."""

    code: str
    en: str
    zh: str
    verdict: Verdict = Verdict.BLOCK

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "verdict": self.verdict.value, "en": self.en, "zh": self.zh}


@dataclass
class Finding:
    """One kind of sensitive content found at one place.

    ``location`` is, for tables ``{"column": header, "rows": [0-based data rows]}`` (``rows`` may be
    omitted when the whole column matches, then ``"coverage"`` is the fraction of non-empty rows
    that matched) plus ``"sheet"`` for workbooks; for text ``{"line": n, "start": s, "end": e}``
    (1-based line, character offsets within the line) plus ``"cell"`` for notebooks.
    ``examples`` are masked values only: a report never carries a raw identifier.
    """

    entity: str
    count: int
    location: dict[str, Any]
    score: float = 1.0
    examples: list[str] = field(default_factory=list)
    verdict: Verdict = Verdict.BLOCK
    detail: str = ""  # why, in words (used by statistical disclosure findings)

    def to_json(self) -> dict[str, Any]:
        out = {
            "entity": self.entity,
            "count": self.count,
            "location": self.location,
            "score": round(self.score, 3),
            "examples": self.examples,
            "verdict": self.verdict.value,
        }
        if self.detail:
            out["detail"] = self.detail
        return out


@dataclass
class FileReport:
    path: str
    verdict: Verdict
    reasons: list[Reason] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    kind: str = "unknown"
    size: int = 0
    sha256: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "verdict": self.verdict.value,
            "kind": self.kind,
            "size": self.size,
            "sha256": self.sha256,
            "reasons": [r.to_json() for r in self.reasons],
            "findings": [f.to_json() for f in self.findings],
            "stats": self.stats,
        }


def mask(value: str) -> str:
    """Show the shape of a value, never the value: keep the first and last character of long ones.

    ``110101199003077571`` → ``1****************1``; ``张三`` → ``张*``.
    """
    value = str(value)
    if len(value) <= 2:
        return value[:1] + "*" * (len(value) - 1)
    if len(value) <= 6:
        return value[0] + "*" * (len(value) - 1)
    return value[0] + "*" * (len(value) - 2) + value[-1]
