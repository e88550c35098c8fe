"""The spawn form: the user's active grants, in zh-CN with English beside it.

Each grant has its own named server ``g<grant id>``. On that server's spawn page the form shows
the grant (pre-selected) with its datasets; on any other page it lists links to each grant's
server. What the form posts is still untrusted: :class:`~hub.sandbox.spawner.GrantedDockerSpawner`
checks it again at spawn.

Public API::

    grant_choices(username) -> list[GrantChoice]
    render_options_form(spawner) -> str        (async; JupyterHub's ``options_form`` callable)
    options_from_form(formdata) -> dict         ({"grant": "<id>"})
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from html import escape
from typing import Any

from hub.accounts import get_user
from hub.db import session as db_session
from hub.errors import NotFound
from hub.grants import active_grants_for, usable_versions
from hub.levels import get as get_level


@dataclass(frozen=True)
class GrantChoice:
    """One grant the user can open a sandbox for now."""

    grant_id: int
    scenario: str
    purpose: str
    ends_at: str
    datasets: tuple[str, ...]  # "travel_records@1 (3级 · 合成孪生 twin)"


def grant_choices(username: str) -> list[GrantChoice]:
    """The user's active grants with what each would mount (empty for unknown users)."""
    with db_session() as db:
        try:
            user = get_user(db, username)
        except NotFound:
            return []
        choices = []
        for grant in active_grants_for(db, user):
            shown = []
            for item in usable_versions(db, user, grant):
                level = get_level(item.level)
                view = "合成孪生 twin" if item.sandbox_view == "twin" else "真实 real"
                cols = f"，{len(item.columns)} 列 columns" if item.restricted else ""
                shown.append(f"{item.ref}（{level.number}级 {level.zh} · {view}{cols}）")
            choices.append(GrantChoice(grant.id, grant.scenario, grant.purpose,
                                       f"{grant.ends_at:%Y-%m-%d}", tuple(shown)))
        return choices


def _choice_html(choice: GrantChoice, checked: bool) -> str:
    datasets = "".join(f"<li>{escape(d)}</li>" for d in choice.datasets)
    return (
        '<div class="radio" style="margin-bottom:1em">'
        f'<label><input type="radio" name="grant" value="{choice.grant_id}"'
        f'{" checked" if checked else ""}> '
        f"<strong>授权 Grant {choice.grant_id}</strong>：{escape(choice.scenario)} "
        f"（{escape(choice.purpose)}，有效至 valid until {escape(choice.ends_at)}）</label>"
        f"<ul>{datasets}</ul></div>"
    )


def _links_html(username: str, choices: list[GrantChoice]) -> str:
    items = "".join(
        f'<li><a href="{escape(f"../../spawn/{username}/g{c.grant_id}")}">'
        f"g{c.grant_id} — {escape(c.scenario)}</a></li>" for c in choices)
    return ("<p>每个授权使用独立的服务器，请选择：/ Each grant has its own server; pick one:</p>"
            f"<ul>{items}</ul>")


def form_html(username: str, server_name: str, choices: list[GrantChoice]) -> str:
    """The form body for ``server_name`` (pure; :func:`render_options_form` feeds it)."""
    if not choices:
        return ("<p>您目前没有可用的授权。/ You have no active grant right now.</p>"
                '<input type="hidden" name="grant" value="">')
    wanted = server_name[1:] if server_name.startswith("g") else ""
    match = [c for c in choices if str(c.grant_id) == wanted]
    if not match:
        return _links_html(username, choices)
    return ("<p>选择要在本沙箱中使用的授权 / Grant used in this sandbox:</p>"
            + _choice_html(match[0], checked=True)
            + "<p>沙箱无网络出口；导出文件须经审核。/ No network egress; exports are reviewed.</p>")


async def render_options_form(spawner: Any) -> str:
    """JupyterHub ``options_form`` callable (the database is read in a worker thread)."""
    choices = await asyncio.to_thread(grant_choices, spawner.user.name)
    return form_html(spawner.user.name, spawner.name or "", choices)


def options_from_form(formdata: dict[str, list[str]]) -> dict[str, str]:
    """Keep only the grant id (as posted; validated at spawn)."""
    values = formdata.get("grant") or [""]
    return {"grant": str(values[0])[:20]}
