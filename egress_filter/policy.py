"""The egress policy as data: a YAML file per deployment, validated against a JSON schema.

``defaults`` apply to every classification level (1 公开, 2 内部, 3 敏感, 4 核心) and
``levels.<n>`` override them key by key. Level 4 has ``egress: false``: nothing leaves.
The policy in force is identified by name, version and the sha256 of its canonical JSON form
(sorted keys, no whitespace), which every report and release manifest records.
"""

from __future__ import annotations

import copy
import hashlib
import json
import sys
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from egress_filter.model import Verdict
from egress_filter.readers.base import ReadLimits
from egress_filter.sdc import SdcConfig
from hub.errors import ValidationError

LEVELS = (1, 2, 3, 4)
_REQUIRED_EFFECTIVE = ["egress", "allowed_types", "max_file_mib", "max_table_rows", "entities",
                       "sdc", "microdata"]
MIB = 1024 * 1024


class PolicyError(ValidationError):
    """The policy file is unreadable or breaks the schema; the message names the field."""

    code = "invalid_policy"


@dataclass(frozen=True)
class LevelRules:
    """Everything the scanner needs for one classification level, already merged and typed."""

    level: int
    label_zh: str
    label_en: str
    egress: bool
    allowed_types: frozenset[str]
    review_types: frozenset[str]
    max_file_bytes: int
    max_table_rows: int
    limits: ReadLimits
    min_score: float
    block_entities: frozenset[str]
    review_entities: frozenset[str]
    sdc_enabled: bool
    sdc: SdcConfig
    sdc_verdicts: dict[str, Verdict] = field(default_factory=dict)
    microdata_verdict: Verdict = Verdict.BLOCK
    acro_fail_verdict: Verdict = Verdict.REVIEW

    def entity_verdict(self, entity: str) -> Verdict:
        """Block-listed → block; review-listed → review; anything else → review (fail closed)."""
        if entity in self.block_entities:
            return Verdict.BLOCK
        return Verdict.REVIEW

    def sdc_verdict(self, entity: str) -> Verdict:
        if entity == "MICRODATA":
            return self.microdata_verdict
        return self.sdc_verdicts.get(entity, Verdict.BLOCK)


@dataclass(frozen=True)
class Policy:
    name: str
    version: str
    sha256: str
    document: dict[str, Any]
    source: str

    def level(self, level: int) -> LevelRules:
        if level not in LEVELS:
            raise PolicyError(f"classification level must be 1-4, got {level}",
                              f"数据分级必须为 1-4，收到 {level}")
        return _rules(level, effective_level(self.document, level))

    def to_json(self, level: int | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "version": self.version, "sha256": self.sha256,
                               "source": self.source}
        if level is not None:
            out["level"] = level
        return out



@cache
def _validator_class() -> Any:
    """jsonschema's Draft 2020-12 validator, imported without its optional format libraries.

    Policies use no ``format`` keywords, but ``import jsonschema`` eagerly imports optional format
    checkers when they are installed; one of them (``rfc3987_syntax``, pulled in by Jupyter's
    dependencies) compiles its grammars at import and costs ~0.9 s — a third of a cold
    ``enclave scan`` of a 100 MB table. It is hidden only while jsonschema is first imported.
    """
    hide = "jsonschema" not in sys.modules and "rfc3987_syntax" not in sys.modules
    if hide:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]
    try:
        from jsonschema import Draft202012Validator
    finally:
        if hide:
            del sys.modules["rfc3987_syntax"]
    return Draft202012Validator

def canonical_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


@cache
def schema() -> dict[str, Any]:
    text = resources.files("egress_filter.policies").joinpath("policy.schema.json").read_text("utf-8")
    return json.loads(text)


def validate(document: Any) -> None:
    """Raise :class:`PolicyError` naming the first bad field (by path) if ``document`` is invalid."""
    full = schema()
    errors = sorted(_validator_class()(full).iter_errors(document), key=lambda e: list(e.path))
    if errors:
        raise _error(errors[0])
    level_schema = {**full["$defs"]["level"], "$defs": full["$defs"], "required": _REQUIRED_EFFECTIVE}
    for level in LEVELS:
        merged = effective_level(document, level)
        errors = sorted(_validator_class()(level_schema).iter_errors(merged), key=lambda e: list(e.path))
        if errors:
            raise _error(errors[0], prefix=f"levels.{level} (merged with defaults)")


def _error(error, prefix: str = "") -> PolicyError:
    where = ".".join(str(p) for p in error.path) or "(top level)"
    where = f"{prefix}.{where}" if prefix and error.path else (prefix or where)
    return PolicyError(f"invalid policy field {where}: {error.message}",
                       f"策略字段 {where} 不合法：{error.message}")


def effective_level(document: dict[str, Any], level: int) -> dict[str, Any]:
    return _merge(document.get("defaults") or {}, (document.get("levels") or {}).get(str(level)) or {})


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _rules(level: int, doc: dict[str, Any]) -> LevelRules:
    sdc = doc.get("sdc", {})
    micro = doc.get("microdata", {})
    ocr = doc.get("ocr", {})
    entities = doc.get("entities", {})
    limits = ReadLimits(
        max_file_bytes=int(doc["max_file_mib"] * MIB),
        max_uncompressed_bytes=int(doc.get("max_uncompressed_mib", 64) * MIB),
        max_compression_ratio=float(doc.get("max_compression_ratio", 100)),
        max_image_pixels=int(doc.get("max_image_megapixels", 40) * 1_000_000),
        ocr_lang=ocr.get("lang", "chi_sim+eng"),
        ocr_timeout_s=float(ocr.get("timeout_s", 30)),
        ocr_enabled=bool(ocr.get("enabled", True)),
    )
    label = doc.get("label", {"zh": str(level), "en": str(level)})
    return LevelRules(
        level=level,
        label_zh=label["zh"],
        label_en=label["en"],
        egress=bool(doc["egress"]),
        allowed_types=frozenset(doc["allowed_types"]),
        review_types=frozenset(doc.get("review_types", [])),
        max_file_bytes=limits.max_file_bytes,
        max_table_rows=int(doc["max_table_rows"]),
        limits=limits,
        min_score=float(entities.get("min_score", 0.0)),
        block_entities=frozenset(entities.get("block", [])),
        review_entities=frozenset(entities.get("review", [])),
        sdc_enabled=bool(sdc.get("enabled", True)),
        sdc=SdcConfig(
            threshold=int(sdc.get("threshold", 10)),
            zeros_disclosive=bool(sdc.get("zeros_disclosive", True)),
            nk_n=int(sdc.get("nk_n", 2)),
            nk_k=float(sdc.get("nk_k", 0.9)),
            p_ratio=float(sdc.get("p_ratio", 0.1)),
            dof_threshold=int(sdc.get("dof_threshold", 10)),
            microdata_min_rows=int(micro.get("min_rows", 20)),
            microdata_unique_ratio=float(micro.get("unique_ratio", 0.5)),
        ),
        sdc_verdicts={k: Verdict(v) for k, v in (sdc.get("verdicts") or {}).items()},
        microdata_verdict=Verdict(micro.get("verdict", "block")),
        acro_fail_verdict=Verdict(doc.get("acro_fail_verdict", "review")),
    )


def parse_policy(text: str, *, source: str) -> Policy:
    """Parse and validate policy YAML (or JSON) text."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"policy {source} is not valid YAML: {exc}",
                          f"策略文件 {source} 不是合法 YAML：{exc}") from exc
    validate(document)
    digest = hashlib.sha256(canonical_json(document)).hexdigest()
    return Policy(name=document["name"], version=str(document["version"]), sha256=digest,
                  document=document, source=source)


def load_policy(path: str | Path | None = None) -> Policy:
    """The policy at ``path``, or the built-in default policy."""
    if path is None:
        return default_policy()
    p = Path(path)
    try:
        text = p.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read policy file {p}: {exc}", f"无法读取策略文件 {p}：{exc}") from exc
    return parse_policy(text, source=str(p))


@cache
def default_policy() -> Policy:
    text = resources.files("egress_filter.policies").joinpath("default.yaml").read_text("utf-8")
    return parse_policy(text, source="builtin:default.yaml")
