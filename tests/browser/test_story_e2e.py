"""The whole story in a browser, on the platform the README's run command starts.

``scripts/up.sh`` runs as a subprocess (its own process group) with a temporary ENCLAVE_HOME and
free ports; it installs/starts what is missing, builds or reuses the notebook image, seeds the
demo data and runs JupyterHub with the airlock web app and the build worker. Debian's Chromium,
driven by Playwright, then plays a new analyst and two reviewers:

analyst1 logs in → picks grant 1 on the spawn form → JupyterLab (zh-CN) shows ``data/`` with
``travel_records``, whose mounted file is byte-for-byte the synthetic twin (contents API) →
the example notebook is put in the grant workspace (as an upload would) → 运行 → 运行所有单元格
on the twin → the notebook is submitted as a build in the airlock web app (``make_chart`` false)
→ the build succeeds on the real data and its export request reaches pending review → reviewers
approve → the product is listed → ``enclave release verify`` accepts the bundle, whose manifest
names the notebook hash and the dataset hashes.

A screenshot of each step goes to ``test-artifacts/screenshots/e2e/``; step timings to
``test-artifacts/e2e_timings.json``. The platform is stopped with SIGTERM to its process group and
the test checks that no container of this ENCLAVE_HOME is left.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from sandbox_fixtures import VENV_BIN, HubClient, free_port  # noqa: E402
from test_airlock_ui import (  # noqa: E402
    CHROMIUM,
    PASSWORDS,
    SHOTS,
    app_url,
    browser,  # noqa: F401  (the module's Chromium fixture)
    login,
    state_of,
)

pytestmark = [pytest.mark.browser, pytest.mark.docker]

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "products" / "logistics_monthly_volume.ipynb"
E2E_SHOTS = SHOTS / "e2e"
TIMINGS = REPO / "test-artifacts" / "e2e_timings.json"
UP_TIMEOUT_S = 900  # a cold machine builds the image; warm it is ~15 s
SANDBOX_UID = 1000


@dataclass
class Platform:
    """``scripts/up.sh`` running in its own process group."""

    client: HubClient  # .url: the public proxy (test_airlock_ui helpers take this shape)
    home: Path
    hub_port: int
    process: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str]
    timings: dict[str, float] = field(default_factory=dict)

    def enclave(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(VENV_BIN / "enclave"), *args], env=self.env,
                              capture_output=True, text=True, timeout=120)

    def containers(self) -> list[str]:
        return subprocess.run(["docker", "ps", "-aq", "--filter",
                               f"label=enclave.home={self.home}"],
                              capture_output=True, text=True).stdout.split()

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """The hub API answers and the airlock service is routed (it redirects to a login)."""
    deadline = time.monotonic() + UP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"scripts/up.sh exited {process.returncode}:\n"
                                 f"{log.read_text(errors='replace')[-6000:]}")
        try:
            hub_ok = requests.get(f"{url}/hub/api/", timeout=2).status_code == 200
            airlock = requests.get(f"{url}/services/airlock/", timeout=2,
                                   allow_redirects=False)
            if hub_ok and airlock.status_code in (200, 302):
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise AssertionError(f"platform not up after {UP_TIMEOUT_S} s:\n"
                         f"{log.read_text(errors='replace')[-6000:]}")


def _stop(platform: Platform) -> None:
    """SIGTERM to the platform's process group; wait; KILL only what is still there."""
    try:
        os.killpg(platform.process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        platform.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(platform.process.pid, signal.SIGKILL)
        platform.process.wait()
    deadline = time.monotonic() + 30  # the hub stops its servers; then CHP and services go
    while time.monotonic() < deadline:
        try:
            os.killpg(platform.process.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: run scripts/ensure-browser.sh (未安装 Chromium)")
    tmp = tmp_path_factory.mktemp("story-e2e")
    home = tmp / "home"
    hub_port, proxy_port = free_port(), free_port()
    env = {**os.environ, "ENCLAVE_HOME": str(home), "ENCLAVE_HUB_PORT": str(hub_port),
           "ENCLAVE_PROXY_PORT": str(proxy_port), "ENCLAVE_PROXY_API_PORT": str(free_port()),
           "ENCLAVE_AIRLOCK_PORT": str(free_port()), "ENCLAVE_BUILD_TIMEOUT_S": "300"}
    for inherited in ("ENCLAVE_HUB_TEST_TOKEN", "ENCLAVE_LANG", "ENCLAVE_DATABASE_URL"):
        env.pop(inherited, None)  # the platform as the README runs it
    log = tmp / "up.log"
    started = time.monotonic()
    with log.open("ab") as sink:
        process = subprocess.Popen([str(REPO / "scripts" / "up.sh")], env=env, stdout=sink,
                                   stderr=subprocess.STDOUT, start_new_session=True, cwd=REPO)
    url = f"http://127.0.0.1:{proxy_port}"
    plat = Platform(HubClient(url, ""), home, hub_port, process, log, env)
    try:
        _wait_until_up(url, process, log)
        plat.timings["01_up_sh_ready"] = time.monotonic() - started
        yield plat
    finally:
        began = time.monotonic()
        _stop(plat)
        plat.timings["99_stop"] = time.monotonic() - began
        left = plat.containers()
        if left:  # never leave a sandbox behind, but report it below
            subprocess.run(["docker", "rm", "-f", *left], capture_output=True)
        from hub.sandbox import network

        network.remove_hub_port(hub_port)
        TIMINGS.parent.mkdir(parents=True, exist_ok=True)
        TIMINGS.write_text(json.dumps(plat.timings, indent=1), encoding="utf-8")
        assert not left, f"containers left after stopping the platform: {left}"


class Steps:
    """Numbered screenshots and timings, one per story step."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.count = 1
        self.last = time.monotonic()
        E2E_SHOTS.mkdir(parents=True, exist_ok=True)
        for old in E2E_SHOTS.glob("*.png"):
            old.unlink()

    def done(self, page: Any, name: str) -> None:
        self.count += 1
        label = f"{self.count:02d}_{name}"
        page.screenshot(path=str(E2E_SHOTS / f"{label}.png"), full_page=True)
        now = time.monotonic()
        self.platform.timings[label] = round(now - self.last, 2)
        self.last = now


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _mounted_file(page: Any, base: str, path: str) -> bytes:
    """A file of the running sandbox, read through the Jupyter server's contents API."""
    got = page.request.get(f"{base}/api/contents/{path}?content=1&format=base64&type=file")
    assert got.status == 200, got.text()
    return base64.b64decode(got.json()["content"])


def _analyst_spawns(chromium: Any, platform: Platform, steps: Steps) -> tuple[Any, str]:
    """analyst1 logs in, picks grant 1 on the spawn form; returns the JupyterLab page."""
    context = chromium.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{platform.client.url}/hub/spawn/analyst1/g1")
    page.wait_for_url(re.compile(r".*/hub/login.*"))
    page.fill("#username_input", "analyst1")
    page.fill("#password_input", PASSWORDS["analyst1"])
    steps.done(page, "analyst_login")
    page.click("#login_submit")
    page.wait_for_url(re.compile(r".*/hub/spawn/analyst1/g1.*"))
    grant = page.locator('input[name="grant"][value="1"]')
    assert grant.is_checked()
    assert "travel_records@1" in page.locator("#spawn_form").inner_text()
    steps.done(page, "spawn_form_grant1")
    page.locator('#spawn_form [type="submit"]').click()
    page.wait_for_url(re.compile(r".*/user/analyst1/g1/lab.*"), timeout=120_000)
    page.locator(".lm-MenuBar-itemLabel", has_text="文件").wait_for(timeout=60_000)
    return page, f"{platform.client.url}/user/analyst1/g1"


def _twin_is_mounted(page: Any, base: str, platform: Platform, steps: Steps) -> None:
    """data/ in the file browser; data/travel_records holds the twin's bytes, not the real."""
    listing = page.locator(".jp-DirListing-content")
    listing.locator(".jp-DirListing-itemText", has_text=re.compile(r"^data$")).dblclick()
    listing.locator(".jp-DirListing-itemText",
                    has_text=re.compile(r"^travel_records$")).wait_for(timeout=30_000)
    steps.done(page, "jupyterlab_zh_data_travel_records")
    store = platform.home / "store" / "travel_records"
    mounted = _mounted_file(page, base, "data/travel_records/travel_records.parquet")
    twin = (store / "v1.twin" / "travel_records.parquet").read_bytes()
    real = (store / "v1" / "travel_records.parquet").read_bytes()
    assert _sha256(mounted) == _sha256(twin) != _sha256(real)


def _run_all_on_twin(page: Any, base: str, platform: Platform, steps: Steps) -> Path:
    """Put the example notebook in the workspace (as an upload), open it, run all cells."""
    workspace = platform.home / "workspaces" / "analyst1" / "1"
    target = workspace / NOTEBOOK.name
    shutil.copyfile(NOTEBOOK, target)
    os.chown(target, SANDBOX_UID, SANDBOX_UID)
    page.goto(f"{base}/lab/tree/work/{NOTEBOOK.name}")
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
    idle = page.locator(".jp-StatusBar-Widget", has_text=re.compile(r"\|\s*空闲"))
    idle.first.wait_for(timeout=60_000)  # the kernel has started (zh-CN status bar)
    steps.done(page, "notebook_opened")
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^运行$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^运行所有单元格$")).click()
    prompts = page.locator(".jp-CodeCell .jp-InputArea-prompt")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        texts = [t.strip() for t in prompts.all_inner_texts()]
        numbered = [t for t in texts if re.fullmatch(r"\[\d+\]:", t)]
        if numbered and not any(t in ("[*]:", "[ ]:") for t in texts) and idle.count():
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f"cells did not finish: {prompts.all_inner_texts()}")
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
                          ":has-text('Traceback')")
    assert errors.count() == 0, errors.first.inner_text()
    produced = workspace / "outputs" / "volume_by_district.csv"
    assert produced.is_file(), "the interactive run wrote no outputs/volume_by_district.csv"
    steps.done(page, "notebook_ran_on_twin")
    return produced


def _submit_build(page: Any, platform: Platform, steps: Steps) -> int:
    page.goto(app_url(platform, "builds"))
    form = page.locator("#build-grant-1")
    form.locator("select.notebook").select_option(NOTEBOOK.name)
    form.locator('input.param-name[data-row="0"]').fill("make_chart")
    form.locator('input.param-value[data-row="0"]').fill("false")
    steps.done(page, "build_form")
    form.locator('button[type="submit"]').click()
    page.wait_for_url(re.compile(r".*/services/airlock/builds/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def _wait_for_build(page: Any, steps: Steps) -> int:
    """Reload the build page until it succeeded and names its export request."""
    deadline = time.monotonic() + 240
    state = ""
    while time.monotonic() < deadline:
        page.reload()
        state = page.locator("#build-state").get_attribute("data-state")
        if state in ("failed", "timed_out", "cancelled"):
            raise AssertionError(f"build {state}:\n{page.locator('main').inner_text()}")
        if state == "succeeded" and page.locator("#build-request").count():
            break
        time.sleep(1)
    else:
        raise AssertionError(f"build still {state}:\n{page.locator('main').inner_text()}")
    refs = page.locator("#build-datasets li").evaluate_all("els => els.map(e => e.dataset.ref)")
    assert "travel_records@1" in refs
    assert "real" in page.locator("#build-datasets").inner_text() or \
        "真实" in page.locator("#build-datasets").inner_text()
    steps.done(page, "build_succeeded")
    return int(page.locator("#build-request").get_attribute("data-request"))


def test_story_from_login_to_verified_release(platform: Platform, browser: Any) -> None:  # noqa: F811
    steps = Steps(platform)
    lab, base = _analyst_spawns(browser, platform, steps)
    _twin_is_mounted(lab, base, platform, steps)
    twin_output = _run_all_on_twin(lab, base, platform, steps)

    airlock = lab.context.new_page()  # same browser session: the hub login carries over
    build_id = _submit_build(airlock, platform, steps)
    request_id = _wait_for_build(airlock, steps)
    pinned = airlock.locator("#build-notebook-sha").inner_text()
    assert pinned == _sha256(NOTEBOOK.read_bytes())
    assert json.loads(airlock.locator("#build-parameters").inner_text()) == {"make_chart": False}
    assert "300" in airlock.locator("#build-timeout").inner_text()  # ENCLAVE_BUILD_TIMEOUT_S
    airlock.locator("#build-request").click()
    airlock.wait_for_url(re.compile(rf".*/requests/{request_id}$"))
    deadline = time.monotonic() + 60  # the worker scans the outputs right after the build
    while state_of(airlock) in ("submitted", "scanning") and time.monotonic() < deadline:
        time.sleep(1)
        airlock.reload()
    assert state_of(airlock) == "pending_review"
    assert airlock.locator("#build-provenance").get_attribute("data-build") == str(build_id)
    released = airlock.locator("section.file").first.get_attribute("data-name")
    assert released == "volume_by_district.csv"
    steps.done(airlock, "request_pending_review")
    required = int(airlock.locator("#required-reviews").inner_text())
    lab.context.close()

    reviewers = ["reviewer1", "reviewer2"][:required]
    for reviewer in reviewers:
        page = login(browser, platform, reviewer)
        page.goto(app_url(platform, f"requests/{request_id}"))
        assert "notebook" in page.locator("#build-provenance").inner_text().lower() or \
            page.locator("#build-provenance a").count() == 1
        page.check("#decision-approve")
        page.fill("#decide-comment", f"{reviewer}: aggregate with suppression, approved")
        steps.done(page, f"{reviewer}_reviews")
        page.click("#decide-submit")
        page.wait_for_url(re.compile(rf".*/requests/{request_id}$"))
        final = reviewer == reviewers[-1]
        assert state_of(page) == ("released" if final else "pending_review")
        if final:
            page.goto(app_url(platform, "products"))
            row = page.locator(f'#products tr[data-request="{request_id}"]')
            assert row.get_attribute("data-state") == "published"
            product_id = row.get_attribute("data-product")
            steps.done(page, "product_listed")
        page.context.close()

    bundle = platform.home / "releases" / product_id
    verified = platform.enclave("release", "verify", str(bundle))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    producing = manifest["producing"]
    assert producing["notebook_sha256"] == pinned and producing["image_digest"]
    build = producing["build"]
    assert build["id"] == build_id and build["notebook_sha256"] == pinned
    assert build["parameters"] == {"make_chart": False}
    granted = {d["ref"]: d["content_sha256"] for d in manifest["datasets"]}
    mounted = {d["ref"]: d["content_sha256"] for d in build["datasets"]}
    assert "travel_records@1" in mounted and mounted.items() <= granted.items()
    assert all(len(h) == 64 for h in mounted.values())
    assert all(d["view"] == "real" for d in build["datasets"])
    released_csv = (bundle / "files" / "volume_by_district.csv").read_bytes()
    assert released_csv != twin_output.read_bytes()  # real data, not the twin's numbers
    platform.timings["total_story"] = round(sum(v for k, v in platform.timings.items()
                                                if k[:2].isdigit() and k != "01_up_sh_ready"), 2)
