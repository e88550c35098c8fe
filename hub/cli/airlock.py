"""``enclave airlock``: export requests — submit outbox files, list, show, decide, withdraw, resume.

The states and who may trigger each step come from :data:`hub.airlock.states.TRANSITIONS`
(``enclave airlock transitions`` prints them); every check is in :mod:`hub.airlock.permissions`.
"""

from __future__ import annotations

import click

from hub.airlock import service, states
from hub.cli.common import acting, actor_option, echo_json, echo_table, json_option


@click.group("airlock")
def command() -> None:
    """出域申请 / Export requests (airlock): outbox → quarantine → scan → review → release.

    申请人及其所在组织的人员不得审核 / the requester and anyone in their org can never review.
    """


@command.command("submit")
@click.option("--grant", "grant_id", required=True, type=int, help="授权编号 / grant id")
@click.argument("files", nargs=-1, required=True)
@click.option("--context", default="", help="背景说明（每个文件）/ context for each file")
@click.option("--justification", default="", help="出域理由 / why the files must leave")
@click.option("--notebook-sha256", help="生成文件的笔记本哈希 / producing notebook hash")
@click.option("--image-digest", help="镜像摘要 / image digest")
@json_option
@actor_option
def submit(grant_id: int, files: tuple[str, ...], context: str, justification: str,
           notebook_sha256: str | None, image_digest: str | None, as_json: bool,
           actor_name: str) -> None:
    """提交输出目录中的文件 / Submit FILE names from your outbox (workspaces/USER/GRANT/outbox)."""
    specs = [service.FileSpec(name, context, justification) for name in files]
    with acting(actor_name) as (session, actor):
        request = service.submit_request(session, actor, grant_id, specs,
                                         notebook_sha256=notebook_sha256,
                                         image_digest=image_digest)
        value = service.request_json(actor, request)
    _show(value, as_json)


@command.command("resubmit")
@click.argument("request_id", type=int)
@click.option("--file", "files", multiple=True, help="替换/新增的文件 / file to add or replace")
@click.option("--remove", multiple=True, help="移除的文件 / file to remove")
@click.option("--context", default="", help="背景说明 / context for the given files")
@click.option("--justification", default="", help="出域理由 / justification")
@json_option
@actor_option
def resubmit(request_id: int, files: tuple[str, ...], remove: tuple[str, ...], context: str,
             justification: str, as_json: bool, actor_name: str) -> None:
    """修改退回的申请并重新提交 / Edit a returned (or draft) request and submit it again."""
    with acting(actor_name) as (session, actor):
        if files or remove:
            service.edit_request(session, actor, request_id,
                                 [service.FileSpec(n, context, justification) for n in files],
                                 remove)
        request = service.submit(session, actor, request_id)
        value = service.request_json(actor, request)
    _show(value, as_json)


@command.command("list")
@click.option("--state", type=click.Choice(states.STATES), help="按状态筛选 / filter by state")
@json_option
@actor_option
def list_(state: str | None, as_json: bool, actor_name: str) -> None:
    """列出可见的申请 / List the requests you may see."""
    with acting(actor_name) as (session, actor):
        rows = [service.request_json(actor, r)
                for r in service.list_requests(session, actor, state)]
    if as_json:
        echo_json(rows)
        return
    echo_table([{**r, "files": [f["name"] for f in r["files"]],
                 "reviews": f"{len(r['decisions'])}/{r['required_reviews']}"} for r in rows],
               ["id", "state", "grant", "requester", "round", "reviews", "files", "updated_at"])


@command.command("show")
@click.argument("request_id", type=int)
@json_option
@actor_option
def show(request_id: int, as_json: bool, actor_name: str) -> None:
    """申请详情（审核意见按查看人屏蔽）/ Show a request (decisions blinded for the viewer)."""
    with acting(actor_name) as (session, actor):
        value = service.request_json(actor, service.get_request(session, actor, request_id))
    _show(value, as_json)


@command.command("decide")
@click.argument("request_id", type=int)
@click.option("--decision", required=True, type=click.Choice(states.DECISIONS),
              help="approve 批准 / reject 拒绝 / return 退回修改")
@click.option("--comment", default="", help="给申请人的意见 / comment for the requester")
@click.option("--note", default="", help="审核员内部备注 / private reviewer note")
@json_option
@actor_option
def decide(request_id: int, decision: str, comment: str, note: str, as_json: bool,
           actor_name: str) -> None:
    """审核决定 / Record your review decision (blinded until all reviewers decided)."""
    with acting(actor_name) as (session, actor):
        request = service.decide(session, actor, request_id, decision, comment, note)
        value = service.request_json(actor, request)
    _show(value, as_json)


@command.command("withdraw")
@click.argument("request_id", type=int)
@click.option("--reason", default="", help="理由 / reason")
@actor_option
def withdraw(request_id: int, reason: str, actor_name: str) -> None:
    """撤回申请 / Withdraw your request."""
    with acting(actor_name) as (session, actor):
        request = service.withdraw(session, actor, request_id, reason)
        click.echo(f"request {request.id}: {request.state} / 已撤回")


@command.command("resume")
@json_option
def resume(as_json: bool) -> None:
    """完成中断的步骤（扫描、发布、清理）/ Finish steps a crash left undone (host system)."""
    with acting(None) as (session, _actor):
        report = service.resume(session).to_json()
    if as_json:
        echo_json(report)
    else:
        for key, value in report.items():
            click.echo(f"{key}: {', '.join(map(str, value)) or '-'}")


@command.command("transitions")
def transitions() -> None:
    """状态转换表 / Print the state table (states, actions, who)."""
    click.echo(states.markdown_table())


def _show(value: dict, as_json: bool) -> None:  # type: ignore[type-arg]
    if as_json:
        echo_json(value)
        return
    click.echo(f"request {value['id']}  state {value['state']}  grant {value['grant']}  "
               f"requester {value['requester']}  round {value['round']}  "
               f"reviews needed {value['required_reviews']}")
    if value["state_reason"]:
        click.echo(f"  reason / 原因: {value['state_reason']}")
    for f in value["files"]:
        reasons = [r["code"] for r in (f["scan_report"] or {}).get("reasons", [])]
        click.echo(f"  file {f['name']}  {f['size']} B  sha256 {f['sha256'][:16]}…  "
                   f"verdict {f['verdict'] or '-'}  {' '.join(reasons)}")
    for d in value["decisions"]:
        click.echo(f"  review r{d['round']} {d['reviewer']}: {d['decision']}  {d['comment']}")
    if value["product"]:
        click.echo(f"  product / 产品: {value['product']}")
    if value["allowed_actions"]:
        click.echo(f"  you may / 可执行: {', '.join(value['allowed_actions'])}")
