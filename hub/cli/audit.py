"""``enclave audit``: verify, export and prune the hash-chained audit log."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from hub import audit
from hub.accounts import require
from hub.audit import audited
from hub.cli.common import acting, actor_option, echo_json, json_option, parse_when, reading
from hub.errors import IntegrityError, ValidationError


@click.group("audit")
def command() -> None:
    """审计日志 / Audit log: append-only, hash-chained (可记录、可审计、可追溯).

    日志保留至少 180 天 / entries are kept at least 180 days.
    """


def _anchor(value: str | None) -> tuple[int, str] | None:
    if not value:
        return None
    seq, _, digest = value.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise ValidationError("--anchor: expected SEQ:SHA256 (as printed by 'enclave audit head')",
                              "--anchor：格式应为 SEQ:SHA256（见 enclave audit head）")
    return int(seq), digest.lower()


@command.command("verify")
@click.option("--anchor", help="外部保存的链头 SEQ:HASH / an externally kept head SEQ:HASH")
@json_option
@actor_option
def verify(anchor: str | None, as_json: bool, actor_name: str) -> None:
    """校验日志链 / Verify the chain; exit 1 naming the first bad entry (seq) if tampered."""
    with acting(actor_name) as (session, actor), audited(
        session, actor.name, "audit.verify", "audit_log"
    ) as act:
        require(actor, "audit.verify")
        result = audit.verify(session, _anchor(anchor))
        act.details.update(result.to_json())
        act.outcome = "ok" if result.ok else "error"
    if as_json:
        echo_json(result.to_json())
    if not result.ok:
        raise IntegrityError(f"audit chain broken at {result.problem_en}",
                             f"审计日志链损坏：{result.problem_zh}")
    if not as_json:
        click.echo(f"audit chain intact: {result.checked} entries, head seq {result.head_seq} "
                   "/ 审计日志链完整")


@command.command("head")
def head() -> None:
    """打印链头 SEQ:HASH，请另行保存 / Print the chain head SEQ:HASH to keep elsewhere."""
    with reading() as session:
        seq, digest = audit.head(session)
    click.echo(f"{seq}:{digest}")


@command.command("export")
@click.option("--since", help="起始时间 YYYY-MM-DD 或 ISO / only entries at or after this time")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="输出文件（默认标准输出）/ output file (default stdout)")
@actor_option
def export(since: str | None, output: Path | None, actor_name: str) -> None:
    """导出为 JSON Lines / Export entries as JSON lines (with their hashes)."""
    since_at = parse_when(since, "--since")
    with acting(actor_name) as (session, actor), audited(
        session, actor.name, "audit.export", "audit_log", "",
        {"since": since, "output": str(output or "-")},
    ) as act:
        require(actor, "audit.export")
        if output is None:
            count = audit.export(session, sys.stdout, since_at)
        else:
            with open(output, "w", encoding="utf-8") as handle:
                count = audit.export(session, handle, since_at)
        act.details["entries"] = count
    if output is not None:
        click.echo(f"{count} entries written to {output} / 已导出")


@command.command("prune")
@click.option("--before", required=True, help="删除此前的条目 / delete entries before DATE")
@actor_option
def prune(before: str, actor_name: str) -> None:
    """清理旧日志（180 天内的拒绝）/ Delete entries before DATE; refused within 180 days."""
    before_at = parse_when(before, "--before") or datetime.now(UTC)
    with acting(actor_name) as (session, actor):
        count = audit.prune(session, actor.name, before_at,
                            authorize=lambda: require(actor, "audit.prune"))
    click.echo(f"{count} entries pruned / 已清理")
