"""The public data resource catalog (公共数据资源目录): datasets and their immutable versions.

A version is a set of files (CSV or Parquet, one schema) copied into
``paths().store/<dataset>/v<number>/`` and made read-only, with the SHA-256, size and row count of
each file, the schema (column, portable type, scanner tags) and a declared classification level.
The scanner (:func:`egress_filter.detect.profile_table`, via :func:`default_tagger`) tags columns
with entities; the tags suggest a level (:func:`hub.levels.suggest_level`). Declaring a lower
level than suggested is refused unless forced, and a forced downgrade is recorded as a warning in
the audit entry.

Registering the same files at the same level again changes nothing; anything else creates the
next version — stored versions are never modified. :func:`verify_store` re-hashes stored files and
reports every mismatch or missing file.

Manifest (``enclave catalog register manifest.yaml``)::

    datasets:
      - name: airport-freight            # slug: store folder and CLI handle
        title_zh: 航空货运量
        title_en: Air freight volume
        provider: zz-airport-group       # org name, kind provider
        domain: 交通物流
        level: 2                         # 1 公开 / 2 内部 / 3 敏感 / 4 核心
        registration_no: ZGSJ-2025-0001
        update_cadence: monthly
        description: ...                 # optional
        files: [data/freight_2024.csv]   # relative to the manifest, inside its folder

Public API::

    Tagger = Callable[[pa.Table], Mapping[str, Iterable[str]]]   # string table -> tags
    DatasetSpec(name, title_zh, provider, domain, level, files, title_en="", ...)
    load_manifest(path) -> list[DatasetSpec]        # ValidationError names the field
    parse_manifest(data, base_dir) -> list[DatasetSpec]
    register(session, actor, spec, force=False, tagger=None) -> Registration
    get_dataset(session, name) -> Dataset;  list_datasets(session) -> list[Dataset]
    get_version(session, ref) -> DatasetVersion     # "name@3" or "name" (latest)
    version_dir(version) -> Path
    verify_store(session, actor, name=None) -> list[StoreProblem]
    dataset_json(dataset) -> dict;  version_json(version) -> dict
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import levels
from hub.accounts import NAME_PATTERN, Actor, get_org, require
from hub.audit import audited
from hub.config import paths
from hub.errors import NotFound, PolicyViolation, ValidationError
from hub.models import Dataset, DatasetFile, DatasetVersion

Tagger = Callable[[pa.Table], Mapping[str, Iterable[str]]]

FORMATS = ("csv", "parquet")
CADENCES = ("once", "realtime", "daily", "weekly", "monthly", "quarterly", "yearly", "irregular")
REQUIRED_FIELDS = ("name", "title_zh", "provider", "domain", "level", "files")
OPTIONAL_FIELDS = ("title_en", "registration_no", "update_cadence", "description", "format")
_CHUNK = 1 << 20


@dataclass
class DatasetSpec:
    """What to register: catalogue metadata plus the source files of one version."""

    name: str
    title_zh: str
    provider: str
    domain: str
    level: int
    files: list[Path]
    title_en: str = ""
    registration_no: str = ""
    update_cadence: str = ""
    description: str = ""
    format: str | None = None  # inferred from the file extension when None


@dataclass
class Registration:
    """Result of :func:`register`: the version now current, and whether it is new."""

    version: DatasetVersion
    created: bool
    suggested_level: int
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StoreProblem:
    """A stored file that is missing or whose SHA-256 no longer matches."""

    version: str
    file: str
    problem: str  # "missing" | "checksum_mismatch"
    expected: str
    actual: str = ""


# -- manifest -----------------------------------------------------------------------------------


def _invalid(where: str, en: str, zh: str) -> ValidationError:
    return ValidationError(f"{where}: {en}", f"{where}：{zh}")


def load_manifest(path: Path) -> list[DatasetSpec]:
    """Read and validate a YAML manifest; file paths are resolved against its folder."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise _invalid(str(path), f"cannot read manifest ({exc.strerror})",
                       f"无法读取清单（{exc.strerror}）") from exc
    except yaml.YAMLError as exc:
        raise _invalid(str(path), f"not valid YAML ({exc})", f"不是有效的 YAML（{exc}）") from exc
    return parse_manifest(data, Path(path).resolve().parent)


def parse_manifest(data: Any, base_dir: Path) -> list[DatasetSpec]:
    """Validate a parsed manifest; every error names the field, e.g. ``datasets[0].level``."""
    if not isinstance(data, dict) or "datasets" not in data:
        raise _invalid("datasets", "required: the manifest is a mapping with a 'datasets' list",
                       "必填：清单须为包含 datasets 列表的映射")
    unknown = sorted(set(data) - {"datasets"})
    if unknown:
        raise _invalid(unknown[0], "unknown field", "未知字段")
    items = data["datasets"]
    if not isinstance(items, list) or not items:
        raise _invalid("datasets", "must be a non-empty list", "必须是非空列表")
    specs = [_parse_item(item, f"datasets[{i}]", base_dir) for i, item in enumerate(items)]
    seen: set[str] = set()
    for i, spec in enumerate(specs):
        if spec.name in seen:
            raise _invalid(f"datasets[{i}].name", f"{spec.name!r} appears twice",
                           f"{spec.name!r} 重复出现")
        seen.add(spec.name)
    return specs


def _parse_item(item: Any, where: str, base_dir: Path) -> DatasetSpec:
    if not isinstance(item, dict):
        raise _invalid(where, "must be a mapping", "必须是映射")
    for key in REQUIRED_FIELDS:
        if item.get(key) in (None, "", []):
            raise _invalid(f"{where}.{key}", "required", "必填")
    for key in sorted(set(item) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS)):
        raise _invalid(f"{where}.{key}", "unknown field", "未知字段")
    for key in ("name", "title_zh", "provider", "domain", *OPTIONAL_FIELDS):
        if key in item and item[key] is not None and not isinstance(item[key], str):
            raise _invalid(f"{where}.{key}", "must be text", "必须是文本")
    files = item["files"]
    if isinstance(files, str):
        files = [files]
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise _invalid(f"{where}.files", "must be a list of paths", "必须是路径列表")
    spec = DatasetSpec(
        name=item["name"], title_zh=item["title_zh"], provider=item["provider"],
        domain=item["domain"], level=item["level"],
        files=[_manifest_file(f, f"{where}.files[{i}]", base_dir) for i, f in enumerate(files)],
        **{key: item[key] for key in OPTIONAL_FIELDS if item.get(key) is not None},
    )
    validate_spec(spec, where)
    return spec


def _manifest_file(value: str, where: str, base_dir: Path) -> Path:
    # An uploaded manifest is untrusted: it may only name files inside its own folder.
    candidate = Path(value)
    resolved = (base_dir / candidate).resolve()
    if candidate.is_absolute() or not resolved.is_relative_to(base_dir.resolve()):
        raise _invalid(where, f"{value!r} must be a relative path inside the manifest's folder",
                       f"{value!r} 必须是清单所在目录内的相对路径")
    return resolved


def validate_spec(spec: DatasetSpec, where: str = "dataset") -> None:
    """Check a spec's fields (from a manifest or from CLI flags)."""
    if not NAME_PATTERN.match(spec.name or ""):
        raise _invalid(f"{where}.name", f"{spec.name!r} must be 1-64 lower-case letters, digits, "
                       "'_', '.', '-'", f"{spec.name!r} 只能由小写字母、数字、'_'、'.'、'-' 组成")
    levels.validate(spec.level, f"{where}.level")
    if spec.update_cadence and spec.update_cadence not in CADENCES:
        raise _invalid(f"{where}.update_cadence", f"must be one of {', '.join(CADENCES)}",
                       f"必须是 {', '.join(CADENCES)} 之一")
    if spec.format is not None and spec.format not in FORMATS:
        raise _invalid(f"{where}.format", f"must be one of {', '.join(FORMATS)}",
                       f"必须是 {', '.join(FORMATS)} 之一")
    if not spec.files:
        raise _invalid(f"{where}.files", "required", "必填")
    names = [Path(f).name for f in spec.files]
    for i, name in enumerate(names):
        if names.index(name) != i:
            raise _invalid(f"{where}.files[{i}]", f"file name {name!r} is used twice",
                           f"文件名 {name!r} 重复")
        fmt = spec.format or _format_of(Path(name))
        if fmt is None:
            raise _invalid(f"{where}.files[{i}]", f"{name!r}: format must be csv or parquet",
                           f"{name!r}：格式必须为 csv 或 parquet")


def _format_of(path: Path) -> str | None:
    suffix = path.suffix.lower()
    return {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}.get(suffix)


# -- reading and profiling files ----------------------------------------------------------------


@dataclass
class _FileProfile:
    source: Path
    sha256: str
    size_bytes: int
    strings: pa.Table  # every cell as text: what the scanner reads
    types: dict[str, str]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _read_file(path: Path, fmt: str) -> _FileProfile:
    if not path.is_file():
        raise ValidationError(f"files: {path} does not exist or is not a file",
                              f"files：{path} 不存在或不是文件")
    try:
        strings, types = _read_csv(path) if fmt == "csv" else _read_parquet(path)
    except (pa.ArrowException, ValueError, csv.Error) as exc:
        raise ValidationError(f"files: {path.name} is not readable as {fmt}: {exc}",
                              f"files：{path.name} 无法按 {fmt} 读取：{exc}") from exc
    return _FileProfile(path, sha256_file(path), path.stat().st_size, strings, types)


def _read_csv(path: Path) -> tuple[pa.Table, dict[str, str]]:
    import pyarrow.csv as pacsv

    from egress_filter.readers.encoding import detect_encoding

    data = path.read_bytes()
    try:
        encoding = detect_encoding(data)
    except Exception as exc:  # ReaderError: same rule as the egress filter, UTF-8 or GB18030
        raise ValueError(getattr(exc, "en", str(exc))) from exc
    text = data.decode(encoding)
    header = next(csv.reader(io.StringIO(text.split("\n", 1)[0].rstrip("\r"))), [])
    _check_header(header, path.name)
    names = [f"c{i}" for i in range(len(header))]
    table = pacsv.read_csv(
        pa.BufferReader(text.encode("utf-8")),
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string())),
    ).rename_columns(header)
    return table, {name: infer_text_type(table.column(name)) for name in header}


def _check_header(header: list[str], file_name: str) -> None:
    if not header:
        raise ValueError("no header row")
    for i, name in enumerate(header):
        if not name.strip():
            raise ValueError(f"column {i + 1} has an empty name")
        if header.index(name) != i:
            raise ValueError(f"column name {name!r} appears twice")


def _read_parquet(path: Path) -> tuple[pa.Table, dict[str, str]]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    _check_header(table.column_names, path.name)
    types = {name: arrow_type_name(table.schema.field(name).type) for name in table.column_names}
    strings = pa.table([_as_strings(table.column(n)) for n in table.column_names],
                       names=table.column_names)
    return strings, types


def _as_strings(column: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    if pa.types.is_floating(column.type):
        # 13812345678.0 is still a phone number to the scanner
        return pa.array([None if v is None else (str(int(v)) if v.is_integer() else repr(v))
                         for v in column.to_pylist()], pa.string())
    try:
        return column.cast(pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return pa.array([None if v is None else str(v) for v in column.to_pylist()], pa.string())


def arrow_type_name(kind: pa.DataType) -> str:
    """A portable type name for an Arrow type."""
    checks = ((pa.types.is_boolean, "boolean"), (pa.types.is_integer, "integer"),
              (pa.types.is_floating, "float"), (pa.types.is_decimal, "decimal"),
              (pa.types.is_timestamp, "datetime"), (pa.types.is_date, "date"),
              (pa.types.is_string, "string"), (pa.types.is_large_string, "string"))
    for check, name in checks:
        if check(kind):
            return name
    return str(kind)


_TEXT_TYPES = (
    # Identifiers with leading zeros or more than 15 digits stay strings (no float rounding).
    ("integer", r"^-?(0|[1-9]\d{0,14})$"),
    ("float", r"^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$"),
    ("boolean", r"^(?i:true|false)$"),
    ("date", r"^\d{4}-\d{2}-\d{2}$"),
    ("datetime", r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$"),
)


def infer_text_type(column: pa.ChunkedArray) -> str:
    """The narrowest portable type every non-empty cell of a text column fits."""
    values = pc.drop_null(column)
    values = values.filter(pc.not_equal(pc.utf8_trim_whitespace(values), ""))
    if len(values) == 0:
        return "string"
    for name, pattern in _TEXT_TYPES:
        if pc.all(pc.match_substring_regex(values, pattern)).as_py():
            return name
    return "string"


def default_tagger(table: pa.Table) -> Mapping[str, Iterable[str]]:
    """Column tags from the egress scanner (imported lazily: it loads Presidio)."""
    from egress_filter.detect import profile_table

    return profile_table(table)


# -- registering --------------------------------------------------------------------------------


def register(
    session: Session,
    actor: Actor,
    spec: DatasetSpec,
    force: bool = False,
    tagger: Tagger | None = None,
) -> Registration:
    """Register ``spec`` as the next version of its dataset (or confirm it is unchanged)."""
    details: dict[str, Any] = {"dataset": spec.name, "level": spec.level, "force": force}
    with audited(session, actor.name, "catalog.register", "dataset", spec.name, details) as act:
        require(actor, "catalog.register")
        validate_spec(spec)
        provider = get_org(session, spec.provider)
        if provider.kind != "provider":
            raise ValidationError(
                f"provider: {provider.name} is a {provider.kind} org, not a provider",
                f"provider：{provider.name} 是 {provider.kind} 类组织，不是数据提供单位")
        profiles = [_read_file(Path(f), spec.format or _format_of(Path(f)) or "")
                    for f in spec.files]
        schema = _merge_schema(profiles, tagger or default_tagger)
        suggested = levels.suggest_level({c["name"]: c["tags"] for c in schema})
        warnings = _check_level(spec.level, suggested, force, schema)
        act.details.update(suggested_level=suggested, warnings=warnings,
                           files={p.source.name: p.sha256 for p in profiles})
        dataset = _upsert_dataset(session, spec, provider.id, act.details)
        latest = dataset.versions[-1] if dataset.versions else None
        content = _content_hash(profiles)
        if latest and latest.content_sha256 == content and latest.level == spec.level:
            act.object_id, act.details["unchanged"] = latest.label, True
            return Registration(latest, False, suggested, warnings)
        version = _store_version(session, actor, dataset, spec, profiles, schema, suggested,
                                 content)
        act.object_id = version.label
        act.details["version"] = version.number
    return Registration(version, True, suggested, warnings)


def _merge_schema(profiles: list[_FileProfile], tagger: Tagger) -> list[dict[str, Any]]:
    first = profiles[0]
    columns = first.strings.column_names
    tags: dict[str, set[str]] = {name: set() for name in columns}
    types = dict(first.types)
    for profile in profiles:
        if profile.strings.column_names != columns:
            raise ValidationError(
                f"files: {profile.source.name} has columns {profile.strings.column_names}, "
                f"expected {columns} (all files of a version share one schema)",
                f"files：{profile.source.name} 的列与 {first.source.name} 不一致（同一版本须同一结构）")
        for name, found in tagger(profile.strings).items():
            if name in tags:
                tags[name].update(found)
        for name, kind in profile.types.items():
            if types[name] != kind:
                types[name] = "string"  # files disagree: the widest common type
    # A column holding identifiers is text whatever its digits look like (phone numbers, IDs).
    return [{"name": name, "type": "string" if tags[name] else types[name],
             "tags": sorted(tags[name])} for name in columns]


def _check_level(declared: int, suggested: int, force: bool,
                 schema: list[dict[str, Any]]) -> list[str]:
    if declared >= suggested:
        return []
    tagged = [f"{c['name']} ({', '.join(c['tags'])})" for c in schema if c["tags"]]
    if not force:
        raise PolicyViolation(
            f"level: declared {declared} is below the level {suggested} the scanner suggests "
            f"for columns {'; '.join(tagged)}; use --force to override (recorded in the audit log)",
            f"level：声明的分级 {declared} 低于扫描建议的 {suggested}（列：{'；'.join(tagged)}）；"
            "如确认请使用 --force（将记入审计日志）",
        )
    return [f"level {declared} forced below suggested {suggested}: {'; '.join(tagged)}"]


def _upsert_dataset(session: Session, spec: DatasetSpec, provider_id: int,
                    details: dict[str, Any]) -> Dataset:
    dataset = session.scalars(select(Dataset).where(Dataset.name == spec.name)).one_or_none()
    if dataset is None:
        dataset = Dataset(name=spec.name, title_zh=spec.title_zh, provider_org_id=provider_id,
                          domain=spec.domain)
        session.add(dataset)
    changed = {}
    for key in ("title_zh", "title_en", "domain", "registration_no", "update_cadence",
                "description"):
        value = getattr(spec, key)
        if getattr(dataset, key, None) != value:
            changed[key] = value
            setattr(dataset, key, value)
    if dataset.provider_org_id != provider_id:
        changed["provider"] = spec.provider
        dataset.provider_org_id = provider_id
    session.flush()
    details["metadata_changed"] = sorted(changed)
    return dataset


def _content_hash(profiles: list[_FileProfile]) -> str:
    pairs = sorted((p.source.name, p.sha256) for p in profiles)
    return hashlib.sha256(repr(pairs).encode("utf-8")).hexdigest()


def version_dir(version: DatasetVersion) -> Path:
    """The read-only folder holding ``version``'s files."""
    return paths().store / version.store_path


def _store_version(
    session: Session, actor: Actor, dataset: Dataset, spec: DatasetSpec,
    profiles: list[_FileProfile], schema: list[dict[str, Any]], suggested: int, content: str,
) -> DatasetVersion:
    number = (dataset.versions[-1].number + 1) if dataset.versions else 1
    relative = f"{dataset.name}/v{number}"
    target = paths().store / relative
    _copy_files(profiles, target)
    try:
        version = DatasetVersion(
            dataset=dataset, number=number, level=spec.level, suggested_level=suggested,
            format=spec.format or _format_of(profiles[0].source) or "",
            row_count=sum(p.strings.num_rows for p in profiles), schema=schema,
            content_sha256=content, store_path=relative, created_by=actor.name,
            files=[DatasetFile(name=p.source.name, sha256=p.sha256, size_bytes=p.size_bytes,
                               row_count=p.strings.num_rows) for p in profiles],
        )
        session.add(version)
        session.flush()
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return version


def _copy_files(profiles: list[_FileProfile], target: Path) -> None:
    """Copy into a temporary folder, check the hashes again, then rename into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():  # left over by a registration whose transaction never committed
        shutil.rmtree(target)
    staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=target.parent))
    try:
        for profile in profiles:
            copy = staging / profile.source.name
            shutil.copyfile(profile.source, copy)
            if sha256_file(copy) != profile.sha256:
                raise ValidationError(f"files: {profile.source.name} changed while registering",
                                      f"files：{profile.source.name} 在登记过程中被修改")
            os.chmod(copy, 0o444)
        os.chmod(staging, 0o755)  # readable by the sandbox's unprivileged user, never writable
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


# -- reading the catalog ------------------------------------------------------------------------


def get_dataset(session: Session, name: str) -> Dataset:
    dataset = session.scalars(select(Dataset).where(Dataset.name == name)).one_or_none()
    if dataset is None:
        raise NotFound(f"dataset {name!r} not found", f"未找到数据集 {name!r}")
    return dataset


def list_datasets(session: Session) -> list[Dataset]:
    return list(session.scalars(select(Dataset).order_by(Dataset.name)))


_REF = re.compile(r"^(?P<name>[^@]+)(@(?P<number>\d+))?$")


def get_version(session: Session, ref: str) -> DatasetVersion:
    """``name@number`` or ``name`` (its latest version)."""
    match = _REF.match(ref.strip())
    if not match:
        raise ValidationError(f"dataset version {ref!r}: expected NAME or NAME@NUMBER",
                              f"数据集版本 {ref!r}：格式应为 NAME 或 NAME@NUMBER")
    dataset = get_dataset(session, match["name"])
    if not dataset.versions:
        raise NotFound(f"dataset {dataset.name!r} has no versions",
                       f"数据集 {dataset.name!r} 尚无版本")
    if match["number"] is None:
        return dataset.versions[-1]
    for version in dataset.versions:
        if version.number == int(match["number"]):
            return version
    raise NotFound(f"dataset version {ref!r} not found", f"未找到数据集版本 {ref!r}")


def verify_store(session: Session, actor: Actor, name: str | None = None) -> list[StoreProblem]:
    """Re-hash every stored file (of one dataset or all); the audit entry lists the problems."""
    problems: list[StoreProblem] = []
    with audited(session, actor.name, "catalog.verify", "dataset", name or "*") as act:
        require(actor, "catalog.verify")
        datasets = [get_dataset(session, name)] if name else list_datasets(session)
        checked = 0
        for dataset in datasets:
            for version in dataset.versions:
                problems += _verify_version(version)
                checked += len(version.files)
        act.details.update(files_checked=checked, problems=[p.__dict__ for p in problems])
        if problems:
            act.outcome = "error"
    return problems


def _verify_version(version: DatasetVersion) -> list[StoreProblem]:
    found = []
    folder = version_dir(version)
    for stored in version.files:
        path = folder / stored.name
        if not path.is_file():
            found.append(StoreProblem(version.label, stored.name, "missing", stored.sha256))
            continue
        actual = sha256_file(path)
        if actual != stored.sha256:
            found.append(StoreProblem(version.label, stored.name, "checksum_mismatch",
                                      stored.sha256, actual))
    return found


def version_json(version: DatasetVersion) -> dict[str, Any]:
    level = levels.get(version.level)
    return {
        "dataset": version.dataset.name, "version": version.number, "ref": version.label,
        "level": version.level, "level_label": level.label,
        "suggested_level": version.suggested_level, "format": version.format,
        "row_count": version.row_count, "schema": version.schema,
        "content_sha256": version.content_sha256, "path": str(version_dir(version)),
        "created_by": version.created_by, "created_at": version.created_at.isoformat(),
        "files": [{"name": f.name, "sha256": f.sha256, "size_bytes": f.size_bytes,
                   "row_count": f.row_count} for f in version.files],
    }


def dataset_json(dataset: Dataset, with_versions: bool = True) -> dict[str, Any]:
    latest = dataset.versions[-1] if dataset.versions else None
    out: dict[str, Any] = {
        "name": dataset.name, "title_zh": dataset.title_zh, "title_en": dataset.title_en,
        "provider": dataset.provider.name, "domain": dataset.domain,
        "registration_no": dataset.registration_no, "update_cadence": dataset.update_cadence,
        "description": dataset.description,
        "latest_version": latest.number if latest else None,
        "level": latest.level if latest else None,
    }
    if with_versions:
        out["versions"] = [version_json(v) for v in dataset.versions]
    return out
