"""Build Enclave's container images with no container registry, cached by content hash.

Two images, one depending on the other:

- ``base`` (``enclave-base:<hash>``): a Debian root file system made by ``debootstrap`` with the
  parameters in ``images/base/debootstrap.json``, trimmed by ``images/base/finalize.sh`` and
  loaded with ``docker import``. The hash covers both files.
- ``notebook`` (``enclave-notebook:<hash>``): ``images/notebook/Dockerfile`` built ``FROM`` the
  base with ``--network none``; Python packages come from a wheelhouse that this script downloads
  on the host (``pip download`` of the pinned ``requirements.txt``). The hash covers every file
  under ``images/notebook/`` and the base hash.

An image whose tag already exists is reused; otherwise it is built. Either way ``<repo>:latest``
is pointed at it and the tag is written to ``images/.built/<name>.tag``, which is how the spawner
finds the image (or run ``images/build.sh --print-tag notebook``).

Only the standard library is used, so any Python 3.11+ on the host can run this.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

IMAGES_DIR = Path(__file__).resolve().parent
BUILT_DIR = IMAGES_DIR / ".built"
CACHE_DIR = Path(os.environ.get("ENCLAVE_IMAGE_CACHE", IMAGES_DIR / ".cache")).resolve()
DEFAULT_MIRROR = "http://deb.debian.org/debian"
# The notebook image runs Debian bookworm's Python 3.11.2; wheels must match it, not the host
# (Requires-Python checks use the patch level: some releases need >= 3.11.5).
TARGET_PYTHON = "3.11.2"
GLIBC_MINOR = 36  # bookworm ships glibc 2.36


class BuildError(RuntimeError):
    """A build step failed; the message says which one and where its log is."""


@dataclass(frozen=True)
class ImageSpec:
    """One image: its short name, repository, recipe folder and the image it is built on."""

    name: str
    repo: str
    recipe: Path
    parent: str | None = None


IMAGES: dict[str, ImageSpec] = {
    "base": ImageSpec("base", "enclave-base", IMAGES_DIR / "base"),
    "notebook": ImageSpec("notebook", "enclave-notebook", IMAGES_DIR / "notebook", parent="base"),
}


# ---------------------------------------------------------------------------- hashing and tags


def tree_digest(root: Path) -> str:
    """SHA-256 over every file under ``root``: relative path, executable bit and content."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        executable = os.access(path, os.X_OK)
        digest.update(f"{rel}\0{int(executable)}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def image_hash(name: str) -> str:
    """Content hash of an image's build inputs, including its parent's hash."""
    spec = IMAGES[name]
    digest = hashlib.sha256(f"{spec.repo}\0{tree_digest(spec.recipe)}".encode())
    if spec.parent:
        digest.update(image_hash(spec.parent).encode())
    return digest.hexdigest()[:16]


def image_tag(name: str) -> str:
    """The content-addressed tag of an image, e.g. ``enclave-notebook:3f2a…``."""
    return f"{IMAGES[name].repo}:{image_hash(name)}"


def tag_file(name: str) -> Path:
    """Where the resolved tag of an image is recorded after a build or reuse."""
    return BUILT_DIR / f"{name}.tag"


# ---------------------------------------------------------------------------- small helpers


def run(cmd: list[str], log: Path, **kwargs) -> None:
    """Run ``cmd`` appending its output to ``log``; raise BuildError with the log tail on failure."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(cmd)}\n".encode())
        out.flush()
        result = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=False, **kwargs)
    if result.returncode != 0:
        raise BuildError(f"`{cmd[0]}` failed (exit {result.returncode}); see {log}\n{tail(log)}")


def tail(log: Path, lines: int = 25) -> str:
    """The last lines of a log file, for error messages."""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def docker_image_exists(tag: str) -> bool:
    """True when the Docker engine has an image with this tag."""
    result = subprocess.run(
        ["docker", "image", "inspect", tag], capture_output=True, check=False
    )
    return result.returncode == 0


def docker_tag(source: str, target: str) -> None:
    """Point ``target`` at the image ``source``."""
    subprocess.run(["docker", "tag", source, target], check=True, capture_output=True)


def log_path(step: str) -> Path:
    """A fresh log file for one build step under the cache folder."""
    path = CACHE_DIR / "logs" / f"{step}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


# ---------------------------------------------------------------------------- base image


def _sources_files() -> list[Path]:
    files = [Path("/etc/apt/sources.list")]
    sources_d = Path("/etc/apt/sources.list.d")
    if sources_d.is_dir():
        files += sorted(sources_d.glob("*.list")) + sorted(sources_d.glob("*.sources"))
    return [f for f in files if f.is_file()]


def _mirrors_in(text: str, suite: str) -> list[str]:
    """Debian mirror URIs serving ``suite`` in one apt sources file (one-line or deb822)."""
    found: list[str] = []
    for stanza in re.split(r"\n\s*\n", text):
        fields = dict(
            (m.group(1).lower(), m.group(2).split())
            for m in re.finditer(r"^([A-Za-z-]+):\s*(.*)$", stanza, re.M)
        )
        if suite in fields.get("suites", []) and "deb" in fields.get("types", []):
            found += fields.get("uris", [])
        for m in re.finditer(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", stanza, re.M):
            if m.group(2) == suite:
                found.append(m.group(1))
    return found


def debian_mirror(suite: str) -> str:
    """The Debian mirror this host's apt uses for ``suite`` ($ENCLAVE_DEBIAN_MIRROR overrides)."""
    if os.environ.get("ENCLAVE_DEBIAN_MIRROR"):
        return os.environ["ENCLAVE_DEBIAN_MIRROR"]
    for path in _sources_files():
        mirrors = _mirrors_in(path.read_text(errors="replace"), suite)
        if mirrors:
            return mirrors[0]
    return DEFAULT_MIRROR


def debian_arch() -> str:
    """Debian's name for this host's architecture (amd64, arm64, ...)."""
    return subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()


def build_base(tag: str) -> None:
    """debootstrap a root file system, trim it, and ``docker import`` it as ``tag``."""
    recipe = IMAGES["base"].recipe
    params = json.loads((recipe / "debootstrap.json").read_text())
    debs = CACHE_DIR / "debootstrap-debs"  # reused between runs: only new packages download
    debs.mkdir(parents=True, exist_ok=True)
    log = log_path("base")
    rootfs = Path(tempfile.mkdtemp(prefix="rootfs-", dir=CACHE_DIR))
    try:
        run(
            [
                "debootstrap",
                f"--variant={params['variant']}",
                f"--arch={debian_arch()}",
                f"--include={','.join(params['include'])}",
                f"--cache-dir={debs}",
                params["suite"],
                str(rootfs),
                debian_mirror(params["suite"]),
            ],
            log,
        )
        run(["sh", str(recipe / "finalize.sh"), str(rootfs)], log)
        _import_rootfs(rootfs, tag, log)
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)


def _import_rootfs(rootfs: Path, tag: str, log: Path) -> None:
    with log.open("ab") as out:
        tar = subprocess.Popen(
            ["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."],
            stdout=subprocess.PIPE,
            stderr=out,
        )
        imported = subprocess.run(
            ["docker", "import", "--change", "ENV LANG=C.UTF-8", "-", tag],
            stdin=tar.stdout,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
        assert tar.stdout is not None
        tar.stdout.close()
        tar_rc = tar.wait()
    if tar_rc != 0 or imported.returncode != 0:
        raise BuildError(f"importing the base root file system failed; see {log}\n{tail(log)}")


# ---------------------------------------------------------------------------- wheelhouse


def pinned_requirements(path: Path) -> list[tuple[str, str]]:
    """(name, version) for every ``name==version`` line; anything unpinned is an error."""
    pins: list[tuple[str, str]] = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)", line)
        if not m:
            raise BuildError(f"{path}: '{line}' is not pinned as name==version")
        pins.append((m.group(1), m.group(2)))
    return pins


def canonical(name: str) -> str:
    """A distribution name as it appears at the start of a wheel file name."""
    return re.sub(r"[-_.]+", "_", name).lower()


def target_platforms() -> list[str]:
    """manylinux platform tags a bookworm Python on this architecture accepts."""
    machine = platform.machine()
    tags = [f"manylinux_2_{minor}_{machine}" for minor in range(17, GLIBC_MINOR + 1)]
    if machine == "x86_64":
        tags += ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]
    elif machine == "aarch64":
        tags += ["manylinux2014_aarch64"]
    return tags


def fill_wheelhouse(requirements: Path, pool: Path) -> None:
    """Download the pinned wheels into ``pool``; files already there are not fetched again."""
    pool.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
        "--only-binary=:all:", "--dest", str(pool),
        "--python-version", TARGET_PYTHON, "--implementation", "cp",
        "--abi", "cp" + "".join(TARGET_PYTHON.split(".")[:2]), "--abi", "abi3", "--abi", "none",
        "-r", str(requirements),
    ]  # fmt: skip
    for tag in target_platforms():
        cmd += ["--platform", tag]
    run(cmd, log_path("wheelhouse"))


def wheels_for(pins: list[tuple[str, str]], pool: Path) -> list[Path]:
    """The wheel files in ``pool`` that satisfy exactly the pinned versions."""
    by_key: dict[tuple[str, str], list[Path]] = {}
    for wheel in pool.glob("*.whl"):
        dist, version = wheel.name.split("-")[:2]
        by_key.setdefault((canonical(dist), version), []).append(wheel)
    chosen: list[Path] = []
    for name, version in pins:
        found = by_key.get((canonical(name), version))
        if not found:
            raise BuildError(f"no wheel for {name}=={version} in {pool} after download")
        chosen += found
    return chosen


# ---------------------------------------------------------------------------- notebook image


def build_notebook(tag: str, base_tag: str) -> None:
    """Stage the recipe and the pinned wheels as a build context and ``docker build`` it."""
    recipe = IMAGES["notebook"].recipe
    requirements = recipe / "requirements.txt"
    pool = CACHE_DIR / "wheels"
    fill_wheelhouse(requirements, pool)
    wheels = wheels_for(pinned_requirements(requirements), pool)
    context = CACHE_DIR / "context-notebook"
    shutil.rmtree(context, ignore_errors=True)
    shutil.copytree(recipe, context)
    (context / "wheels").mkdir()
    for wheel in wheels:
        _link_or_copy(wheel, context / "wheels" / wheel.name)
    log = log_path("notebook")
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}  # Docker 20.10 without buildx: classic builder
    try:
        run(
            [
                "docker", "build", "--network", "none", "--rm", "--force-rm",
                "--build-arg", f"BASE={base_tag}",
                "--label", f"org.enclave.image-hash={tag.rsplit(':', 1)[1]}",
                "--tag", tag, str(context),
            ],
            log,
            env=env,
        )  # fmt: skip
    finally:
        shutil.rmtree(context, ignore_errors=True)
        # The classic builder keeps the venv stage (wheels included) as an untagged image.
        subprocess.run(
            ["docker", "image", "prune", "--force", "--filter", "label=org.enclave.stage=notebook-venv"],
            capture_output=True, check=False,
        )


def _link_or_copy(source: Path, target: Path) -> None:
    # Hard links keep staging instant; a copy is the fallback across file systems.
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


# ---------------------------------------------------------------------------- orchestration


def ensure_image(name: str, force: set[str], done: dict[str, str]) -> str:
    """Reuse or build ``name`` (and its parent first); return its tag and record it."""
    if name in done:
        return done[name]
    spec = IMAGES[name]
    parent_tag = ensure_image(spec.parent, force, done) if spec.parent else None
    tag = image_tag(name)
    if name not in force and docker_image_exists(tag):
        print(f"image {name}: reused ({tag})", flush=True)
    else:
        started = time.monotonic()
        if name == "base":
            build_base(tag)
        else:
            build_notebook(tag, parent_tag or "")
        print(f"image {name}: built in {time.monotonic() - started:.0f} s ({tag})", flush=True)
    docker_tag(tag, f"{spec.repo}:latest")
    BUILT_DIR.mkdir(parents=True, exist_ok=True)
    tag_file(name).write_text(tag + "\n")
    done[name] = tag
    return tag


def prune_stale(name: str, current: str) -> None:
    """Remove this image's older content tags; images a container still uses are kept."""
    repo = IMAGES[name].repo
    listed = subprocess.run(
        ["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", repo],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    for tag in listed:
        if tag not in (current, f"{repo}:latest"):
            removed = subprocess.run(["docker", "rmi", tag], capture_output=True, check=False)
            print(f"image {name}: {'removed' if removed.returncode == 0 else 'kept (in use)'} "
                  f"stale {tag}", flush=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command line of images/build.sh."""
    parser = argparse.ArgumentParser(
        prog="images/build.sh",
        description="Build Enclave images that are missing; reuse those already built "
        "(cached by content hash). 构建缺失的镜像，复用已有镜像。",
    )
    parser.add_argument("images", nargs="*", metavar="image",
                        help=f"images to build (default: all): {', '.join(IMAGES)}")
    parser.add_argument("--force", action="store_true",
                        help="rebuild the named images (all when none is named) even if present")
    parser.add_argument("--prune", action="store_true",
                        help="remove older content tags of the images built or reused")
    parser.add_argument("--print-tag", metavar="IMAGE", choices=list(IMAGES),
                        help="print the content tag of IMAGE and exit (status 1 if not built)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.images if name not in IMAGES]
    if unknown:
        parser.error(f"unknown image(s) {', '.join(unknown)}; known: {', '.join(IMAGES)}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.print_tag:
        tag = image_tag(args.print_tag)
        print(tag)
        if not docker_image_exists(tag):
            print(f"image {args.print_tag} is not built yet; run images/build.sh / 镜像尚未构建",
                  file=sys.stderr)
            return 1
        return 0
    names = args.images or list(IMAGES)
    force = set(names) if args.force else set()
    done: dict[str, str] = {}
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    # Parallel callers (e.g. pytest-xdist workers) wait here instead of building twice.
    with (CACHE_DIR / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            for name in names:
                ensure_image(name, force, done)
            if args.prune:
                for name, tag in done.items():
                    prune_stale(name, tag)
        except BuildError as err:
            print(f"images/build.sh: 构建失败 / build failed: {err}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
