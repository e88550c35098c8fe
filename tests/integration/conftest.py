"""Shared Docker fixtures for the integration tests.

Nothing here skips: the test command installs and starts Docker (scripts/ensure-docker.sh,
called by images/build.sh), so an engine that does not answer is a failure with a clear message.

Fixtures:
- ``docker_engine``: runs scripts/ensure-docker.sh (installs/starts the engine if needed), then
  asserts ``docker info`` works; use it in any test that talks to Docker.
- ``notebook_image``: runs ``images/build.sh notebook`` once per session (reusing cached images;
  concurrent xdist workers wait on the build lock) and yields the content tag.
- ``sandbox_flags``: the hardening flags (``hardened_flags``) with a fresh writable work dir.
- ``hardened_run``: runs a command in a container with the sandbox's hardening flags.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD_SH = REPO / "images" / "build.sh"
ENSURE_DOCKER = REPO / "scripts" / "ensure-docker.sh"
SANDBOX_UID = 1000
BUILD_TIMEOUT_S = 1800


def hardened_flags(work_dir: Path) -> list[str]:
    """The ``docker run`` flags the sandbox must work under (see tests/integration/test_images.py)."""
    return [
        "--read-only",
        "--tmpfs", "/tmp",
        "--mount", f"type=bind,src={work_dir},dst=/home/analyst/work",
        "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges",
        "--user", f"{SANDBOX_UID}:{SANDBOX_UID}",
        "--network", "none",
    ]  # fmt: skip


@pytest.fixture(scope="session")
def docker_engine() -> None:
    """Start the Docker engine if needed (scripts/ensure-docker.sh); fail, never skip, if it can't."""
    ensured = subprocess.run(
        [str(ENSURE_DOCKER)], capture_output=True, text=True, check=False, timeout=600
    )
    if ensured.returncode != 0:
        pytest.fail(
            "scripts/ensure-docker.sh could not provide a Docker engine / 无法启动 Docker 引擎:\n"
            f"{ensured.stdout}{ensured.stderr}"
        )
    if shutil.which("docker") is None:
        pytest.fail("docker CLI not found after scripts/ensure-docker.sh (未找到 docker 命令)")
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    if info.returncode != 0:
        pytest.fail(
            "the Docker engine does not answer (`docker info` failed) / Docker 引擎未运行:\n"
            f"{info.stderr.strip()}"
        )


@pytest.fixture(scope="session")
def notebook_image(docker_engine: None) -> Iterator[str]:
    """Build (or reuse) the notebook image once per session and yield its content tag."""
    result = subprocess.run(
        [str(BUILD_SH), "notebook"],
        capture_output=True, text=True, check=False, timeout=BUILD_TIMEOUT_S,
    )  # fmt: skip
    if result.returncode != 0:
        pytest.fail(
            f"images/build.sh failed (exit {result.returncode}) / 镜像构建失败:\n"
            f"{result.stdout}\n{result.stderr}"
        )
    match = re.search(r"^image notebook: (?:reused|built in \d+ s) \((\S+)\)$", result.stdout, re.M)
    if not match:
        pytest.fail(f"images/build.sh printed no tag for the notebook image:\n{result.stdout}")
    yield match.group(1)


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    """A host directory the sandbox user may write, mounted at /home/analyst/work."""
    work = tmp_path / "work"
    work.mkdir()
    if os.geteuid() == 0:
        os.chown(work, SANDBOX_UID, SANDBOX_UID)
    else:
        work.chmod(0o777)
    return work


@pytest.fixture
def sandbox_flags(work_dir: Path) -> list[str]:
    """``docker run`` hardening flags with ``work_dir`` mounted at /home/analyst/work."""
    return hardened_flags(work_dir)


@pytest.fixture
def hardened_run(
    notebook_image: str, sandbox_flags: list[str]
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Return ``run(*cmd, image=notebook_image)`` executing ``cmd`` under the hardening flags."""

    def run(*cmd: str, image: str = notebook_image) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker", "run", "--rm", *sandbox_flags, image, *cmd],
            capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip

    return run
