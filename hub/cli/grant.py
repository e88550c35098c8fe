"""``enclave grant``: create grants and move them through their states.

The states and who may trigger each change come from :data:`hub.grants.TRANSITIONS` (also shown
by ``enclave grant transitions``).
"""

from __future__ import annotations

from datetime import UTC, datetime

import click

from hub import grants
from hub.accounts import get_user
from hub.cli.common import (
    acting,
    actor_option,
    echo_json,
    echo_table,
    json_option,
    parse_when,
    reading,
)
from hub.models import GRANT_STATES, PURPOSES

_NOW_HELP = "按此时间评估（测试用）/ evaluate at this time instead of now (testing)"


@click.group("grant")
def command() -> None:
    """授权管理 / Grants: operator → secondary developer, per scenario (应用场景).

    期限不超过 3 年，试运行期不超过 6 个月，4 级（核心）数据不得授权 / term ≤ 3 years, trial ≤
    6 months, level-4 (core) data never authorizable. 状态 states: draft → active → suspended →
    expired / revoked.
    """


def _item(value: str) -> grants.ItemSpec:
    ref, _, columns = value.partition(":")
    return grants.ItemSpec(ref, [c.strip() for c in columns.split(",") if c.strip()] or None)


@command.command("create")
@click.option("--developer", required=True, help="二级开发主体 / developer org")
@click.option("--scenario", required=True, help="应用场景 / application scenario")
@click.option("--purpose", required=True, type=click.Choice(PURPOSES),
              help="public_welfare 公益（免费）/ industry 产业（指导价收费）")
@click.option("--dataset", "datasets", multiple=True, required=True, metavar="NAME[@N][:COLS]",
              help="数据集版本，可限定列 a,b；可重复 / dataset version, optional column list; "
                   "repeatable")
@click.option("--member", "members", multiple=True,
              help="成员（开发主体的用户），可重复 / member user, repeatable")
@click.option("--start", required=True, help="开始 YYYY-MM-DD 或 ISO（UTC）/ start")
@click.option("--end", required=True, help="结束（不含）/ end (exclusive)")
@click.option("--trial-end", help="试运行期结束 / trial period end")
@click.option("--price", help="指导价（产业用途）/ guided price for industry use, e.g. 12000.00")
@click.option("--currency", default="CNY", show_default=True, help="币种 / currency")
@click.option("--operator", help="一级开发主体（多个时必填）/ operator org if more than one")
@json_option
@actor_option
def create(developer: str, scenario: str, purpose: str, datasets: tuple[str, ...],
           members: tuple[str, ...], start: str, end: str, trial_end: str | None,
           price: str | None, currency: str, operator: str | None, as_json: bool,
           actor_name: str) -> None:
    """新建授权（草稿）/ Create a grant in state draft."""
    starts_at, ends_at = parse_when(start, "--start"), parse_when(end, "--end")
    assert starts_at is not None and ends_at is not None  # required options
    with acting(actor_name) as (session, actor):
        grant = grants.create_grant(
            session, actor, developer=developer, scenario=scenario, purpose=purpose,
            items=[_item(d) for d in datasets], members=members, starts_at=starts_at,
            ends_at=ends_at, trial_ends_at=parse_when(trial_end, "--trial-end"), price=price,
            currency=currency, operator=operator)
        value = grants.grant_json(grant)
    if as_json:
        echo_json(value)
    else:
        click.echo(f"grant {value['id']} created (draft) / 已创建授权（草稿）")


def _state_command(action: str, doc: str, needs_reason: bool = False) -> click.Command:
    @click.argument("grant_id", type=int)
    @click.option("--reason", required=needs_reason, default="",
                  help="理由（记入审计）/ reason, recorded in the audit log")
    @click.option("--now", "now_text", hidden=True, help=_NOW_HELP)
    @actor_option
    def run(grant_id: int, reason: str, now_text: str | None, actor_name: str) -> None:
        with acting(actor_name) as (session, actor):
            grant = grants.change_state(session, actor, grant_id, action, reason,
                                        parse_when(now_text, "--now"))
            click.echo(f"grant {grant.id}: {grant.state}")

    run.__doc__ = doc
    return click.command(action)(run)


command.add_command(_state_command("activate", "启用授权 / Activate a draft grant."))
command.add_command(_state_command("suspend", "暂停授权 / Suspend an active grant."))
command.add_command(_state_command("resume", "恢复授权 / Resume a suspended grant."))
command.add_command(_state_command(
    "revoke", "撤销授权（单方终止，需理由）/ Revoke a grant (unilateral termination; reason "
              "required).", needs_reason=True))


@command.command("list")
@click.option("--state", type=click.Choice(GRANT_STATES), help="只列此状态 / only this state")
@click.option("--developer", help="只列此开发主体 / only this developer org")
@json_option
def list_(state: str | None, developer: str | None, as_json: bool) -> None:
    """列出授权（到期者自动转为 expired）/ List grants (past their end: shown as expired)."""
    with reading() as session:
        rows = [grants.grant_json(g) for g in grants.list_grants(session, state, developer)]
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        row["datasets"] = [i["ref"] for i in row["items"]]
        row["starts_at"], row["ends_at"] = row["starts_at"][:10], row["ends_at"][:10]
    echo_table(rows, ["id", "state", "developer", "scenario", "purpose", "starts_at", "ends_at",
                      "datasets", "members"])


@command.command("show")
@click.argument("grant_id", type=int)
@json_option
def show(grant_id: int, as_json: bool) -> None:
    """查看授权 / Show one grant."""
    with reading() as session:
        value = grants.grant_json(grants.get_grant(session, grant_id))
    if as_json:
        echo_json(value)
        return
    for key, item in value.items():
        if key != "items":
            click.echo(f"{key}: {item if item not in (None, '') else '-'}")
    echo_table(value["items"], ["ref", "level", "columns"])


@command.command("usable")
@click.argument("grant_id", type=int)
@click.option("--user", "username", required=True, help="用户 / the user asking")
@click.option("--now", "now_text", help=_NOW_HELP)
@json_option
def usable(grant_id: int, username: str, now_text: str | None, as_json: bool) -> None:
    """某用户此刻在该授权下可用的数据 / What USER may use under the grant right now."""
    with reading() as session:
        rows = [u.to_json() for u in grants.usable_versions(
            session, get_user(session, username), grant_id, parse_when(now_text, "--now"))]
    if as_json:
        echo_json(rows)
    else:
        echo_table(rows, ["ref", "level", "sandbox_view", "columns", "path"])


@command.command("add-member")
@click.argument("grant_id", type=int)
@click.argument("usernames", nargs=-1, required=True)
@actor_option
def add_member(grant_id: int, usernames: tuple[str, ...], actor_name: str) -> None:
    """增加成员 / Add members (users of the developer org) to a grant."""
    with acting(actor_name) as (session, actor):
        grant = grants.set_members(session, actor, grant_id, add=usernames)
        click.echo(f"grant {grant.id}: {len(grant.member_rows)} member(s)")


@command.command("remove-member")
@click.argument("grant_id", type=int)
@click.argument("usernames", nargs=-1, required=True)
@actor_option
def remove_member(grant_id: int, usernames: tuple[str, ...], actor_name: str) -> None:
    """移除成员 / Remove members from a grant."""
    with acting(actor_name) as (session, actor):
        grant = grants.set_members(session, actor, grant_id, remove=usernames)
        click.echo(f"grant {grant.id}: {len(grant.member_rows)} member(s)")


@command.command("expire-due")
@click.option("--now", "now_text", hidden=True, help=_NOW_HELP)
@actor_option
def expire_due(now_text: str | None, actor_name: str) -> None:
    """将已到期授权置为 expired（供定时任务）/ Expire every grant past its end (for a scheduler)."""
    now = parse_when(now_text, "--now") or datetime.now(UTC)
    with acting(actor_name) as (session, actor):
        expired = grants.expire_due(session, actor, now)
        click.echo(f"expired / 已到期: {len(expired)} "
                   f"{' '.join(str(g.id) for g in expired)}".rstrip())


@command.command("transitions")
@json_option
def transitions(as_json: bool) -> None:
    """状态转换表 / The grant state transition table (who may do what)."""
    rows = [{"from": t.state, "action": t.action, "to": t.target, "roles": sorted(t.roles)}
            for t in grants.TRANSITIONS]
    if as_json:
        echo_json(rows)
    else:
        echo_table(rows, ["from", "action", "to", "roles"])
