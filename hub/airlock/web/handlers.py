"""Tornado handlers of the airlock web app (a JupyterHub service, hub OAuth).

Every handler maps the hub user to an Enclave actor (:func:`hub.accounts.resolve_actor`) and calls
:mod:`hub.airlock.service`; nothing here decides who may do what to a request. The custom scopes
(:mod:`hub.airlock.web.scopes`) only open pages: the service and :mod:`hub.airlock.permissions`
say yes or no. Enclave errors become HTTP statuses in ONE place (:meth:`AirlockHandler.write_error`).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from jupyterhub.services.auth import HubOAuth, HubOAuthenticated
from sqlalchemy import select
from tornado import web

from hub import accounts, grants
from hub.accounts import Actor
from hub.airlock import service
from hub.airlock.web import render
from hub.airlock.web.messages import Lang, message, pick_lang
from hub.airlock.web.scopes import AUDIT, REQUEST, REVIEW
from hub.builds import service as builds_service
from hub.config import paths
from hub.db import session as db_session
from hub.errors import (
    EnclaveError,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    PolicyViolation,
    ValidationError,
)
from hub.models import AirlockRequest, AuditEntry

T = TypeVar("T")

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
STATUS = {PermissionDenied: 403, NotFound: 404, InvalidTransition: 409,
          ValidationError: 400, PolicyViolation: 400}
HISTORY_KEYS = ("from", "to", "round", "files", "file", "verdict", "verdicts", "reasons",
                "required_reviews", "blocked_files", "product", "manifest_sha256", "reason",
                "error")


def enclave_status(exc: EnclaveError) -> int:
    """The HTTP status of an Enclave error (its most specific class wins)."""
    for kind in type(exc).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 500


class AirlockHandler(HubOAuthenticated, web.RequestHandler):
    """Base: security headers, language, the Enclave actor, error pages."""

    lang: Lang = "zh"

    def set_default_headers(self) -> None:
        self.set_header("Content-Security-Policy", CSP)
        self.set_header("X-Frame-Options", "DENY")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Cache-Control", "no-store")

    def prepare(self) -> None:
        query = self.get_query_argument("lang", None)
        self.lang = pick_lang(query, self.get_cookie("lang"))
        if query == self.lang:
            self.set_cookie("lang", self.lang, path=self.settings["prefix"], httponly=True,
                            samesite="Lax")

    # -- who -------------------------------------------------------------------------------

    @property
    def username(self) -> str:
        return self.current_user["name"]

    @property
    def scopes(self) -> set[str]:
        return set(self.current_user.get("scopes") or ())

    def require_scope(self, *wanted: str) -> None:
        """403 unless the hub token holds one of ``wanted`` (opens pages, decides nothing)."""
        if not self.scopes & set(wanted):
            raise web.HTTPError(403, "missing airlock scope")

    def actor(self, db: Any) -> Actor:
        try:
            return accounts.resolve_actor(db, self.username)
        except NotFound as exc:
            raise PermissionDenied(exc.en, exc.zh) from exc

    async def in_thread(self, work: Callable[[Any, Actor], T]) -> T:
        """Run ``work(db, actor)`` in a worker thread (scans and releases take seconds)."""
        def run() -> T:
            with db_session() as db:
                return work(db, self.actor(db))
        return await asyncio.to_thread(run)

    # -- rendering -------------------------------------------------------------------------

    def t(self, key: str, **values: Any) -> str:
        return message(key, self.lang, **values)

    def url(self, *parts: str | int) -> str:
        return self.settings["prefix"] + "/".join(str(p) for p in parts)

    def get_template_namespace(self) -> dict[str, Any]:
        namespace = super().get_template_namespace()
        user = getattr(self, "_current_user", None)  # never start a login from an error page
        namespace.update(t=self.t, lang=self.lang, url=self.url, user=user,
                         hub_home=self.settings["hub_home"], REVIEW=REVIEW, REQUEST=REQUEST,
                         AUDIT=AUDIT, scopes=set(user.get("scopes") or ()) if user else set(),
                         other_lang="en" if self.lang == "zh" else "zh", json=json)
        return namespace

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """The one place errors become pages: Enclave errors keep their bilingual text."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        text = self.t("error_not_found") if status_code == 404 else ""
        if isinstance(exc, EnclaveError):
            status_code = enclave_status(exc)
            self.set_status(status_code)
            text = exc.zh if self.lang == "zh" else exc.en
        elif isinstance(exc, web.HTTPError) and status_code == 403:
            xsrf = "XSRF" in (exc.log_message or "") or "_xsrf" in (exc.log_message or "")
            text = self.t("error_xsrf") if xsrf else self.t("error_forbidden")
        self.render("error.html", status=status_code, text=text)


class QueueHandler(AirlockHandler):
    """Reviewers: what waits for them; analysts: their own requests; staff: everything."""

    @web.authenticated
    def get(self) -> None:
        self.require_scope(REVIEW, REQUEST, AUDIT)
        with db_session() as db:
            actor = self.actor(db)
            views = [service.request_json(actor, r) for r in service.list_requests(db, actor)]
        waiting = [v for v in views if "review" in v["allowed_actions"]]
        mine = [v for v in views if v["requester"] == actor.name]
        everything = views if self.scopes & {REVIEW, AUDIT} else []
        self.render("queue.html", actor=actor, waiting=waiting, mine=mine,
                    everything=everything)


def outbox_files(username: str, grant_id: int) -> list[tuple[str, int]]:
    """Regular, visible files directly in the user's outbox for a grant: (name, size)."""
    folder = paths().workspaces / username / str(grant_id) / "outbox"
    found = []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return []
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
            continue
        found.append((entry.name, entry.stat(follow_symlinks=False).st_size))
    return found


class NewRequestHandler(AirlockHandler):
    """An analyst picks outbox files of an active grant, with context and justification."""

    @web.authenticated
    def get(self) -> None:
        self.require_scope(REQUEST)
        with db_session() as db:
            user = accounts.get_user(db, self.username)
            choices = [(grants.grant_json(g), outbox_files(user.username, g.id))
                       for g in grants.active_grants_for(db, user)]
        self.render("new.html", choices=choices, problem="")

    @web.authenticated
    async def post(self) -> None:
        self.require_scope(REQUEST)
        grant_id = int(self.get_body_argument("grant"))
        count = int(self.get_body_argument("count", "0"))
        specs = []
        for i in range(min(count, 200)):
            if self.get_body_argument(f"pick_{i}", None) is None:
                continue
            specs.append(service.FileSpec(
                name=self.get_body_argument(f"name_{i}"),
                context=self.get_body_argument(f"context_{i}", ""),
                justification=self.get_body_argument(f"justification_{i}", "")))
        if not specs:
            raise ValidationError("files: pick at least one file", "files：请至少选择一个文件")
        notebook = self.get_body_argument("notebook_sha256", "").strip() or None
        request_id = await self.in_thread(lambda db, actor: service.submit_request(
            db, actor, grant_id, specs, notebook_sha256=notebook).id)
        self.redirect(self.url("requests", request_id))


def history(db: Any, actor: Actor, request: AirlockRequest) -> list[dict[str, Any]]:
    """Audit entries of the request; another reviewer's entry stays hidden while blinded."""
    rows = db.scalars(select(AuditEntry).where(
        AuditEntry.object_type == service.OBJECT,
        AuditEntry.object_id == str(request.id)).order_by(AuditEntry.seq))
    out = []
    for row in rows:
        is_review = row.action == "airlock.review"
        if is_review and request.state == "pending_review" and row.actor != actor.name:
            continue  # the decision itself is shown through service.decisions_for only
        details = {} if is_review else json.loads(row.details or "{}")
        out.append({"at": row.at, "actor": row.actor, "action": row.action,
                    "outcome": row.outcome,
                    "details": {k: details[k] for k in HISTORY_KEYS if k in details}})
    return out


class RequestHandler(AirlockHandler):
    """One request: overview, files with previews and findings, decisions, history, actions."""

    @web.authenticated
    def get(self, request_id: str) -> None:
        self.require_scope(REVIEW, REQUEST, AUDIT)
        with db_session() as db:
            actor = self.actor(db)
            request = service.get_request(db, actor, int(request_id))
            view = service.request_json(actor, request)
            grant = grants.grant_json(request.grant)
            rows = {f.id: f for f in request.active_files}
            previews = {f["id"]: render.build_preview(service.quarantine_path(rows[f["id"]]),
                                                      f["name"], f["scan_report"])
                        for f in view["files"]}
            entries = history(db, actor, request)
            build = builds_service.manifest_provenance(db, request.id)  # request already checked
        self.render("request.html", req=view, grant=grant, previews=previews, history=entries,
                    build=build)


class DecideHandler(AirlockHandler):
    """POST a reviewer's decision (the service checks the reviewer, blinding and conflicts)."""

    @web.authenticated
    async def post(self, request_id: str) -> None:
        self.require_scope(REVIEW)
        decision = self.get_body_argument("decision", "")
        comment = self.get_body_argument("comment", "")
        note = self.get_body_argument("private_note", "")
        await self.in_thread(lambda db, actor: service.decide(
            db, actor, int(request_id), decision, comment, note).id)
        self.redirect(self.url("requests", request_id))


class WithdrawHandler(AirlockHandler):
    """POST: the requester withdraws their request."""

    @web.authenticated
    async def post(self, request_id: str) -> None:
        self.require_scope(REQUEST)
        reason = self.get_body_argument("reason", "")
        await self.in_thread(lambda db, actor: service.withdraw(
            db, actor, int(request_id), reason).id)
        self.redirect(self.url("requests", request_id))


class ImageHandler(AirlockHandler):
    """The bytes of a quarantined PNG/JPEG, served only as an image of its real type."""

    @web.authenticated
    def get(self, request_id: str, file_id: str) -> None:
        self.require_scope(REVIEW, REQUEST, AUDIT)
        with db_session() as db:
            request = service.get_request(db, self.actor(db), int(request_id))
            row = next((f for f in request.active_files if f.id == int(file_id)), None)
            if row is None:
                raise NotFound(f"file {file_id} not found", f"未找到文件 {file_id}")
            path, name = service.quarantine_path(row), row.name
        kind = render.image_type(path, name)
        if kind is None:
            raise web.HTTPError(404, "not an image")
        self.set_header("Content-Type", kind)
        self.set_header("Content-Disposition", "inline")
        self.write(path.read_bytes())


class ProductsHandler(AirlockHandler):
    """The product catalog: purpose, files, state (revoked ones stay listed)."""

    @web.authenticated
    def get(self) -> None:
        self.require_scope(REVIEW, REQUEST, AUDIT)
        with db_session() as db:
            products = [service.product_json(p) for p in service.list_products(db)]
        self.render("products.html", products=products)


class DownloadHandler(AirlockHandler):
    """A released file, through :func:`hub.airlock.service.download` (checked and audited)."""

    @web.authenticated
    async def get(self, product_id: str, file_name: str) -> None:
        self.require_scope(REVIEW, REQUEST, AUDIT)
        path: Path = await self.in_thread(lambda db, actor: service.download(
            db, actor, int(product_id), file_name))
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("Content-Disposition",
                        f"attachment; filename*=UTF-8''{quote(file_name, safe='')}")
        self.write(path.read_bytes())


def hub_oauth() -> HubOAuth:
    """The HubOAuth of this service (configured from JupyterHub's environment variables)."""
    return HubOAuth.instance()
