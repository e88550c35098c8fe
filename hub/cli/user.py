"""``enclave user``: users, their roles and passwords (Argon2id)."""

from __future__ import annotations

import click

from hub import accounts
from hub.cli.common import (
    acting,
    actor_option,
    echo_json,
    echo_table,
    json_option,
    read_password,
    reading,
)
from hub.models import ROLES, User

_STDIN_HELP = "从标准输入读取密码（首行）/ read the password from the first line of stdin"


@click.group("user")
def command() -> None:
    """用户与角色 / Users and roles.

    角色 roles: admin 管理员, analyst 分析人员, reviewer 审核人员, auditor 审计人员,
    provider_steward 数据提供单位联络人. 一个用户可有多个角色 / a user may hold several.
    """


@command.command("add")
@click.argument("username")
@click.option("--org", required=True, help="所属组织 / the user's organization")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES),
              help="角色，可重复 / role, repeatable")
@click.option("--name", "display_name", default="", help="姓名 / display name")
@click.option("--email", default="", help="电子邮箱 / e-mail")
@click.option("--password-stdin", is_flag=True, help=_STDIN_HELP)
@click.option("--no-password", is_flag=True,
              help="暂不设置密码（无法登录）/ no password yet (cannot log in)")
@actor_option
def add(username: str, org: str, roles: tuple[str, ...], display_name: str, email: str,
        password_stdin: bool, no_password: bool, actor_name: str) -> None:
    """新增用户 / Add user USERNAME to an organization with one or more roles."""
    password = None if no_password else read_password(password_stdin)
    with acting(actor_name) as (session, actor):
        user = accounts.add_user(session, actor, username, org, roles, password,
                                 display_name, email)
        click.echo(f"user {user.username} added to {org} / 已新增用户")


def user_json(user: User) -> dict[str, object]:
    return {"username": user.username, "org": user.org.name, "roles": sorted(user.roles),
            "display_name": user.display_name, "email": user.email, "active": user.active,
            "has_password": bool(user.password_hash)}


@command.command("list")
@click.option("--org", help="只列此组织 / only this organization")
@json_option
def list_(org: str | None, as_json: bool) -> None:
    """列出用户 / List users."""
    with reading() as session:
        rows = [user_json(u) for u in accounts.list_users(session, org)]
    if as_json:
        echo_json(rows)
    else:
        echo_table(rows, ["username", "org", "roles", "display_name", "has_password"])


@command.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help=_STDIN_HELP)
@actor_option
def set_password(username: str, password_stdin: bool, actor_name: str) -> None:
    """设置密码 / Set USERNAME's password (admins, or the user themself)."""
    password = read_password(password_stdin)
    with acting(actor_name) as (session, actor):
        accounts.set_password(session, actor, username, password)
    click.echo(f"password of {username} set / 密码已设置")


@command.command("roles")
@click.argument("username")
@click.option("--add", "add_roles", multiple=True, type=click.Choice(ROLES),
              help="增加角色 / add a role")
@click.option("--remove", "remove_roles", multiple=True, type=click.Choice(ROLES),
              help="移除角色 / remove a role")
@json_option
@actor_option
def roles(username: str, add_roles: tuple[str, ...], remove_roles: tuple[str, ...],
          as_json: bool, actor_name: str) -> None:
    """查看或修改角色 / Show USERNAME's roles, or change them with --add/--remove."""
    with acting(actor_name) as (session, actor):
        if add_roles or remove_roles:
            result = accounts.set_roles(session, actor, username, add_roles, remove_roles)
        else:
            result = accounts.get_user(session, username).roles
    if as_json:
        echo_json({"username": username, "roles": sorted(result)})
    else:
        click.echo(f"{username}: {', '.join(sorted(result))}")
