"""Build operations: submit (pin + validate + queue), status, list, cancel, logs.

A build is a notebook from the analyst's workspace for one grant, copied into
``$ENCLAVE_HOME/builds/<id>/notebook.ipynb`` and pinned by SHA-256, with validated parameters
(:mod:`hub.builds.params`). Nothing runs here: :mod:`hub.builds.worker` takes queued builds one
at a time and :mod:`hub.builds.runner` runs them. Every operation is audited (``build.*``,
object ``build``); refusals too.

Build folder (host only, 0700; the container sees only what :mod:`runner` mounts)::

    builds/<id>/notebook.ipynb    pinned notebook (0444)
    builds/<id>/parameters.json   what papermill gets (written by the runner)
    builds/<id>/outputs/          the only writable mount; its regular files become a request
    builds/<id>/executed.ipynb    executed notebook — kept inside the domain, never exported
    builds/<id>/report.html       sanitized HTML report (nbconvert) — inside the domain
    builds/<id>/build.log         host lines ([enclave]) + papermill progress and cell output

Who sees what: the requester sees their builds; operator staff (admin, reviewer, auditor) see
all. Because a build reads REAL data, the full log can hold real values printed by the notebook;
for builds on level-3 data the requester gets the log without the notebook's own output (only
``[enclave]`` lines and papermill's cell progress), operator staff get it all (:func:`read_log`).

Public API::

    limits() -> Limits
    build_dir(build_id) -> Path
    submit(session, actor, grant_id, notebook, parameters, *, timeout_s=None) -> Build
    submit_pinned(session, user, grant_id, source, notebook_name, parameters, *, timeout_s=None,
                  contract=None, trigger="manual", actor_name=None) -> Build
    get_build(session, actor, build_id) -> Build
    list_builds(session, actor, grant_id=None, state=None) -> list[Build]
    cancel(session, actor, build_id) -> Build
    read_log(actor, build) -> str
    build_json(build) -> dict
    manifest_provenance(session, request_id) -> dict | None     # for the release manifest
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import audit, grants
from hub.accounts import Actor
from hub.airlock import quarantine
from hub.builds import params
from hub.builds.states import step
from hub.config import paths
from hub.errors import NotFound, PermissionDenied, PolicyViolation, ValidationError
from hub.models import Build, BuildContract, User

OBJECT = "build"
CONTAINER_WORK = "/home/analyst/work"
READ_ALL_ROLES = frozenset({"admin", "reviewer", "auditor"})
SENSITIVE_LEVEL = 3


@dataclass(frozen=True)
class Limits:
    """Build limits; environment variables override the defaults (one place)."""

    default_timeout_s: int = 900
    max_timeout_s: int = 3600
    memory: str = "2g"
    cpus: str = "1.0"
    pids: int = 256
    max_notebook_bytes: int = 20 * 1024 * 1024
    max_result_bytes: int = 200 * 1024 * 1024  # executed notebook + report, as sent back
    tmp_size: str = "512m"
    home_size: str = "256m"


def limits() -> Limits:
    """:class:`Limits` with ``ENCLAVE_BUILD_*`` overrides (timeouts in seconds)."""
    env = os.environ
    return Limits(
        default_timeout_s=int(env.get("ENCLAVE_BUILD_TIMEOUT_S", 900)),
        max_timeout_s=int(env.get("ENCLAVE_BUILD_MAX_TIMEOUT_S", 3600)),
        memory=env.get("ENCLAVE_BUILD_MEMORY", "2g"),
        cpus=env.get("ENCLAVE_BUILD_CPUS", "1.0"),
        pids=int(env.get("ENCLAVE_BUILD_PIDS", 256)),
    )


def builds_root() -> Path:
    root = paths().ensure().home / "builds"
    root.mkdir(mode=0o700, exist_ok=True)
    return root


def build_dir(build_id: int) -> Path:
    return builds_root() / str(int(build_id))


def _now() -> datetime:
    return datetime.now(UTC)


# -- the notebook -------------------------------------------------------------------------------


def workspace_parts(username: str, grant_id: int, notebook: str) -> tuple[list[str], str]:
    """Folders below ``workspaces/`` and the file name of ``notebook``.

    ``notebook`` is relative to the workspace, or absolute under the host workspace or under the
    sandbox's ``~/work``. Anything else (``..``, other users, other grants) is refused.
    """
    workspace = paths().workspaces / username / str(grant_id)
    raw = notebook.strip()
    if raw.startswith(str(workspace) + "/"):
        raw = raw[len(str(workspace)) + 1:]
    elif raw.startswith(CONTAINER_WORK + "/"):
        raw = raw[len(CONTAINER_WORK) + 1:]
    elif raw.startswith("/"):
        raise PolicyViolation(
            f"notebook {notebook!r}: must be inside your workspace for grant {grant_id} "
            f"({workspace} or {CONTAINER_WORK} in the sandbox)",
            f"笔记本 {notebook!r}：必须位于授权 {grant_id} 的工作目录中（{workspace} 或沙箱内的 "
            f"{CONTAINER_WORK}）")
    parts = [p for p in PurePosixPath(raw).parts if p not in ("", ".")]
    if not parts or any(p == ".." or p.startswith(".") for p in parts):
        raise PolicyViolation(f"notebook {notebook!r}: no '..' or hidden folders",
                              f"笔记本 {notebook!r}：路径中不得含 '..' 或隐藏目录")
    if not parts[-1].endswith(".ipynb"):
        raise ValidationError(f"notebook {notebook!r}: must be an .ipynb file",
                              f"笔记本 {notebook!r}：必须是 .ipynb 文件")
    return [username, str(grant_id), *parts[:-1]], parts[-1]


def _stage(source_copy: Any) -> Path:
    """A private staging folder under builds/ (renamed to builds/<id> once the row exists)."""
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=builds_root()))
    try:
        source_copy(staging / "notebook.ipynb")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def _sha256(path: Path) -> str:
    return quarantine.sha256_file(path)[0]


# -- submitting ---------------------------------------------------------------------------------


def _user_of(session: Session, actor: Actor) -> User:
    if actor.user_id is None or "analyst" not in actor.roles:
        raise PermissionDenied(f"{actor.name}: builds are submitted by an analyst",
                               f"{actor.name}：构建须由分析人员提交")
    user = session.get(User, actor.user_id)
    assert user is not None
    return user


def _check_member(session: Session, user: User, grant_id: int) -> list[grants.UsableVersion]:
    usable = grants.usable_versions(session, user, grant_id)
    if not usable:
        raise PolicyViolation(
            f"grant {grant_id}: not active, or {user.username} is not a member of it",
            f"授权 {grant_id}：未生效，或 {user.username} 不是其成员")
    return usable


def _timeout(timeout_s: int | None) -> int:
    lim = limits()
    value = lim.default_timeout_s if timeout_s is None else int(timeout_s)
    if not 1 <= value <= lim.max_timeout_s:
        raise ValidationError(f"timeout: between 1 and {lim.max_timeout_s} seconds (got {value})",
                              f"timeout：须在 1 至 {lim.max_timeout_s} 秒之间（实际 {value}）")
    return value


def submit(session: Session, actor: Actor, grant_id: int, notebook: str,
           parameters: dict[str, Any], *, timeout_s: int | None = None) -> Build:
    """Pin ``notebook`` from the actor's workspace, validate ``parameters``, queue a build."""
    details = {"grant": grant_id, "notebook": notebook, "parameters": sorted(parameters)}
    with audit.audited(session, actor.name, "build.pin", OBJECT, "", details) as act:
        user = _user_of(session, actor)
        _check_member(session, user, grant_id)
        parts, name = workspace_parts(user.username, grant_id, notebook)
        # O_NOFOLLOW at every level, regular file, one link, size limit (the airlock's checks)
        staging = _stage(lambda dest: quarantine.copy_from_folder(
            paths().workspaces, parts, name, dest, limits().max_notebook_bytes))
        act.details["sha256"] = _sha256(staging / "notebook.ipynb")
    session.commit()
    return _queue(session, user, grant_id, staging, "/".join([*parts[2:], name]), parameters,
                  timeout_s=timeout_s, actor_name=actor.name)


def submit_pinned(session: Session, user: User, grant_id: int, source: Path, notebook_name: str,
                  parameters: dict[str, Any], *, timeout_s: int | None = None,
                  contract: BuildContract | None = None, trigger: str = "manual",
                  actor_name: str | None = None) -> Build:
    """Queue a build of an already pinned notebook file (contracts use this)."""
    staging = _stage(lambda dest: shutil.copyfile(source, dest))
    return _queue(session, user, grant_id, staging, notebook_name, parameters,
                  timeout_s=timeout_s, contract=contract, trigger=trigger,
                  actor_name=actor_name or user.username)


def _queue(session: Session, user: User, grant_id: int, staging: Path, notebook_name: str,
           parameters: dict[str, Any], *, timeout_s: int | None, actor_name: str,
           contract: BuildContract | None = None, trigger: str = "manual") -> Build:
    details: dict[str, Any] = {"grant": grant_id, "notebook": notebook_name,
                               "parameters": parameters, "trigger": trigger,
                               "contract": contract.id if contract else None}
    pinned = staging / "notebook.ipynb"
    try:
        with audit.audited(session, actor_name, "build.submit", OBJECT, "", details) as act:
            _check_member(session, user, grant_id)
            notebook = params.read_notebook(pinned)
            checked = params.validate(parameters, params.notebook_parameters(notebook))
            digest = _sha256(pinned)
            if contract is not None and digest != contract.notebook_sha256:
                raise PolicyViolation(
                    f"contract {contract.name}: pinned notebook changed on disk",
                    f"产品约定 {contract.name}：固定的笔记本文件已被改动")
            build = Build(grant_id=grant_id, requester_id=user.id, trigger=trigger,
                          contract_id=contract.id if contract else None, state="queued",
                          notebook_name=notebook_name, notebook_sha256=digest,
                          parameters=checked, timeout_s=_timeout(timeout_s))
            session.add(build)
            session.flush()
            act.object_id = build.id
            act.details.update({"notebook_sha256": digest, "timeout_s": build.timeout_s})
            os.chmod(pinned, 0o444)
            # a folder for this id can only be left over from a rolled-back attempt
            shutil.rmtree(build_dir(build.id), ignore_errors=True)
            staging.rename(build_dir(build.id))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    session.commit()
    return build


# -- reading ------------------------------------------------------------------------------------


def _staff(actor: Actor) -> bool:
    return actor.is_system or bool(actor.roles & READ_ALL_ROLES)


def get_build(session: Session, actor: Actor, build_id: int) -> Build:
    """The build if ``actor`` may see it (others get NotFound: ids are not probed)."""
    build = session.get(Build, build_id)
    if build is None or not (_staff(actor) or build.requester_id == actor.user_id):
        raise NotFound(f"build {build_id} not found", f"未找到构建 {build_id}")
    return build


def list_builds(session: Session, actor: Actor, grant_id: int | None = None,
                state: str | None = None) -> list[Build]:
    """Builds ``actor`` may see, newest first."""
    query = select(Build).order_by(Build.id.desc())
    if grant_id is not None:
        query = query.where(Build.grant_id == grant_id)
    if state:
        query = query.where(Build.state == state)
    if not _staff(actor):
        query = query.where(Build.requester_id == (actor.user_id or -1))
    return list(session.scalars(query))


def _sensitive(build: Build) -> bool:
    if build.datasets is None:  # not run yet: judge from the grant
        return any(item.version.level >= SENSITIVE_LEVEL for item in build.grant.items)
    return any(d.get("level", 0) >= SENSITIVE_LEVEL for d in build.datasets)


def read_log(actor: Actor, build: Build) -> str:
    """``build.log`` as ``actor`` may read it (see the module docstring)."""
    path = build_dir(build.id) / "build.log"
    if not path.is_file():
        return ""
    text = path.read_text(encoding="utf-8", errors="replace")
    if _staff(actor) or not _sensitive(build):
        return text
    kept = [line for line in text.splitlines()
            if line.startswith("[enclave]") or " papermill Executing " in line
            or " papermill Ending " in line]
    kept.append("[enclave] (notebook output is hidden: the build read level-3 data; operator "
                "staff can read the full log / 构建读取了 3 级数据，笔记本输出仅运营方人员可见)")
    return "\n".join(kept) + "\n"


def cancel(session: Session, actor: Actor, build_id: int) -> Build:
    """Cancel a queued build, or stop a running one (the worker records ``cancelled``)."""
    with audit.audited(session, actor.name, "build.cancel", OBJECT, build_id) as act:
        build = get_build(session, actor, build_id)
        who = "requester" if build.requester_id == actor.user_id else (
            "staff" if actor.is_system or "admin" in actor.roles else "")
        if not who:
            raise PermissionDenied(f"{actor.name} may not cancel build {build_id}",
                                   f"{actor.name} 无权取消构建 {build_id}")
        act.details["from"] = build.state
        if build.state == "queued":
            build.state = step(build.id, build.state, "cancel", who).target
            build.finished_at, build.state_reason = _now(), f"cancelled by {actor.name}"
        elif build.state == "running":
            build.cancel_requested = True
            build.state_reason = f"cancel requested by {actor.name}"
        else:
            step(build.id, build.state, "cancel", who)  # raises: finished builds stay as they are
    session.commit()
    if build.state == "running":
        from hub.builds.runner import container_name

        subprocess.run(["docker", "kill", container_name(build.id)], capture_output=True,
                       check=False, timeout=30)
    return build


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def build_json(build: Build) -> dict[str, Any]:
    """Everything about a build (no file contents)."""
    return {
        "id": build.id, "state": build.state, "state_reason": build.state_reason,
        "grant": build.grant_id, "requester": build.requester.username,
        "trigger": build.trigger, "contract": build.contract_id,
        "notebook": build.notebook_name, "notebook_sha256": build.notebook_sha256,
        "parameters": build.parameters, "timeout_s": build.timeout_s, "image": build.image,
        "image_digest": build.image_digest, "datasets": build.datasets,
        "outputs": build.outputs, "exit_code": build.exit_code, "request": build.request_id,
        "review_route": build.review_route, "contract_check": build.contract_check,
        "created_at": _iso(build.created_at), "started_at": _iso(build.started_at),
        "finished_at": _iso(build.finished_at), "folder": str(build_dir(build.id)),
    }


def manifest_provenance(session: Session, request_id: int) -> dict[str, Any] | None:
    """What a release manifest says about the build that made request ``request_id``."""
    build = session.scalars(select(Build).where(Build.request_id == request_id)).first()
    if build is None:
        return None
    return {"id": build.id, "notebook": build.notebook_name,
            "notebook_sha256": build.notebook_sha256, "parameters": build.parameters,
            "image": build.image, "image_digest": build.image_digest,
            "datasets": [{"ref": d["ref"], "content_sha256": d["content_sha256"],
                          "level": d["level"], "view": d["view"]} for d in build.datasets or []],
            "contract": build.contract_id, "review_route": build.review_route,
            "finished_at": _iso(build.finished_at)}
