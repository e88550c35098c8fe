"""``enclave org``: organisations (operator, developer, provider, regulator)."""

from __future__ import annotations

import click

from hub import accounts
from hub.cli.common import acting, actor_option, echo_json, echo_table, json_option, reading
from hub.models import ORG_KINDS, Org


@click.group("org")
def command() -> None:
    """组织管理 / Organizations.

    类型 kinds: operator 一级开发主体, developer 二级开发主体, provider 数据提供单位,
    regulator 监管部门.
    """


@command.command("add")
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(ORG_KINDS), help="组织类型 / org kind")
@click.option("--title-zh", default="", help="中文名称 / Chinese name")
@click.option("--title-en", default="", help="英文名称 / English name")
@actor_option
def add(name: str, kind: str, title_zh: str, title_en: str, actor_name: str) -> None:
    """新增组织 / Add an organization NAME (short handle: lower-case letters, digits, - _ .)."""
    with acting(actor_name) as (session, actor):
        org = accounts.add_org(session, actor, name, kind, title_zh, title_en)
        click.echo(f"org {org.name} ({org.kind}) added / 已新增组织")


def org_json(org: Org) -> dict[str, object]:
    return {"name": org.name, "kind": org.kind, "title_zh": org.title_zh,
            "title_en": org.title_en, "users": len(org.users)}


@command.command("list")
@click.option("--kind", type=click.Choice(ORG_KINDS), help="只列此类 / only this kind")
@json_option
def list_(kind: str | None, as_json: bool) -> None:
    """列出组织 / List organizations."""
    with reading() as session:
        rows = [org_json(org) for org in accounts.list_orgs(session, kind)]
    if as_json:
        echo_json(rows)
    else:
        echo_table(rows, ["name", "kind", "title_zh", "title_en", "users"])
