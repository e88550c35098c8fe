"""GrantedDockerSpawner: one hardened, no-egress container per (user, grant).

At spawn the grant id comes from ``user_options`` — UNTRUSTED (anyone with the user's token can
POST anything to the REST API) — and from the named server (``g<grant_id>``; both must agree).
:func:`hub.grants.usable_versions` decides what the user may use under it right now; an empty
answer (not a member, draft, suspended, expired, revoked, unknown) is a 403 with a zh-CN/en
message, audited as ``sandbox.spawn`` / ``refused``. Otherwise the container gets:

* ``/data/<dataset>/`` read-only for each usable version (real for levels 1-2, the synthetic twin
  for level 3, a column projection when the grant names a subset; :mod:`hub.sandbox.mounts`),
  also visible in JupyterLab as ``~/data/<dataset>/``, and ``/data/README.md`` describing the
  grant;
* ``~/work`` = ``<workspaces>/<user>/<grant>/`` (writable, with ``outbox/``);
* its own ``--internal`` network and the host firewall of :mod:`hub.sandbox.network`: it can
  reach the hub API and nothing else;
* uid 1000, all capabilities dropped, ``no-new-privileges``, a read-only root file system with
  tmpfs for ``/tmp`` and the home folder, memory/CPU/pids limits, no Docker socket, no host path
  but the ones above; ``remove=True`` so a restart never reuses old mounts.

Docker labels ``enclave.user``, ``enclave.grant``, ``enclave.datasets`` name what runs. Spawns,
stops and refusals are audited with the mounted dataset versions.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from dockerspawner import DockerSpawner
from tornado import web
from tornado.httpclient import AsyncHTTPClient
from traitlets import Bool, Dict, Integer, Unicode, default

from hub import grants as grant_rules
from hub.accounts import get_user
from hub.audit import record
from hub.config import paths
from hub.db import session as db_session
from hub.errors import EnclaveError, NotFound
from hub.sandbox import form, network
from hub.sandbox.mounts import (
    DataMount,
    ensure_workspace,
    grant_readme,
    plan_data_mounts,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVER_NAME = re.compile(r"^g([1-9][0-9]{0,9})$")
GRANT_OPTION = re.compile(r"^\s*([1-9][0-9]{0,9})\s*$")


def recorded_image(name: str = "notebook") -> str:
    """The tag ``images/build.sh`` recorded for ``name`` (``images/.built/<name>.tag``)."""
    env = os.environ.get("ENCLAVE_NOTEBOOK_IMAGE")
    if env:
        return env
    tag_file = REPO_ROOT / "images" / ".built" / f"{name}.tag"
    if tag_file.is_file():
        tag = tag_file.read_text(encoding="utf-8").strip()
        if tag:
            return tag
    return f"enclave-{name}:latest"


class SpawnRefused(web.HTTPError):
    """HTTP 403 whose message carries zh-CN and en (JupyterHub relays it to the user)."""

    def __init__(self, en: str, zh: str) -> None:
        super().__init__(403, log_message=f"{zh} / {en}", reason="Forbidden")
        self.en, self.zh = en, zh
        self.jupyterhub_message = f"{zh} / {en}"  # shown on the spawn-pending page


def deployment_id() -> str:
    """Eight hex digits naming this deployment (its ENCLAVE_HOME) in Docker object names."""
    return hashlib.sha256(str(paths().home).encode()).hexdigest()[:8]


class GrantedDockerSpawner(DockerSpawner):
    """DockerSpawner that mounts only what the picked grant allows, on a no-egress network."""

    image = Unicode(
        help="Notebook image; default: the tag recorded by images/build.sh "
             "(images/.built/notebook.tag) or $ENCLAVE_NOTEBOOK_IMAGE.",
    ).tag(config=True)

    @default("image")
    def _default_image(self) -> str:
        return recorded_image("notebook")

    container_uid = Integer(1000, help="uid:gid the container runs as (the image's analyst).",
                            ).tag(config=True)
    container_gid = Integer(1000, help="Group id of the container user.").tag(config=True)
    container_home = Unicode("/home/analyst", help="Home folder in the image (a tmpfs at run "
                             "time; the JupyterLab root).").tag(config=True)
    data_root = Unicode("/data", help="Where granted datasets appear, one folder per dataset."
                        ).tag(config=True)
    pids_limit = Integer(512, help="Maximum number of processes in the container.",
                         ).tag(config=True)
    tmp_size = Unicode("512m", help="Size of the /tmp tmpfs.").tag(config=True)
    home_size = Unicode("256m", help="Size of the home-folder tmpfs (work/ is a bind mount "
                        "and not counted).").tag(config=True)
    subnet_pool = Unicode(network.DEFAULT_POOL, help="Address pool carved into one small "
                          "subnet per sandbox network.").tag(config=True)
    subnet_prefixlen = Integer(network.DEFAULT_PREFIXLEN, help="Prefix length of each sandbox "
                               "subnet (/28 = 16 addresses).").tag(config=True)
    per_sandbox_network = Bool(True, help="Give each sandbox its own --internal network "
                               "(required for the no-egress design; see network.py)."
                               ).tag(config=True)
    extra_labels = Dict(help="More Docker labels for sandbox containers.").tag(config=True)

    # -- defaults that make DockerSpawner safe here -------------------------------------------

    @default("remove")
    def _default_remove(self) -> bool:
        return True  # never restart a stopped container with stale mounts

    @default("pull_policy")
    def _default_pull_policy(self) -> str:
        return "never"  # no registry: images are built locally

    @default("mem_limit")
    def _default_mem_limit(self) -> int:
        return 2 * 1024**3

    @default("cpu_limit")
    def _default_cpu_limit(self) -> float:
        return 1.0

    @default("notebook_dir")
    def _default_notebook_dir(self) -> str:
        return self.container_home

    @default("server_token_scopes")
    def _default_server_token_scopes(self) -> list[str]:
        # the token sits in the kernel's environment: activity reporting only
        return ["users:activity!user"]

    @default("options_form")
    def _default_options_form(self) -> Any:
        return form.render_options_form

    @default("options_from_form")
    def _default_options_from_form(self) -> Any:
        return form.options_from_form

    # -- per-spawn state ----------------------------------------------------------------------

    grant_id: int | None = None
    mounted: list[DataMount] = []  # noqa: RUF012 - replaced per instance in start()
    sandbox_network: network.SandboxNetwork | None = None
    stop_reason = "user"

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)
        self.grant_id = state.get("enclave_grant")
        self._state_network = state.get("enclave_network")
        self._state_datasets = state.get("enclave_datasets", [])

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        if self.grant_id is not None:
            state["enclave_grant"] = self.grant_id
            state["enclave_datasets"] = self.dataset_refs
        if self.sandbox_network is not None:
            state["enclave_network"] = self.sandbox_network.name
        return state

    def clear_state(self) -> None:
        super().clear_state()
        self.grant_id, self.mounted, self.sandbox_network = None, [], None
        self._state_network, self._state_datasets = None, []

    @property
    def dataset_refs(self) -> list[str]:
        if self.mounted:
            return [m.ref for m in self.mounted]
        return list(getattr(self, "_state_datasets", []) or [])

    # -- the grant ----------------------------------------------------------------------------

    @default("prefix")
    def _default_prefix(self) -> str:
        # Container names carry the deployment, so two Enclave hubs on one Docker engine (e.g.
        # parallel test runs, or staging beside production) never fight over jupyter-<user>--g1.
        return f"enclave-{deployment_id()}"

    def _network_key(self) -> str:
        return f"{deployment_id()}/{self.user.name}/{self.name}"

    def requested_grant(self) -> int:
        """The grant id from ``user_options`` and the server name, or :class:`SpawnRefused`."""
        raw = (self.user_options or {}).get("grant")
        by_option = GRANT_OPTION.match(str(raw)) if isinstance(raw, (str, int)) else None
        by_name = SERVER_NAME.match(self.name or "")
        if raw in ("", None):
            raw = None
        if raw is not None and by_option is None:
            raise SpawnRefused(f"user_options.grant {str(raw)[:40]!r} is not a grant id",
                               f"user_options.grant {str(raw)[:40]!r} 不是有效的授权编号")
        if not self.name:
            raise SpawnRefused(
                "start one server per grant: use the server named g<grant id> "
                "(e.g. /hub/spawn/<user>/g1)",
                "每个授权使用一个独立服务器：请启动名为 g<授权编号> 的服务器（如 /hub/spawn/<用户>/g1）")
        if by_name is None:
            raise SpawnRefused(f"server name {self.name[:40]!r} must be g<grant id>",
                               f"服务器名 {self.name[:40]!r} 须为 g<授权编号>")
        grant_id = int(by_name.group(1))
        if by_option is not None and int(by_option.group(1)) != grant_id:
            raise SpawnRefused(
                f"user_options.grant {by_option.group(1)} does not match server {self.name}",
                f"user_options.grant {by_option.group(1)} 与服务器 {self.name} 不一致")
        return grant_id

    def _authorize(self, grant_id: int) -> tuple[list[DataMount], dict[str, Any]]:
        """Ask the control plane (in a worker thread): mounts and grant facts, or refuse."""
        with db_session() as db:
            try:
                user = get_user(db, self.user.name)
            except NotFound:
                user = None
            grant = db.get(grant_rules.Grant, grant_id)
            usable = grant_rules.usable_versions(db, user, grant) if user and grant else []
            if not usable:
                raise self._refusal(grant, user)
            mounts = plan_data_mounts(db, usable)
            facts = {"scenario": grant.scenario, "readme": grant_readme(grant, mounts,
                                                                        self.data_root)}
            return mounts, facts

    @staticmethod
    def _refusal(grant: Any, user: Any) -> SpawnRefused:
        if grant is None or user is None or user.id not in grant.member_ids:
            gid = getattr(grant, "id", "?")
            return SpawnRefused(f"grant {gid} does not exist or you are not a member of it",
                                f"授权 {gid} 不存在，或您不是该授权的成员")
        if not user.active:
            return SpawnRefused("your account is disabled", "您的账号已停用")
        return SpawnRefused(
            f"grant {grant.id} is {grant.state} and cannot be used now (term "
            f"{grant.starts_at:%Y-%m-%d} – {grant.ends_at:%Y-%m-%d})",
            f"授权 {grant.id} 当前状态为 {grant.state}，不可使用（期限 "
            f"{grant.starts_at:%Y-%m-%d} 至 {grant.ends_at:%Y-%m-%d}）")

    def _audit(self, action: str, outcome: str, details: dict[str, Any],
               actor: str | None = None) -> None:
        with db_session() as db:
            record(db, actor or self.user.name, action, "sandbox",
                   f"{self.user.name}/{self.name}", outcome, details)

    # -- container config ---------------------------------------------------------------------

    def _readme_file(self, text: str) -> Path:
        folder = paths().home / "hub" / "sandboxes" / self.user.name / (self.name or "default")
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "README.md"
        if target.exists():
            os.chmod(target, 0o644)
        target.write_text(text, encoding="utf-8")
        os.chmod(target, 0o444)
        return target

    def _mount_list(self, work: Path, readme: Path) -> list[dict[str, Any]]:
        ro = [{"type": "bind", "source": str(readme), "target": f"{self.data_root}/README.md",
               "read_only": True}]
        for m in self.mounted:
            for target in (f"{self.data_root}/{m.dataset}", f"{self.container_home}/data/"
                           f"{m.dataset}"):
                ro.append({"type": "bind", "source": str(m.source), "target": target,
                           "read_only": True})
        rw = [{"type": "bind", "source": str(work), "target": f"{self.container_home}/work",
               "read_only": False}]
        return ro + rw

    def _host_config(self) -> dict[str, Any]:
        assert self.sandbox_network is not None
        uid, gid = self.container_uid, self.container_gid
        tmpfs_opts = f"rw,nosuid,nodev,noexec,uid={uid},gid={gid},mode=0700"
        return {
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges:true"],
            "read_only": True,
            "privileged": False,
            "pids_limit": self.pids_limit,
            "tmpfs": {
                "/tmp": f"{tmpfs_opts.replace(',noexec', '')},size={self.tmp_size}",
                self.container_home: f"{tmpfs_opts},size={self.home_size}",
            },
            "network_mode": self.sandbox_network.name,
            "dns": network.sandbox_dns(self.sandbox_network),
            "dns_search": ["invalid"],
            "dns_opt": ["timeout:1", "attempts:1"],
            "sysctls": {"net.ipv6.conf.all.disable_ipv6": "1"},
            "ipc_mode": "private",
        }

    def _labels(self) -> dict[str, str]:
        return {"enclave.user": self.user.name, "enclave.grant": str(self.grant_id),
                "enclave.datasets": ",".join(self.dataset_refs),
                "enclave.home": str(paths().home), **self.extra_labels}

    def get_env(self) -> dict[str, str]:
        env = super().get_env()
        env.update({
            "HOME": self.container_home,
            "ENCLAVE_GRANT_ID": str(self.grant_id or ""),
            "ENCLAVE_GRANT_SCENARIO": getattr(self, "_scenario", ""),
            "ENCLAVE_DATASETS": ",".join(self.dataset_refs),
            "ENCLAVE_DATA_DIR": self.data_root,
        })
        return env

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> Any:
        began = time.monotonic()
        try:
            self.grant_id = self.requested_grant()
            self.mounted, facts = await asyncio.to_thread(self._authorize, self.grant_id)
        except (SpawnRefused, EnclaveError) as exc:
            refusal = exc if isinstance(exc, SpawnRefused) else SpawnRefused(exc.en, exc.zh)
            await asyncio.to_thread(self._audit, "sandbox.spawn", "refused", {
                "grant": self.grant_id, "user_options": _clip(self.user_options),
                "reason": refusal.en})
            self.grant_id = None
            raise refusal from None
        self._scenario = facts["scenario"]
        # user_options are untrusted: only the validated grant id goes on to DockerSpawner
        self.user_options = {"grant": self.grant_id}
        work = await asyncio.to_thread(ensure_workspace, self.user.name, self.grant_id,
                                       self.container_uid, self.container_gid)
        readme = await asyncio.to_thread(self._readme_file, facts["readme"])
        key = self._network_key()
        self.sandbox_network = await asyncio.to_thread(
            network.create_network, self.client, key, self.subnet_pool, self.subnet_prefixlen,
            {"enclave.user": self.user.name, "enclave.grant": str(self.grant_id),
             "enclave.home": str(paths().home)})
        gateway = self.sandbox_network.gateway
        self.network_name = self.sandbox_network.name
        self.use_internal_ip = True
        self.hub_connect_url = f"http://{gateway}:{urlparse(self.hub.api_url).port}"
        self.mounts = self._mount_list(work, readme)
        self.volumes, self.read_only_volumes = {}, {}
        self.extra_host_config = self._host_config()
        self.extra_create_kwargs = {"user": f"{self.container_uid}:{self.container_gid}",
                                    "labels": self._labels(), "working_dir": self.container_home}
        prepared = time.monotonic()
        try:
            url = await super().start()
        except Exception as exc:
            await asyncio.to_thread(self._audit, "sandbox.spawn", "error", {
                "grant": self.grant_id, "datasets": self.dataset_refs, "error": str(exc)[:300]})
            raise
        await self._wait_listening()
        await asyncio.to_thread(self._audit, "sandbox.spawn", "ok", {
            "grant": self.grant_id, "datasets": self.dataset_refs,
            "mounts": [m.to_json() for m in self.mounted], "image": self.image,
            "container": self.container_name, "network": self.sandbox_network.name,
            "subnet": self.sandbox_network.subnet})
        self.log.info("Enclave sandbox %s/%s: prepared in %.2f s, container started in %.2f s",
                      self.user.name, self.name, prepared - began, time.monotonic() - prepared)
        return url

    async def _wait_listening(self) -> None:
        """Return as soon as the server answers HTTP (any non-5xx), polling every 50 ms.

        JupyterHub's own check backs off exponentially (0.2, 0.4, 0.8, 1.6 s ...), which adds up
        to a second or two to every spawn; when this returns, its first check succeeds.
        """
        ip, port = await self.get_ip_and_port()
        url = f"http://{ip}:{port}{self.server.base_url if self.server else '/'}"
        client = AsyncHTTPClient()
        deadline = time.monotonic() + self.http_timeout
        while time.monotonic() < deadline:
            try:
                resp = await client.fetch(url, raise_error=False, request_timeout=2,
                                          follow_redirects=False)
                if resp.code < 500:
                    return
            except OSError:  # not listening yet (connection refused or reset)
                pass
            await asyncio.sleep(0.05)

    async def stop(self, now: bool = False) -> None:
        # DockerSpawner.stop clears the state: keep what the audit entry needs
        grant_id, refs, reason = self.grant_id, self.dataset_refs, self.stop_reason
        sandbox_net = self.sandbox_network
        try:
            await super().stop(now=now)
        finally:
            name = sandbox_net.name if sandbox_net else getattr(self, "_state_network", None)
            if name is None and self.name:
                name = network.network_names(self._network_key())[0]
            if name:
                await asyncio.to_thread(network.remove_network, self.client, name)
        if grant_id is not None:
            await asyncio.to_thread(self._audit, "sandbox.stop", "ok", {
                "grant": grant_id, "datasets": refs, "reason": reason},
                "system" if reason != "user" else None)
        self.stop_reason = "user"


def _clip(options: Any) -> Any:
    """``user_options`` for the audit log, bounded (it is attacker-controlled)."""
    text = json.dumps(options, ensure_ascii=False, default=str)
    return text if len(text) <= 500 else text[:500] + "…"
