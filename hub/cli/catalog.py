"""``enclave catalog``: register, list, show and verify dataset versions."""

from __future__ import annotations

from pathlib import Path

import click

from hub import catalog, levels
from hub.cli.common import acting, actor_option, echo_json, echo_table, json_option, reading
from hub.errors import IntegrityError, ValidationError


@click.group("catalog")
def command() -> None:
    """数据资源目录 / Dataset catalog (公共数据资源目录).

    分级 levels: 1 公开 public, 2 内部 internal, 3 敏感 sensitive, 4 核心 core (不可授权 / never
    authorizable). 版本不可变 / versions are immutable.
    """


@command.command("register")
@click.argument("manifest", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", help="数据集标识 / dataset handle")
@click.option("--title-zh", help="中文名称 / Chinese title")
@click.option("--title-en", default="", help="英文名称 / English title")
@click.option("--provider", help="数据提供单位 / provider org")
@click.option("--domain", help="领域，如 交通物流 / domain, e.g. 交通物流")
@click.option("--level", type=int, help="分级 1-4 / classification level 1-4")
@click.option("--registration-no", default="", help="目录登记编号 / registration number")
@click.option("--cadence", "update_cadence", default="",
              type=click.Choice(("", *catalog.CADENCES)), help="更新频率 / update cadence")
@click.option("--file", "files", multiple=True, type=click.Path(path_type=Path),
              help="数据文件 csv/parquet，可重复 / data file, repeatable")
@click.option("--force", is_flag=True,
              help="允许低于扫描建议的分级（记入审计）/ allow a level below the scanner's "
                   "suggestion (audited)")
@json_option
@actor_option
def register(manifest: Path | None, name: str | None, title_zh: str | None, title_en: str,
             provider: str | None, domain: str | None, level: int | None,
             registration_no: str, update_cadence: str, files: tuple[Path, ...], force: bool,
             as_json: bool, actor_name: str) -> None:
    """登记数据集版本 / Register dataset versions from MANIFEST (YAML) or from the flags."""
    if manifest is not None:
        specs = catalog.load_manifest(manifest)
    else:
        specs = [_spec_from_flags(name, title_zh, title_en, provider, domain, level,
                                  registration_no, update_cadence, files)]
    results = []
    for spec in specs:
        with acting(actor_name) as (session, actor):
            result = catalog.register(session, actor, spec, force=force)
            results.append({"ref": result.version.label, "created": result.created,
                            "level": result.version.level,
                            "suggested_level": result.suggested_level,
                            "warnings": result.warnings})
    if as_json:
        echo_json(results)
        return
    for row in results:
        state = "new version / 新版本" if row["created"] else "unchanged / 未变化"
        click.echo(f"{row['ref']}: {state}; level {row['level']} "
                   f"(suggested / 建议 {row['suggested_level']})")
        for warning in row["warnings"]:
            click.echo(f"warning / 警告: {warning}", err=True)


def _spec_from_flags(name: str | None, title_zh: str | None, title_en: str,
                     provider: str | None, domain: str | None, level: int | None,
                     registration_no: str, update_cadence: str,
                     files: tuple[Path, ...]) -> catalog.DatasetSpec:
    given = {"--name": name, "--title-zh": title_zh, "--provider": provider,
             "--domain": domain, "--level": level, "--file": files or None}
    for flag, value in given.items():
        if value is None:
            raise ValidationError(f"{flag}: required (or give a manifest)",
                                  f"{flag}：必填（或提供清单文件）")
    assert name and title_zh and provider and domain and level is not None
    return catalog.DatasetSpec(
        name=name, title_zh=title_zh, title_en=title_en, provider=provider, domain=domain,
        level=level, files=[f.resolve() for f in files], registration_no=registration_no,
        update_cadence=update_cadence)


@command.command("list")
@json_option
def list_(as_json: bool) -> None:
    """列出数据集 / List datasets with their latest version."""
    with reading() as session:
        rows = [catalog.dataset_json(d, with_versions=False)
                for d in catalog.list_datasets(session)]
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        row["level"] = levels.get(row["level"]).label if row["level"] else None
    echo_table(rows, ["name", "title_zh", "provider", "domain", "level", "latest_version"])


@command.command("show")
@click.argument("ref")
@json_option
def show(ref: str, as_json: bool) -> None:
    """查看数据集或版本 / Show dataset NAME (all versions) or version NAME@N."""
    with reading() as session:
        if "@" in ref:
            value = catalog.version_json(catalog.get_version(session, ref))
        else:
            value = catalog.dataset_json(catalog.get_dataset(session, ref))
    if as_json:
        echo_json(value)
        return
    versions = value.get("versions", [value])
    for key in ("name", "title_zh", "title_en", "provider", "domain", "registration_no",
                "update_cadence"):
        if key in value:
            click.echo(f"{key}: {value[key]}")
    for version in versions:
        click.echo(f"\n{version['ref']}  level {version['level_label']} (suggested "
                   f"{version['suggested_level']})  {version['row_count']} rows  "
                   f"{version['format']}  {version['path']}")
        echo_table([{"column": c["name"], "type": c["type"], "tags": c["tags"]}
                    for c in version["schema"]], ["column", "type", "tags"])
        echo_table(version["files"], ["name", "sha256", "size_bytes", "row_count"])


@command.command("verify")
@click.argument("name", required=False)
@json_option
@actor_option
def verify(name: str | None, as_json: bool, actor_name: str) -> None:
    """校验存储文件的 SHA-256 / Re-hash stored files; exit 1 on any mismatch or missing file."""
    with acting(actor_name) as (session, actor):
        problems = catalog.verify_store(session, actor, name)
    if as_json:
        echo_json([p.__dict__ for p in problems])
    for problem in problems:
        click.echo(f"{problem.version}/{problem.file}: {problem.problem} "
                   f"(expected {problem.expected}, got {problem.actual or '-'})", err=True)
    if problems:
        raise IntegrityError(f"{len(problems)} stored file(s) failed verification",
                             f"{len(problems)} 个存储文件校验失败")
    if not as_json:
        click.echo("all stored files match their SHA-256 / 所有存储文件校验通过")
