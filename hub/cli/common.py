"""Shared pieces of the control-plane commands: session + actor, output, dates, passwords.

Every command that changes something takes ``--as USER`` (or ``$ENCLAVE_ACTOR``; default
``system``, the operator at the host's shell) and records that actor in the audit log. List and
show commands take ``--json``. Errors are :class:`hub.errors.EnclaveError` subclasses; the
``enclave`` entry point (:mod:`hub.cli.main`) prints them and exits 1.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import click
from sqlalchemy.orm import Session

from hub import db
from hub.accounts import SYSTEM, Actor, resolve_actor
from hub.errors import ValidationError

F = TypeVar("F", bound=Callable[..., Any])


def actor_option(func: F) -> F:
    """``--as USER``: who is acting (recorded in the audit log)."""
    return click.option(
        "--as", "actor_name", envvar="ENCLAVE_ACTOR", default=SYSTEM, show_default=True,
        metavar="USER", help="操作人（记入审计日志）/ acting user, recorded in the audit log "
                             "[env ENCLAVE_ACTOR]",
    )(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True,
                        help="输出 JSON / print JSON")(func)


@contextmanager
def acting(actor_name: str | None) -> Iterator[tuple[Session, Actor]]:
    """A session (committed at the end) and the resolved actor."""
    with db.session() as session:
        yield session, resolve_actor(session, actor_name)


@contextmanager
def reading() -> Iterator[Session]:
    with db.session() as session:
        yield session


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def echo_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """A plain aligned text table (wide characters counted as two columns)."""
    if not rows:
        click.echo("(none / 无)")
        return
    cells = [[_cell(row.get(col)) for col in columns] for row in rows]
    widths = [max(_width(x) for x in [col, *(r[i] for r in cells)]) for i, col in enumerate(columns)]
    click.echo("  ".join(_pad(col, w) for col, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        click.echo("  ".join(_pad(c, w) for c, w in zip(row, widths, strict=True)).rstrip())


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(str(v) for v in value) or "-"
    return str(value)


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def parse_when(value: str | None, field: str) -> datetime | None:
    """``YYYY-MM-DD`` (midnight UTC) or an ISO date-time (UTC if no zone given)."""
    if value is None or value == "":
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationError(f"{field}: {value!r} is not a date (YYYY-MM-DD or ISO 8601)",
                              f"{field}：{value!r} 不是日期（YYYY-MM-DD 或 ISO 8601）") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_password(from_stdin: bool) -> str:
    """The new password: first line of stdin, or typed twice at a hidden prompt."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("密码 / password", hide_input=True, confirmation_prompt=True)
