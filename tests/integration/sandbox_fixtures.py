"""Fixtures and a small client for the sandbox integration tests (real Docker + JupyterHub + CHP).

``HubClient`` speaks the hub REST API and runs code in a sandbox kernel over the Jupyter kernel
websocket (the same path a browser uses, through the proxy). ``running_hub`` starts a real
JupyterHub with configurable-http-proxy on free localhost ports in a temporary ENCLAVE_HOME
seeded with ``enclave demo``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_chp() -> str:
    """Path of configurable-http-proxy, installed from npm if missing."""
    found = shutil.which("configurable-http-proxy")
    if found is None:
        subprocess.run(["npm", "install", "-g", "configurable-http-proxy"], check=True,
                       capture_output=True)
        found = shutil.which("configurable-http-proxy")
    assert found, "configurable-http-proxy is not installed and npm could not install it"
    return found


@dataclass
class KernelResult:
    stdout: str
    error: str | None

    def json(self) -> Any:
        assert self.error is None, self.error
        return json.loads(self.stdout.strip().splitlines()[-1])


class HubClient:
    """REST + kernel-websocket client for one running hub."""

    def __init__(self, url: str, service_token: str) -> None:
        self.url = url.rstrip("/")
        self.service = service_token

    def api(self, method: str, path: str, token: str | None = None, **kw: Any) -> requests.Response:
        headers = {"Authorization": f"token {token or self.service}"}
        return requests.request(method, f"{self.url}/hub/api{path}", headers=headers,
                                timeout=60, **kw)

    def login(self, username: str, password: str) -> requests.Session:
        """A real form login (EnclaveAuthenticator); returns the cookie session."""
        web = requests.Session()
        web.get(f"{self.url}/hub/login", timeout=30)
        xsrf = web.cookies.get("_xsrf", "")
        resp = web.post(f"{self.url}/hub/login?next=", timeout=30, allow_redirects=False,
                        data={"username": username, "password": password, "_xsrf": xsrf})
        assert resp.status_code == 302, (resp.status_code, resp.text[:300])
        return web

    def user_token(self, username: str) -> str:
        resp = self.api("POST", f"/users/{username}/tokens", json={"note": "integration test",
                                                                    "expires_in": 3600})
        assert resp.status_code == 201, resp.text
        return resp.json()["token"]

    def spawn(self, username: str, server: str, token: str, options: dict[str, Any],
              ) -> requests.Response:
        return self.api("POST", f"/users/{username}/servers/{server}", token=token, json=options)

    def server_info(self, username: str, server: str) -> dict[str, Any] | None:
        resp = self.api("GET", f"/users/{username}")
        assert resp.status_code == 200, resp.text
        return resp.json().get("servers", {}).get(server)

    def wait_ready(self, username: str, server: str, timeout: float = 60) -> float:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            info = self.server_info(username, server)
            if info and info.get("ready"):
                return time.monotonic() - start
            if info is None or (not info.get("pending") and not info.get("ready")):
                raise AssertionError(f"{username}/{server} is not starting: {info}")
            time.sleep(0.1)
        raise AssertionError(f"{username}/{server} not ready after {timeout} s")

    def stop(self, username: str, server: str, token: str | None = None) -> None:
        self.api("DELETE", f"/users/{username}/servers/{server}", token=token)

    # -- kernels ----------------------------------------------------------------------------

    def start_kernel(self, username: str, server: str, token: str) -> str:
        resp = requests.post(f"{self.url}/user/{username}/{server}/api/kernels", timeout=60,
                             headers={"Authorization": f"token {token}"}, json={})
        assert resp.status_code == 201, (resp.status_code, resp.text[:300])
        return resp.json()["id"]

    def execute(self, username: str, server: str, token: str, kernel: str, code: str,
                timeout: float = 90) -> KernelResult:
        """Run ``code`` in the kernel; stdout text and the error (ename: evalue) if any."""
        return asyncio.run(self._execute(username, server, token, kernel, code, timeout))

    async def _execute(self, username: str, server: str, token: str, kernel: str, code: str,
                       timeout: float) -> KernelResult:
        ws_url = self.url.replace("http", "ws", 1)
        request = HTTPRequest(f"{ws_url}/user/{username}/{server}/api/kernels/{kernel}/channels",
                              headers={"Authorization": f"token {token}"})
        conn = await websocket_connect(request)
        msg_id = uuid.uuid4().hex
        conn.write_message(json.dumps({
            "header": {"msg_id": msg_id, "username": username, "session": uuid.uuid4().hex,
                       "msg_type": "execute_request", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False,
                        "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
        }))
        out: list[str] = []
        error = None
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                raw = await asyncio.wait_for(conn.read_message(), deadline - time.monotonic())
                if raw is None:
                    raise AssertionError("kernel websocket closed")
                msg = json.loads(raw)
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = msg["header"]["msg_type"], msg["content"]
                if kind == "stream":
                    out.append(content["text"])
                elif kind == "error":
                    error = f"{content['ename']}: {content['evalue']}"
                elif kind == "status" and content["execution_state"] == "idle":
                    return KernelResult("".join(out), error)
        finally:
            conn.close()
        raise AssertionError(f"no reply within {timeout} s; output so far: {''.join(out)}")


@dataclass
class RunningHub:
    client: HubClient
    home: Path
    hub_port: int
    proxy_port: int
    proxy_api_port: int
    process: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str]

    def enclave(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(VENV_BIN / "enclave"), *args], env=self.env,
                              capture_output=True, text=True, timeout=120)

    def container_name(self, user: str, server: str) -> str:
        """The sandbox container's name: DockerSpawner's template with this deployment's prefix."""
        deployment = hashlib.sha256(str(self.home.resolve()).encode()).hexdigest()[:8]
        return f"enclave-{deployment}-{user}--{server}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def shutdown(self) -> None:
        """Stop the hub (it stops its servers and its proxy)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def restart(self) -> None:
        """Stop the hub and start it again on the same state and ports."""
        self.shutdown()
        self.process = _launch(self.env, self.log)
        _wait_for_hub(self.client.url, self.process, self.log)


def _launch(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:
        return subprocess.Popen([str(REPO / "scripts" / "hub.sh")], env=env, stdout=sink,
                                stderr=subprocess.STDOUT, start_new_session=True)


def _wait_for_hub(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"hub exited:\n{log.read_text()[-4000:]}")
        try:
            if requests.get(f"{url}/hub/api/", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise AssertionError(f"hub did not answer:\n{log.read_text()[-4000:]}")


def _cleanup_docker(home: Path) -> None:
    """Remove containers and networks this test hub created (matched by their labels)."""
    label = f"enclave.home={home}"
    ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label={label}"],
                         capture_output=True, text=True).stdout.split()
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)
    nets = subprocess.run(["docker", "network", "ls", "-q", "--filter", f"label={label}"],
                          capture_output=True, text=True).stdout.split()
    if nets:
        subprocess.run(["docker", "network", "rm", *nets], capture_output=True)


def start_hub(tmp: Path, image: str) -> Iterator[RunningHub]:
    """Generator for a module fixture: a seeded ENCLAVE_HOME and a running hub + CHP."""
    ensure_chp()
    home = tmp / "home"
    env = {**os.environ, "ENCLAVE_HOME": str(home), "ENCLAVE_LANG": "en",
           "ENCLAVE_NOTEBOOK_IMAGE": image,
           "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}"}
    seeded = subprocess.run([str(VENV_BIN / "enclave"), "demo"], env=env, capture_output=True,
                            text=True, timeout=300)
    assert seeded.returncode == 0, seeded.stderr
    hub_port, proxy_port, api_port = free_port(), free_port(), free_port()
    token = secrets.token_hex(24)
    env.update({"ENCLAVE_HUB_PORT": str(hub_port), "ENCLAVE_PROXY_PORT": str(proxy_port),
                "ENCLAVE_AIRLOCK_PORT": str(free_port()),
                "ENCLAVE_PROXY_API_PORT": str(api_port), "ENCLAVE_HUB_TEST_TOKEN": token})
    log = tmp / "hub.log"
    process = _launch(env, log)
    url = f"http://127.0.0.1:{proxy_port}"
    hub = RunningHub(HubClient(url, token), home, hub_port, proxy_port, api_port, process, log,
                     env)
    try:
        _wait_for_hub(url, process, log)
        yield hub
    finally:
        hub.shutdown()
        _cleanup_docker(home)
        from hub.sandbox import network

        network.remove_hub_port(hub_port)
