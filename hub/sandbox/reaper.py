"""Revocation and expiry, enforced inside the hub every ~2 s.

Each tick (:meth:`Reaper.tick`):

1. every running sandbox whose grant no longer yields usable versions for its user — revoked,
   suspended, expired, member removed, user disabled — or whose usable versions changed, is
   stopped: its route is removed from the proxy and the spawner stops it (``remove=True``: the
   container and its mounts are gone; the sandbox network is removed);
2. every workspace of a revoked or expired grant (all users) is destroyed irreversibly with
   :func:`hub.destruction.destroy_tree`, and a ``workspace.destroy`` entry (files, bytes, paths,
   time, method) goes to the audit log; open export requests of such grants are cancelled and
   their quarantine copies destroyed (:func:`hub.airlock.service.cancel_ended_grants`).
   Suspension keeps the workspace (the grant may resume);
3. every 15th tick the host firewall is re-asserted (:func:`hub.sandbox.network.install_rules`).

Why a loop in the hub rather than a hook in ``enclave grant revoke``: the CLI runs in another
process and may not even be on the hub's host; expiry has no event at all. The loop makes both
take effect within a few seconds (acceptance: 10 s).

Limits of "irreversible" (documented in docs/sandbox.md): file contents are overwritten in place
(zeros, then fsync) before unlinking, which defeats reading the old blocks through the file
system. On SSDs (wear levelling, over-provisioning), copy-on-write or log-structured file systems
(btrfs, ZFS, overlayfs upper layers, some journals) and in snapshots or backups, old blocks can
survive; for those, encrypt the workspaces volume per grant and destroy the key (crypto-erase).

Public API::

    DestructionReport(root, files, bytes, paths, skipped, started_at, finished_at)
    destroy_tree(root) -> DestructionReport        # never follows symlinks
    destroy_grant_workspaces(grant_id, actor="system", reason="") -> list[DestructionReport]
    Reaper(app, interval=2.0)  .start()  .stop()  await .tick()
    start_in_hub(interval=2.0) -> None              # from jupyterhub_config.py
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hub.audit import record
from hub.config import paths
from hub.db import session as db_session
from hub.destruction import DestructionReport, destroy_tree
from hub.grants import refresh_state, usable_versions
from hub.models import Grant, User
from hub.sandbox import network

log = logging.getLogger("enclave.reaper")
TERMINAL_STATES = ("revoked", "expired")


def grant_workspaces(grant_id: int) -> list[Path]:
    """``<workspaces>/*/<grant_id>`` for every user."""
    root = paths().workspaces
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob(f"*/{int(grant_id)}") if p.is_dir() or p.is_symlink())


def destroy_grant_workspaces(grant_id: int, actor: str = "system",
                             reason: str = "") -> list[DestructionReport]:
    """Destroy every workspace of ``grant_id`` and audit each destruction."""
    reports = []
    for workspace in grant_workspaces(grant_id):
        username = workspace.parent.name
        try:
            report = destroy_tree(workspace)
            outcome = "ok" if not report.skipped else "error"
        except OSError as exc:
            report = DestructionReport(root=str(workspace), skipped=[str(exc)])
            outcome = "error"
        with db_session() as db:
            record(db, actor, "workspace.destroy", "grant", grant_id, outcome,
                   {"user": username, "reason": reason, **report.to_json()})
        reports.append(report)
    return reports


def _cancel_export_requests() -> list[int]:
    """Open export requests of ended grants are cancelled and their quarantine destroyed."""
    from hub.airlock.service import cancel_ended_grants

    with db_session() as db:
        return cancel_ended_grants(db)


# -- the loop -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Running:
    username: str
    server: str
    grant_id: int | None
    datasets: tuple[str, ...]


def _verdicts(running: list[_Running]) -> tuple[list[tuple[_Running, str]], dict[int, str]]:
    """Which sandboxes must stop (and why) and which grants are over (id -> state)."""
    stop: list[tuple[_Running, str]] = []
    with db_session() as db:
        for item in running:
            if item.grant_id is None:
                stop.append((item, "no grant recorded"))
                continue
            usable = usable_versions(db, item.username, item.grant_id) if _user_exists(
                db, item.username) else []
            if not usable:
                grant = db.get(Grant, item.grant_id)
                stop.append((item, f"grant {getattr(grant, 'state', 'missing')} or not usable"))
            elif tuple(u.ref for u in usable) != item.datasets:
                stop.append((item, "granted dataset versions changed"))
        # grants past their end that nobody has looked at yet become expired (and audited)
        for grant in db.scalars(select(Grant).where(Grant.state.in_(("active", "suspended")))):
            refresh_state(db, grant)
        over = {g.id: g.state for g in db.scalars(select(Grant).where(
            Grant.state.in_(TERMINAL_STATES)))}
    return stop, over


def _user_exists(db: Any, username: str) -> bool:
    return db.scalars(select(User.id).where(User.username == username)).first() is not None


class Reaper:
    """Stops sandboxes whose grant is no longer usable; destroys workspaces of ended grants."""

    def __init__(self, app: Any, interval: float = 2.0) -> None:
        self.app, self.interval = app, interval
        self.log = getattr(app, "log", log)  # JupyterHub's logger: shows in the hub's log
        self._task: asyncio.Task[None] | None = None
        self._ticks = 0

    def running(self) -> list[_Running]:
        found = []
        for user in list(self.app.users.values()):
            for name, spawner in list(user.spawners.items()):
                if spawner.active and spawner.pending != "stop":
                    grant = getattr(spawner, "grant_id", None)
                    refs = tuple(getattr(spawner, "dataset_refs", ()) or ())
                    found.append(_Running(user.name, name, grant, refs))
        return found

    firewall_every = 15  # ticks between re-checks of the host firewall (cheap when intact)

    async def tick(self) -> None:
        """One pass: stop what must stop, then destroy ended grants' workspaces."""
        self._ticks += 1
        if self._ticks % self.firewall_every == 1:
            # someone flushing iptables must not leave sandboxes open until the next restart
            changed = await asyncio.to_thread(network.install_rules, self.app.hub_port)
            if changed and self._ticks > 1:
                self.log.warning("reaper: sandbox firewall was altered; restored %s", changed)
        running = [r for r in self.running() if r.grant_id is not None or r.server]
        stop, over = await asyncio.to_thread(_verdicts, running)
        for item, why in stop:
            await self._stop(item, why)
        busy = {r.grant_id for r in self.running()}
        await asyncio.to_thread(_cancel_export_requests)
        for grant_id, state in over.items():
            if grant_id in busy or not grant_workspaces(grant_id):
                continue
            await asyncio.to_thread(destroy_grant_workspaces, grant_id, "system",
                                    f"grant {state}")

    async def _stop(self, item: _Running, why: str) -> None:
        user = self.app.users[item.username]
        spawner = user.spawners.get(item.server)
        if spawner is None or spawner.pending:
            return
        self.log.warning("reaper: stopping %s/%s: %s", item.username, item.server, why)
        spawner.stop_reason = f"reaper: {why}"
        try:
            await self.app.proxy.delete_user(user, item.server)
        except Exception:  # the route may already be gone; stopping matters more
            self.log.exception("reaper: could not remove proxy route of %s/%s", item.username,
                          item.server)
        await user.stop(item.server)

    async def _loop(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                self.log.exception("reaper tick failed")
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None


async def _wait_and_start(interval: float) -> None:
    from jupyterhub.app import JupyterHub

    while True:  # the app object exists once config is loaded; users once init is done
        await asyncio.sleep(0.5)
        if JupyterHub.initialized():
            app = JupyterHub.instance()
            if getattr(app, "users", None) is not None and getattr(app, "proxy", None):
                break
    reaper = Reaper(app, interval)
    app._enclave_reaper = reaper
    reaper.start()
    reaper.log.info("Enclave reaper started (every %.1f s)", interval)


def start_in_hub(interval: float = 2.0) -> None:
    """Schedule the reaper from ``jupyterhub_config.py`` (JupyterHub loads config in its loop)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # e.g. `jupyterhub --help-all`: no hub is starting
        return
    loop.create_task(_wait_and_start(interval))
