"""EnclaveHubSettings: the hub's own knobs, as traits (defaults from environment variables).

``hub/jupyterhub_config.py`` reads these and wires JupyterHub; ``scripts/hub.sh`` and the
integration tests set the environment variables (free ports, a temporary ENCLAVE_HOME).
``c.EnclaveHubSettings.<trait>`` in a config file works too.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from traitlets import Float, Integer, Unicode, default
from traitlets.config import Configurable

from hub.config import paths


def _env_int(name: str, fallback: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else fallback


class EnclaveHubSettings(Configurable):
    """Where the hub listens, where it keeps state, and its timers."""

    hub_port = Integer(help="Hub port ($ENCLAVE_HUB_PORT, 8081). The hub binds 0.0.0.0 so "
                       "sandboxes reach its API through their gateway; the firewall admits only "
                       "lo and sandbox bridges.").tag(config=True)
    proxy_ip = Unicode(help="Public proxy address ($ENCLAVE_PROXY_IP, 127.0.0.1).",
                       ).tag(config=True)
    proxy_port = Integer(help="Public proxy port ($ENCLAVE_PROXY_PORT, 8000).").tag(config=True)
    proxy_api_port = Integer(help="CHP API port on 127.0.0.1 ($ENCLAVE_PROXY_API_PORT, 8001)."
                             ).tag(config=True)
    state_dir = Unicode(help="Hub state: sqlite, cookie secret, proxy token "
                        "($ENCLAVE_HOME/hub).").tag(config=True)
    idle_timeout = Integer(3600, help="Seconds of inactivity before the idle culler stops a "
                           "sandbox.").tag(config=True)
    reaper_interval = Float(2.0, help="Seconds between revocation/expiry checks.").tag(config=True)
    test_token = Unicode(help="API token of the `enclave-test` service, from "
                         "$ENCLAVE_HUB_TEST_TOKEN; empty (the default) = no such service.",
                         ).tag(config=True)

    @default("hub_port")
    def _hub_port(self) -> int:
        return _env_int("ENCLAVE_HUB_PORT", 8081)

    @default("proxy_ip")
    def _proxy_ip(self) -> str:
        return os.environ.get("ENCLAVE_PROXY_IP", "127.0.0.1")

    @default("proxy_port")
    def _proxy_port(self) -> int:
        return _env_int("ENCLAVE_PROXY_PORT", 8000)

    @default("proxy_api_port")
    def _proxy_api_port(self) -> int:
        return _env_int("ENCLAVE_PROXY_API_PORT", 8001)

    @default("state_dir")
    def _state_dir(self) -> str:
        return str(paths().home / "hub")

    @default("test_token")
    def _test_token(self) -> str:
        return os.environ.get("ENCLAVE_HUB_TEST_TOKEN", "")

    def state(self, name: str) -> Path:
        """A file in :attr:`state_dir` (the folder is created private)."""
        folder = Path(self.state_dir)
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        return folder / name

    def secret(self, name: str) -> str:
        """A random secret kept in :attr:`state_dir` (created 0600 on first use)."""
        path = self.state(name)
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32))
        return path.read_text().strip()
