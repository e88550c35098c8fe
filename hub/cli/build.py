"""``enclave build``: batch builds of pinned notebooks on real data, and product contracts.

``-p NAME VALUE`` (repeatable): VALUE is parsed as JSON when it is valid JSON (``3`` → 3,
``true`` → True, ``null`` → None, ``'"3"'`` → "3", ``'[1,2]'`` → a list), else taken as a string.
"""

from __future__ import annotations

import time
from typing import Any

import click

from hub.builds import contracts, params, service, states, worker
from hub.cli.common import acting, actor_option, echo_json, echo_table, json_option, reading
from hub.errors import ValidationError


def _parameters(pairs: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, raw in pairs:
        if name in values:
            raise ValidationError(f"parameter {name!r} given twice", f"参数 {name!r} 重复")
        values[name] = params.parse_cli_value(raw)
    return values


PARAM_OPTION = click.option(
    "-p", "--parameter", "pairs", type=(str, str), multiple=True, metavar="NAME VALUE",
    help="笔记本参数（JSON 或字符串）/ notebook parameter; VALUE is JSON if valid, else a string")


@click.group("build")
def command() -> None:
    """批量构建 / Batch builds: a pinned notebook run with papermill on the grant's REAL data in a
    container with no network; outputs go to the airlock (scan → review → release)."""


@command.command("submit")
@click.argument("notebook")
@click.option("--grant", "grant_id", required=True, type=int, help="授权编号 / grant id")
@PARAM_OPTION
@click.option("--timeout", "timeout_s", type=int, help="超时秒数 / wall-clock limit in seconds")
@json_option
@actor_option
def submit(notebook: str, grant_id: int, pairs: tuple[tuple[str, str], ...],
           timeout_s: int | None, as_json: bool, actor_name: str) -> None:
    """提交构建 / Queue a build of NOTEBOOK (a path in your workspace for the grant)."""
    with acting(actor_name) as (session, actor):
        build = service.submit(session, actor, grant_id, notebook, _parameters(pairs),
                               timeout_s=timeout_s)
        value = service.build_json(build)
    _show(value, as_json)


def _show(value: dict[str, Any], as_json: bool) -> None:
    if as_json:
        echo_json(value)
        return
    for key in ("id", "state", "state_reason", "grant", "requester", "notebook",
                "notebook_sha256", "parameters", "image_digest", "exit_code", "request",
                "review_route", "created_at", "started_at", "finished_at"):
        click.echo(f"{key:16} {value.get(key) if value.get(key) not in (None, '') else '-'}")
    for item in value.get("datasets") or []:
        click.echo(f"{'dataset':16} {item['ref']} ({item['view']}) sha256 {item['content_sha256']}")
    for item in value.get("outputs") or []:
        click.echo(f"{'output':16} {item['name']} {item['size']} B")


@command.command("status")
@click.argument("build_id", type=int)
@json_option
@actor_option
def status(build_id: int, as_json: bool, actor_name: str) -> None:
    """构建状态 / Show a build."""
    with acting(actor_name) as (session, actor):
        value = service.build_json(service.get_build(session, actor, build_id))
    _show(value, as_json)


@command.command("list")
@click.option("--grant", "grant_id", type=int, help="按授权筛选 / filter by grant")
@click.option("--state", type=click.Choice(states.STATES), help="按状态筛选 / filter by state")
@json_option
@actor_option
def list_(grant_id: int | None, state: str | None, as_json: bool, actor_name: str) -> None:
    """列出构建 / List the builds you may see."""
    with acting(actor_name) as (session, actor):
        rows = [service.build_json(b) for b in service.list_builds(session, actor, grant_id, state)]
    if as_json:
        echo_json(rows)
        return
    echo_table(rows, ["id", "state", "grant", "requester", "notebook", "trigger", "request",
                      "created_at"])


@command.command("logs")
@click.argument("build_id", type=int)
@click.option("--follow", "-f", is_flag=True, help="持续输出直到结束 / follow until it ends")
@actor_option
def logs(build_id: int, follow: bool, actor_name: str) -> None:
    """构建日志 / Print a build's log (level-3 builds: notebook output for operator staff only)."""
    shown = 0
    while True:
        with acting(actor_name) as (session, actor):
            build = service.get_build(session, actor, build_id)
            text, done = service.read_log(actor, build), build.state in states.TERMINAL
        click.echo(text[shown:], nl=False)
        shown = len(text)
        if not follow or done:
            return
        time.sleep(0.5)


@command.command("cancel")
@click.argument("build_id", type=int)
@actor_option
def cancel(build_id: int, actor_name: str) -> None:
    """取消构建 / Cancel a queued build or stop a running one."""
    with acting(actor_name) as (session, actor):
        build = service.cancel(session, actor, build_id)
        click.echo(f"build {build.id}: {build.state} {build.state_reason}".rstrip())


@command.command("run-queue")
@click.option("--once", is_flag=True, help="运行一轮后退出 / one pass, then exit")
@click.option("--poll", type=float, default=5.0, show_default=True, help="seconds between passes")
def run_queue(once: bool, poll: float) -> None:
    """运行构建队列（主机）/ Run queued builds and due contracts (host operator)."""
    ran = worker.run_queue(once=once, poll_s=poll)
    with reading() as session:
        from hub.models import Build

        for build_id in ran:
            build = session.get(Build, build_id)
            assert build is not None
            click.echo(f"build {build.id}: {build.state} {build.state_reason}".rstrip())
    if not ran:
        click.echo("no queued builds / 队列为空")


# -- product contracts ----------------------------------------------------------------------------


@command.group("contract")
def contract() -> None:
    """产品约定 / Product contracts: recurring rebuilds reviewed lightly while inside the contract."""


@contract.command("create")
@click.option("--name", required=True, help="产品名称 / product name")
@click.option("--grant", "grant_id", required=True, type=int, help="授权编号 / grant id")
@click.option("--notebook", required=True, help="工作目录中的笔记本 / notebook in your workspace")
@PARAM_OPTION
@click.option("--schedule", required=True, help="daily | weekly | monthly | 'every <N>m|h|d'")
@click.option("--outputs", required=True, help="输出文件模式 / output patterns, 'a_*.csv,b.csv'")
@click.option("--thresholds", multiple=True, help="max_rows=N,max_bytes=N")
@click.option("--timeout", "timeout_s", type=int, help="超时秒数 / wall-clock limit in seconds")
@json_option
@actor_option
def contract_create(name: str, grant_id: int, notebook: str, pairs: tuple[tuple[str, str], ...],
                    schedule: str, outputs: str, thresholds: tuple[str, ...],
                    timeout_s: int | None, as_json: bool, actor_name: str) -> None:
    """提出产品约定并排队首次构建 / Propose a contract and queue its first build."""
    with acting(actor_name) as (session, actor):
        item = contracts.create_contract(
            session, actor, name=name, grant_id=grant_id, notebook=notebook,
            parameters=_parameters(pairs), schedule=schedule, outputs=[outputs],
            thresholds=contracts.parse_thresholds(thresholds), timeout_s=timeout_s)
        value = contracts.contract_json(item)
    echo_json(value) if as_json else click.echo(
        f"contract {value['id']} {value['name']}: {value['state']}, first build "
        f"{value['first_build']}")


@contract.command("approve")
@click.argument("contract_id", type=int)
@json_option
@actor_option
def contract_approve(contract_id: int, as_json: bool, actor_name: str) -> None:
    """批准产品约定（审核员/管理员）/ Approve a contract (operator reviewer or admin)."""
    with acting(actor_name) as (session, actor):
        value = contracts.contract_json(contracts.approve_contract(session, actor, contract_id))
    echo_json(value) if as_json else click.echo(
        f"contract {value['id']} {value['name']}: {value['state']}, next run "
        f"{value['next_run_at']}")


@contract.command("list")
@json_option
def contract_list(as_json: bool) -> None:
    """列出产品约定 / List contracts."""
    from sqlalchemy import select

    from hub.models import BuildContract

    with reading() as session:
        rows = [contracts.contract_json(c)
                for c in session.scalars(select(BuildContract).order_by(BuildContract.id))]
    if as_json:
        echo_json(rows)
        return
    echo_table(rows, ["id", "name", "grant", "owner", "state", "schedule", "next_run_at"])
