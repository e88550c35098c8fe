"""The "批处理构建 / Builds" pages of the airlock web app (batch builds, :mod:`hub.builds`).

====================================  =========================================================
``/builds``                           analysts: submit a notebook of a grant workspace as a
                                      build (POST); everyone with access: the builds they may see
``/builds/<id>``                      one build: state, notebook hash, parameters, image digest,
                                      dataset versions, log tail, the export request it made
``/builds/<id>/cancel`` (POST)        cancel a queued or running build
====================================  =========================================================

As everywhere in this app, :mod:`hub.builds.service` decides: who may submit (an analyst who is
a member of the active grant), which notebook path is acceptable, which parameters are valid,
who sees a build and how much of its log. The handlers only parse the form and render.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tornado import web

from hub import accounts, grants
from hub.airlock.web.handlers import AirlockHandler
from hub.airlock.web.scopes import AUDIT, REQUEST, REVIEW
from hub.builds import params
from hub.builds import service as builds
from hub.builds.states import TERMINAL
from hub.config import paths
from hub.db import session as db_session
from hub.errors import EnclaveError, ValidationError

MAX_NOTEBOOKS = 200
MAX_DEPTH = 4
MAX_PARAM_ROWS = 50
LOG_TAIL_LINES = 200
REFRESH_S = 3  # a page of an unfinished build reloads itself (meta refresh: no script needed)


def workspace_notebooks(username: str, grant_id: int) -> list[str]:
    """``.ipynb`` files under the user's workspace for a grant, relative paths, sorted.

    Hidden entries (``.ipynb_checkpoints`` …) and the outbox are skipped, symbolic links are
    never followed; at most :data:`MAX_NOTEBOOKS` files, :data:`MAX_DEPTH` folders deep. The
    list is a convenience: :func:`hub.builds.service.submit` checks the chosen path again.
    """
    root = paths().workspaces / username / str(grant_id)
    found: list[str] = []

    def walk(folder: Path, depth: int) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            if len(found) >= MAX_NOTEBOOKS or entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                if depth < MAX_DEPTH and not (depth == 0 and entry.name == "outbox"):
                    walk(Path(entry.path), depth + 1)
            elif entry.name.endswith(".ipynb") and entry.is_file(follow_symlinks=False):
                found.append(Path(entry.path).relative_to(root).as_posix())

    walk(root, 0)
    return sorted(found)


def parse_parameters(rows: list[tuple[str, str]], as_json: str) -> dict[str, Any]:
    """Parameters from name/value rows (values as on the CLI: JSON if it parses, else text)
    and/or a JSON object; a name given twice is refused. The service validates the result."""
    values: dict[str, Any] = {}
    text = as_json.strip()
    if text:
        try:
            loaded = json.loads(text)
        except ValueError as exc:
            raise ValidationError(f"parameters: not valid JSON ({exc.msg})",
                                  f"参数：不是合法的 JSON（{exc.msg}）") from exc
        if not isinstance(loaded, dict):
            raise ValidationError("parameters: the JSON must be an object {\"name\": value}",
                                  "参数：JSON 必须是对象 {\"名称\": 值}")
        values.update(loaded)
    for name, raw in rows:
        name = name.strip()
        if not name and not raw.strip():
            continue
        if name in values:
            raise ValidationError(f"parameter {name!r}: given twice", f"参数 {name!r}：重复给出")
        values[name] = params.parse_cli_value(raw)
    return values


def log_tail(text: str, lines: int = LOG_TAIL_LINES) -> tuple[str, int]:
    """The last ``lines`` lines of a log and how many lines it has in all."""
    split = text.splitlines()
    return "\n".join(split[-lines:]), len(split)


class BuildsHandler(AirlockHandler):
    """GET: the submit form (analysts) and the builds list; POST: submit a build."""

    @web.authenticated
    def get(self) -> None:
        self.require_scope(REQUEST, REVIEW, AUDIT)
        self.render_page()

    def render_page(self, problem: str = "", form: dict[str, Any] | None = None) -> None:
        with db_session() as db:
            actor = self.actor(db)
            rows = [builds.build_json(b) for b in builds.list_builds(db, actor)]
            choices = []
            if REQUEST in self.scopes and "analyst" in actor.roles:
                user = accounts.get_user(db, actor.name)
                choices = [(grants.grant_json(g), workspace_notebooks(user.username, g.id))
                           for g in grants.active_grants_for(db, user)]
        self.render("builds.html", builds=rows, choices=choices, problem=problem,
                    form=form or {}, param_rows=3)

    @web.authenticated
    async def post(self) -> None:
        self.require_scope(REQUEST)
        form = {"grant": self.get_body_argument("grant", ""),
                "notebook": self.get_body_argument("notebook", ""),
                "parameters_json": self.get_body_argument("parameters_json", "")}
        try:
            grant_id = _int_field(form["grant"], "grant", "授权")
            rows = [(self.get_body_argument(f"param_name_{i}", ""),
                     self.get_body_argument(f"param_value_{i}", ""))
                    for i in range(MAX_PARAM_ROWS)]
            values = parse_parameters(rows, form["parameters_json"])
            build_id = await self.in_thread(lambda db, actor: builds.submit(
                db, actor, grant_id, form["notebook"], values).id)
        except EnclaveError as exc:  # the service's own bilingual words, next to the form
            self.set_status(400)
            self.render_page(exc.zh if self.lang == "zh" else exc.en, form)
            return
        self.redirect(self.url("builds", build_id))


def _int_field(value: str, en: str, zh: str) -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise ValidationError(f"{en}: pick one", f"{zh}：请选择") from exc


class BuildHandler(AirlockHandler):
    """One build, as :func:`hub.builds.service.get_build` lets the actor see it."""

    @web.authenticated
    def get(self, build_id: str) -> None:
        self.require_scope(REQUEST, REVIEW, AUDIT)
        with db_session() as db:
            actor = self.actor(db)
            build = builds.get_build(db, actor, int(build_id))
            view = builds.build_json(build)
            tail, total = log_tail(builds.read_log(actor, build))
            may_cancel = build.state not in TERMINAL and (
                build.requester_id == actor.user_id or "admin" in actor.roles)
        self.render("build.html", b=view, log=tail, log_lines=total, may_cancel=may_cancel,
                    refresh=REFRESH_S if view["state"] not in TERMINAL else 0)


class BuildCancelHandler(AirlockHandler):
    """POST: cancel (the service decides who may, and from which state)."""

    @web.authenticated
    async def post(self, build_id: str) -> None:
        self.require_scope(REQUEST, REVIEW, AUDIT)
        await self.in_thread(lambda db, actor: builds.cancel(db, actor, int(build_id)).id)
        self.redirect(self.url("builds", build_id))


ROUTES = [
    (r"builds", BuildsHandler),
    (r"builds/(\d+)", BuildHandler),
    (r"builds/(\d+)/cancel", BuildCancelHandler),
]
