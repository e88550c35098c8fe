"""Run one build: ``docker run`` of the notebook image on the grant's REAL data, no network.

The data decision is :func:`hub.grants.usable_versions`, asked again at run time (a grant revoked
while the build waited stops it). For a build, level 3 means the real version, not the twin: the
answer's ``sandbox_view`` is set to ``"real"`` and handed to
:func:`hub.sandbox.mounts.plan_data_mounts`, which also builds column projections for restricted
grant items — the same code as the sandbox.

The container (``docker run`` flags, :func:`docker_command`):

* ``--network none``; uid 1000, ``--cap-drop ALL``, ``no-new-privileges``, read-only root,
  tmpfs ``/tmp`` and ``/home/analyst`` (as the sandbox), memory / CPU / pids limits,
  private IPC, ``--rm``; labels ``enclave.build`` and ``enclave.home``;
* read-only: each dataset at ``/data/<dataset>/``, the pinned notebook, ``parameters.json``,
  and :mod:`hub.builds.in_container` as ``/build/run.py``;
* writable: ONLY ``builds/<id>/outputs`` at ``/home/analyst/outputs`` (the notebook gets the
  parameter ``output_dir`` when it declares it).

The wall clock is the build's ``timeout_s``: past it the container is killed and the build is
``timed_out``. stderr (papermill progress and cell output) goes to ``build.log``; stdout carries
a tar of ``executed.ipynb`` and ``report.html`` that the host unpacks (bounded) into the build
folder. A succeeded build's regular output files become an export request (airlock) with the
build's provenance.

Public API::

    container_name(build_id) -> str
    image_digest(image) -> str
    claim_next(session) -> Build | None        # queued -> running (atomic)
    run(session, build) -> Build               # a claimed (running) build to its end state
    recover(session) -> list[int]              # running builds whose worker died -> failed
"""

from __future__ import annotations

import builtins
import dataclasses
import hashlib
import json
import os
import stat
import subprocess
import tarfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub import audit, grants
from hub.accounts import SYSTEM, resolve_actor
from hub.airlock import service as airlock
from hub.builds import contracts, params
from hub.builds.service import OBJECT, build_dir, builds_root, limits
from hub.builds.states import step
from hub.catalog import get_version
from hub.config import paths
from hub.errors import EnclaveError, PolicyViolation
from hub.models import Build
from hub.sandbox.mounts import plan_data_mounts

UID = GID = 1000
HOME = "/home/analyst"
OUTPUTS = f"{HOME}/outputs"
IN_CONTAINER = Path(__file__).with_name("in_container.py")
RESULT_FILES = ("status.json", "executed.ipynb", "report.html")


def _now() -> datetime:
    return datetime.now(UTC)


def container_name(build_id: int) -> str:
    """Unique per ENCLAVE_HOME, so two homes on one engine never collide."""
    home_key = hashlib.sha256(str(paths().home).encode()).hexdigest()[:8]
    return f"enclave-build-{home_key}-{int(build_id)}"


def image_digest(image: str) -> str:
    """The image's content id (``docker image inspect`` Id), recorded on the build."""
    out = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", image],
                         capture_output=True, text=True, check=False, timeout=60)
    if out.returncode != 0 or not out.stdout.strip():
        raise PolicyViolation(f"notebook image {image} is not in the Docker engine "
                              f"(run images/build.sh notebook): {out.stderr.strip()[:200]}",
                              f"Docker 中没有笔记本镜像 {image}（请运行 images/build.sh notebook）")
    return out.stdout.strip()


def _image() -> str:
    from hub.sandbox.spawner import recorded_image  # the one place that knows the image tag

    return recorded_image("notebook")


# -- claiming -----------------------------------------------------------------------------------


def claim_next(session: Session) -> Build | None:
    """Move the oldest queued build to ``running`` (atomic: safe with several workers)."""
    while True:
        build_id = session.scalars(select(Build.id).where(Build.state == "queued")
                                   .order_by(Build.id).limit(1)).first()
        if build_id is None:
            return None
        target = step(build_id, "queued", "start", SYSTEM).target
        claimed = session.execute(update(Build).where(Build.id == build_id,
                                                      Build.state == "queued")
                                  .values(state=target, started_at=_now()))
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            audit.record(session, SYSTEM, "build.start", OBJECT, build_id, "ok",
                         {"container": container_name(build_id)})
            session.commit()
            build = session.get(Build, build_id)
            assert build is not None
            session.refresh(build)
            return build
        session.rollback()


def recover(session: Session) -> list[int]:
    """Builds left ``running`` by a dead worker: container killed, build failed."""
    stale = list(session.scalars(select(Build).where(Build.state == "running")))
    for build in stale:
        subprocess.run(["docker", "kill", container_name(build.id)], capture_output=True,
                       check=False, timeout=30)
        _finish(session, build, "fail", "the build worker stopped while it ran; resubmit")
    return [b.id for b in stale]


# -- the run ------------------------------------------------------------------------------------


def _log(handle: IO[str], message: str) -> None:
    handle.write(f"[enclave] {time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")
    handle.flush()


def _plan(session: Session, build: Build) -> list[Any]:
    usable = grants.usable_versions(session, build.requester, build.grant_id)
    if not usable:
        raise PolicyViolation(
            f"grant {build.grant_id} is no longer usable by {build.requester.username}",
            f"授权 {build.grant_id} 对 {build.requester.username} 已不可用")
    real = [dataclasses.replace(item, sandbox_view="real") for item in usable]
    mounts = plan_data_mounts(session, real)
    build.datasets = [{"ref": m.ref, "level": m.level, "view": m.view,
                       "content_sha256": get_version(session, m.ref).content_sha256,
                       "columns": list(m.columns) if m.restricted else None,
                       "source": str(m.source)} for m in mounts]
    return mounts


def _prepare_folder(build: Build) -> tuple[Path, Path]:
    folder = build_dir(build.id)
    outputs = folder / "outputs"
    outputs.mkdir(mode=0o700, exist_ok=True)
    if os.geteuid() == 0:
        os.chown(outputs, UID, GID)
    else:  # a non-root test host: the container user must still be able to write
        os.chmod(outputs, 0o777)
    notebook = params.read_notebook(folder / "notebook.ipynb")
    values = dict(build.parameters)
    if params.OUTPUT_DIR_PARAM in params.notebook_parameters(notebook):
        values[params.OUTPUT_DIR_PARAM] = OUTPUTS
    param_file = folder / "parameters.json"
    param_file.write_text(json.dumps(values, ensure_ascii=False), encoding="utf-8")
    os.chmod(param_file, 0o444)
    return outputs, param_file


def docker_command(build: Build, mounts: list[Any], image: str, outputs: Path,
                   param_file: Path) -> list[str]:
    """The ``docker run`` command line of a build (hardened like the sandbox, no network)."""
    lim = limits()
    tmpfs = f"rw,nosuid,nodev,uid={UID},gid={GID},mode=0700"
    cmd = ["docker", "run", "--rm", "--name", container_name(build.id),
           "--label", f"enclave.build={build.id}", "--label", f"enclave.home={paths().home}",
           "--network", "none", "--user", f"{UID}:{GID}", "--cap-drop", "ALL",
           "--security-opt", "no-new-privileges:true", "--read-only", "--ipc", "private",
           "--tmpfs", f"/tmp:{tmpfs},size={lim.tmp_size}",
           "--tmpfs", f"{HOME}:{tmpfs},noexec,size={lim.home_size}",
           "--memory", lim.memory, "--memory-swap", lim.memory, "--cpus", lim.cpus,
           "--pids-limit", str(lim.pids), "--workdir", HOME,
           "--env", f"HOME={HOME}", "--env", f"ENCLAVE_BUILD_ID={build.id}",
           "--env", f"ENCLAVE_OUTPUT_DIR={OUTPUTS}", "--env", "ENCLAVE_DATA_DIR=/data"]
    binds = [(str(m.source), f"/data/{m.dataset}", True) for m in mounts]
    binds += [(str(build_dir(build.id) / "notebook.ipynb"), "/build/notebook.ipynb", True),
              (str(param_file), "/build/parameters.json", True),
              (str(IN_CONTAINER), "/build/run.py", True),
              (str(outputs), OUTPUTS, False)]
    for src, dst, read_only in binds:
        cmd += ["--mount", f"type=bind,src={src},dst={dst}" + (",readonly" if read_only else "")]
    return [*cmd, image, "python", "/build/run.py"]


def _execute(build: Build, cmd: list[str], log: IO[str], result: Path) -> tuple[int, bool]:
    """Run the container; (exit code, timed out)."""
    with result.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=log, stdin=subprocess.DEVNULL)
        try:
            return proc.wait(timeout=build.timeout_s), False
        except subprocess.TimeoutExpired:
            _log(log, f"wall-clock limit of {build.timeout_s} s reached: killing the container")
            subprocess.run(["docker", "kill", container_name(build.id)], capture_output=True,
                           check=False, timeout=60)
            try:
                return proc.wait(timeout=60), True
            except subprocess.TimeoutExpired:
                proc.kill()
                return proc.wait(), True


def _unpack(result: Path, folder: Path) -> dict[str, Any]:
    """Take the expected regular files from the container's tar stream (bounded); its status."""
    budget = limits().max_result_bytes
    status: dict[str, Any] = {}
    try:
        with tarfile.open(result, "r:") as tar:
            for member in tar:
                if member.name not in RESULT_FILES or not member.isfile() or member.size > budget:
                    continue
                budget -= member.size
                source = tar.extractfile(member)
                assert source is not None
                data = source.read()
                if member.name == "status.json":
                    status = json.loads(data)
                    continue
                target = folder / member.name
                target.unlink(missing_ok=True)
                target.write_bytes(data)
                os.chmod(target, 0o640)
    except (tarfile.TarError, ValueError, OSError) as exc:
        status["unpack_error"] = str(exc)[:200]
    return status


def _error_name(status: dict[str, Any]) -> str:
    # class names are chosen by the notebook: only builtin ones are repeated (no data channel)
    name = status.get("error") or status.get("runner_error") or ""
    return name if isinstance(getattr(builtins, name, None), type) else "an exception"


def _cancel_reason(session: Session, build: Build) -> str | None:
    """Set by ``enclave build cancel`` in another process: read from the database, not memory."""
    row = session.execute(select(Build.cancel_requested, Build.state_reason)
                          .where(Build.id == build.id)).one()
    return (row.state_reason or "cancelled") if row.cancel_requested else None


def _outcome(build: Build, code: int, timed_out: bool, status: dict[str, Any],
             cancelled: str | None) -> tuple[str, str]:
    if cancelled:
        return "cancel", cancelled
    if timed_out:
        return "time_out", f"stopped after the {build.timeout_s} s wall-clock limit"
    if code == 0 and status.get("exit") == 0:
        return "succeed", ""
    if code == 1:
        return "fail", f"the notebook raised {_error_name(status)} (see the log)"
    if code == 137:
        return "fail", "the container was killed (memory limit?)"
    return "fail", f"the build runner failed (exit {code}; see the log)"


def _finish(session: Session, build: Build, action: str, reason: str) -> None:
    previous = build.state
    build.state = step(build.id, build.state, action, SYSTEM).target
    build.state_reason, build.finished_at = reason, _now()
    audit.record(session, SYSTEM, "build.finish", OBJECT, build.id,
                 "ok" if build.state == "succeeded" else "error",
                 {"from": previous, "to": build.state, "reason": reason,
                  "exit_code": build.exit_code, "image_digest": build.image_digest,
                  "datasets": [{"ref": d["ref"], "content_sha256": d["content_sha256"]}
                               for d in build.datasets or []]})
    session.commit()


def run(session: Session, build: Build) -> Build:
    """Run a claimed build to a final state; then export its outputs if it succeeded."""
    folder = build_dir(build.id)
    with (folder / "build.log").open("a", encoding="utf-8") as log:
        os.chmod(folder / "build.log", 0o640)
        try:
            _log(log, f"build {build.id}: notebook {build.notebook_name} "
                      f"sha256 {build.notebook_sha256}; parameters {sorted(build.parameters)}")
            mounts = _plan(session, build)
            build.image = _image()
            build.image_digest = image_digest(build.image)
            session.commit()
            outputs, param_file = _prepare_folder(build)
            _log(log, f"image {build.image} ({build.image_digest}); datasets "
                      + ", ".join(f"{d['ref']} sha256 {d['content_sha256'][:12]}"
                                  for d in build.datasets or []))
            _log(log, f"container {container_name(build.id)}: no network, "
                      f"timeout {build.timeout_s} s")
            began = time.monotonic()
            result = folder / ".result.tar"
            code, timed_out = _execute(build, docker_command(build, mounts, build.image,
                                                             outputs, param_file), log, result)
            status = _unpack(result, folder)
            result.unlink(missing_ok=True)
            build.exit_code = code
            action, reason = _outcome(build, code, timed_out, status,
                                      _cancel_reason(session, build))
            _log(log, f"container exited {code} after {time.monotonic() - began:.1f} s: "
                      f"{action} {reason}".rstrip())
        except EnclaveError as exc:
            _log(log, f"refused: {exc.en}")
            action, reason = "fail", exc.en
        except Exception as exc:  # the build fails; the worker and the queue go on
            _log(log, f"error: {type(exc).__name__}: {exc}")
            action, reason = "fail", f"runner error: {type(exc).__name__}"
        _finish(session, build, action, reason)
        if build.state == "succeeded":
            _export(session, build, log)
    return build


# -- outputs → airlock --------------------------------------------------------------------------


def inventory(outputs: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Regular files directly in ``outputs`` (name, size, sha256, schema) and what was skipped."""
    files, skipped = [], []
    for entry in sorted(os.scandir(outputs), key=lambda e: e.name):
        info = entry.stat(follow_symlinks=False)
        if not stat.S_ISREG(info.st_mode) or entry.name.startswith("."):
            skipped.append(f"{entry.name} (not a regular file)" if not stat.S_ISREG(info.st_mode)
                           else f"{entry.name} (hidden)")
            continue
        path = Path(entry.path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if info.st_nlink == 1 else ""
        files.append({"name": entry.name, "size": info.st_size, "sha256": digest,
                      "schema": contracts.table_schema(path)})
    return files, skipped


def _export(session: Session, build: Build, log: IO[str]) -> None:
    files, skipped = inventory(build_dir(build.id) / "outputs")
    build.outputs = files
    for item in skipped:
        _log(log, f"not exported: {item}")
    if not files:
        _log(log, "no output files: no export request")
        session.commit()
        return
    build.contract_check = contracts.check_build(session, build)
    session.commit()
    specs = [airlock.FileSpec(name=f["name"], context=f"output of build {build.id} "
                              f"({build.notebook_name})",
                              justification=f"batch build {build.id}, parameters "
                              f"{json.dumps(build.parameters, ensure_ascii=False)}"[:2000])
             for f in files]
    try:
        actor = resolve_actor(session, build.requester.username)
        request = airlock.create_request(
            session, actor, build.grant_id, specs, notebook_sha256=build.notebook_sha256,
            image_digest=build.image_digest,
            source_folder=(builds_root(), [str(build.id), "outputs"]))
        build.request_id = request.id
        audit.record(session, SYSTEM, "build.request", OBJECT, build.id, "ok",
                     {"request": request.id, "files": [f["name"] for f in files]})
        session.commit()
        request = airlock.submit(session, actor, request.id)
        _log(log, f"export request {request.id}: {request.state}"
                  f" (required reviews {request.required_reviews}, route {build.review_route})")
    except EnclaveError as exc:
        session.rollback()
        build.state_reason = f"outputs not exported: {exc.en}"[:2000]
        audit.record(session, SYSTEM, "build.request", OBJECT, build.id, "refused",
                     {"reason": exc.en})
        session.commit()
        _log(log, f"export request refused: {exc.en}")
