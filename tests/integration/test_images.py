"""The notebook image: it builds without a registry, and works under the sandbox's hardening.

Docker tests run the image with exactly the flags of the ``sandbox_flags`` fixture (conftest.py): read-only root
file system, tmpfs /tmp, a writable /home/analyst/work, no capabilities, no-new-privileges,
uid 1000, no network. The build-helper tests at the end need no Docker.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
IMAGES = REPO / "images"
SANDBOX_UID = 1000  # the image's `analyst` user; the sandbox_flags fixture runs as this uid


def _pin(name: str) -> str:
    for line in (IMAGES / "notebook" / "requirements.txt").read_text().splitlines():
        if line.lower().startswith(f"{name}=="):
            return line.split("==", 1)[1].strip()
    raise AssertionError(f"{name} is not pinned in images/notebook/requirements.txt")


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout.strip()


def _cat_json(hardened_run, path: str) -> dict:
    return json.loads(_ok(hardened_run("cat", path)))


# ------------------------------------------------------------------------------ hardened run


@pytest.mark.docker
def test_singleuser_version_matches_the_hub_pin(hardened_run):
    assert _ok(hardened_run("jupyterhub-singleuser", "--version")) == _pin("jupyterhub")


@pytest.mark.docker
def test_jupyterlab_4_runs(hardened_run):
    version = _ok(hardened_run("jupyter", "lab", "--version"))
    assert version == _pin("jupyterlab")
    assert version.startswith("4.")


@pytest.mark.docker
def test_analysis_libraries_import(hardened_run):
    code = "import pandas, pyarrow, matplotlib, papermill, acro; print(pandas.__version__)"
    assert _ok(hardened_run("python", "-c", code)) == _pin("pandas")


@pytest.mark.docker
def test_runs_as_analyst_uid_1000(hardened_run):
    out = _ok(hardened_run("sh", "-c", 'id -u; id -un; echo "$HOME"; pwd'))
    assert out.splitlines() == [str(SANDBOX_UID), "analyst", "/home/analyst", "/home/analyst/work"]


@pytest.mark.docker
def test_image_default_user_is_1000(notebook_image):
    user = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Config.User}}", notebook_image],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert user == f"{SANDBOX_UID}:{SANDBOX_UID}"


@pytest.mark.docker
def test_root_fs_is_read_only_but_tmp_and_work_are_writable(hardened_run, work_dir: Path):
    result = hardened_run("sh", "-c", "touch /etc/enclave-probe /opt/venv/probe; echo rc=$?")
    assert "Read-only file system" in result.stderr
    assert "rc=1" in result.stdout
    _ok(hardened_run("sh", "-c", "echo t > /tmp/probe && echo w > /home/analyst/work/probe"))
    written = work_dir / "probe"
    assert written.read_text() == "w\n"
    assert written.stat().st_uid == SANDBOX_UID


@pytest.mark.docker
def test_no_su_no_sudo(hardened_run):
    out = _ok(hardened_run("sh", "-c", "for p in su sudo; do command -v $p; done; true"))
    assert out == ""


@pytest.mark.docker
def test_no_setuid_or_setgid_programs(notebook_image):
    # Searched as root (outside the sandbox's flags) so that no directory is hidden from find.
    result = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--user", "0", "--entrypoint", "find",
         notebook_image, "/", "-xdev", "-type", "f", "-perm", "/6000"],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert _ok(result) == ""


@pytest.mark.docker
def test_cannot_become_root(hardened_run):
    # No setuid program and no capability: even a crafted setuid call is refused.
    code = "import os\ntry:\n os.setuid(0)\nexcept PermissionError:\n print('refused')"
    assert _ok(hardened_run("python", "-c", code)) == "refused"


@pytest.mark.docker
def test_no_network_inside(hardened_run):
    code = (
        "import socket\n"
        "try:\n socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
        "except OSError as e:\n print('unreachable')"
    )
    assert _ok(hardened_run("python", "-c", code)) == "unreachable"


# A stand-in for the hub's API (the single-user server asks it for the hub version at start),
# started inside the same no-network container, then the real server under test.
_SINGLEUSER_PROBE = """
import json, subprocess, threading, time, urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

class Hub(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.end_headers()
        self.wfile.write(json.dumps({'version': '%s'}).encode())
    def log_message(self, *args):
        pass

threading.Thread(target=HTTPServer(('127.0.0.1', 8081), Hub).serve_forever, daemon=True).start()
server = subprocess.Popen(['jupyterhub-singleuser', '--ip', '127.0.0.1', '--port', '8888'],
                          stdout=open('/tmp/server.log', 'w'), stderr=subprocess.STDOUT)
started = time.monotonic()
while time.monotonic() - started < 60 and server.poll() is None:
    try:
        body = urllib.request.urlopen('http://127.0.0.1:8888/user/a/api').read()
        print(json.dumps({'api': json.loads(body), 'seconds': time.monotonic() - started}))
        break
    except OSError:
        time.sleep(0.1)
else:
    print(open('/tmp/server.log').read())
server.terminate()
server.wait()
"""

_HUB_ENV = {
    "JUPYTERHUB_API_TOKEN": "not-a-real-token",
    "JUPYTERHUB_API_URL": "http://127.0.0.1:8081/hub/api",
    "JUPYTERHUB_BASE_URL": "/",
    "JUPYTERHUB_SERVICE_PREFIX": "/user/a/",
    "JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:8888/user/a/",
    "JUPYTERHUB_USER": "a",
    "JUPYTERHUB_CLIENT_ID": "jupyterhub-user-a",
    "JUPYTERHUB_OAUTH_CALLBACK_URL": "/user/a/oauth_callback",
}


@pytest.mark.docker
def test_singleuser_server_starts_under_hardening(notebook_image, sandbox_flags: list[str]):
    env_flags = [flag for key, value in _HUB_ENV.items() for flag in ("-e", f"{key}={value}")]
    result = subprocess.run(
        ["docker", "run", "--rm", *sandbox_flags, *env_flags, notebook_image,
         "python", "-c", _SINGLEUSER_PROBE % _pin("jupyterhub")],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    out = _ok(result)
    assert out.startswith("{"), f"single-user server did not answer:\n{out}"
    report = json.loads(out)
    assert "version" in report["api"]  # jupyter_server's own API answered behind the prefix
    assert report["seconds"] < 20


# ------------------------------------------------------------------------------ Jupyter config


@pytest.mark.docker
def test_terminals_disabled_in_system_config(hardened_run):
    config = _cat_json(hardened_run, "/etc/jupyter/jupyter_server_config.json")
    assert config["ServerApp"]["terminals_enabled"] is False
    missing = hardened_run("python", "-c", "import jupyter_server_terminals")
    assert missing.returncode != 0 and "ModuleNotFoundError" in missing.stderr


@pytest.mark.docker
def test_no_proxy_or_collaboration_extensions(hardened_run):
    code = (
        "import importlib.util as u\n"
        "mods = ['jupyter_server_proxy', 'jupyter_collaboration', 'jupyter_server_ydoc',"
        " 'jupyter_server_documents', 'terminado']\n"
        "print([m for m in mods if u.find_spec(m)])"
    )
    assert _ok(hardened_run("python", "-c", code)) == "[]"


@pytest.mark.docker
def test_zh_cn_language_pack_is_default(hardened_run):
    _ok(hardened_run("python", "-c", "import jupyterlab_language_pack_zh_CN"))
    overrides = _cat_json(hardened_run, "/opt/venv/share/jupyter/lab/settings/overrides.json")
    assert overrides["@jupyterlab/translation-extension:plugin"]["locale"] == "zh_CN"


@pytest.mark.docker
def test_download_menu_items_disabled_and_locked(hardened_run):
    page = _cat_json(hardened_run, "/etc/jupyter/labconfig/page_config.json")
    for plugin in (
        "@jupyterlab/docmanager-extension:download",
        "@jupyterlab/filebrowser-extension:download",
        "@jupyterlab/filebrowser-extension:open-browser-tab",
    ):
        assert page["disabledExtensions"][plugin] is True
        assert page["lockedExtensions"][plugin] is True
    listing = hardened_run("jupyter", "labextension", "list")
    assert "@jupyterlab/filebrowser-extension:download" in listing.stdout + listing.stderr


@pytest.mark.docker
def test_matplotlib_has_a_cjk_font(hardened_run):
    code = (
        "import matplotlib; matplotlib.use('Agg')\n"
        "from matplotlib import font_manager, pyplot as plt\n"
        "print(font_manager.findfont('WenQuanYi Micro Hei', fallback_to_default=False))\n"
        "fig, ax = plt.subplots(); ax.set_title('航空港区 旅客人次'); fig.savefig('/tmp/t.png')"
    )
    result = hardened_run("python", "-W", "error::UserWarning", "-c", code)
    assert _ok(result).endswith(".ttc")
    assert "missing from font" not in result.stderr


# ------------------------------------------------------------------------------ build output


@pytest.mark.docker
def test_tag_resolves_from_build_output(notebook_image):
    repo, digest = notebook_image.split(":")
    assert repo == "enclave-notebook" and len(digest) == 16
    assert (IMAGES / ".built" / "notebook.tag").read_text().strip() == notebook_image
    printed = subprocess.run(
        [str(IMAGES / "build.sh"), "--print-tag", "notebook"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert printed == notebook_image

    def image_id(ref: str) -> str:
        return subprocess.run(
            ["docker", "image", "inspect", "--format", "{{.Id}}", ref],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip

    assert image_id("enclave-notebook:latest") == image_id(notebook_image)


@pytest.mark.docker
def test_second_build_reuses_the_image(notebook_image):
    out = subprocess.run(
        [str(IMAGES / "build.sh"), "notebook"], capture_output=True, text=True, check=True
    ).stdout
    assert f"image notebook: reused ({notebook_image})" in out
    assert "image base: reused" in out


# ------------------------------------------------------------------------------ build helper


@pytest.fixture(scope="module")
def build_module():
    """images/build.py loaded as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("enclave_images_build", IMAGES / "build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def test_tree_digest_follows_content_and_exec_bit(build_module, tmp_path: Path):
    (tmp_path / "Dockerfile").write_text("FROM x\n")
    first = build_module.tree_digest(tmp_path)
    assert build_module.tree_digest(tmp_path) == first
    (tmp_path / "Dockerfile").write_text("FROM y\n")
    second = build_module.tree_digest(tmp_path)
    assert second != first
    (tmp_path / "Dockerfile").chmod(0o755)
    assert build_module.tree_digest(tmp_path) != second


def test_notebook_hash_covers_the_base_hash(build_module, monkeypatch):
    before = build_module.image_hash("notebook")
    real = build_module.image_hash
    monkeypatch.setattr(
        build_module, "image_hash", lambda name: "0" * 16 if name == "base" else real(name)
    )
    assert build_module.image_hash("notebook") != before


def test_mirror_read_from_deb822_and_one_line_sources(build_module):
    deb822 = (
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main\n\nTypes: deb\nURIs: http://mirror.example/debian-security\n"
        "Suites: bookworm-security\n"
    )
    assert build_module._mirrors_in(deb822, "bookworm") == ["http://mirror.example/debian"]
    one_line = "deb [arch=amd64] http://m.example/debian bookworm main\ndeb http://x bullseye main\n"
    assert build_module._mirrors_in(one_line, "bookworm") == ["http://m.example/debian"]


def test_requirements_are_fully_pinned(build_module):
    pins = build_module.pinned_requirements(IMAGES / "notebook" / "requirements.txt")
    names = {build_module.canonical(name) for name, _ in pins}
    for wanted in ("jupyterlab", "jupyterhub", "pandas", "pyarrow", "matplotlib", "papermill",
                   "acro", "ipykernel", "jupyterlab_language_pack_zh_cn"):
        assert wanted in names
    assert not names & {"jupyter_server_proxy", "jupyter_collaboration"}


def test_unpinned_requirement_is_refused(build_module, tmp_path: Path):
    req = tmp_path / "requirements.txt"
    req.write_text("pandas>=2\n")
    with pytest.raises(build_module.BuildError, match="not pinned"):
        build_module.pinned_requirements(req)
