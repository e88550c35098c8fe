"""JupyterHub configuration for Enclave (run: scripts/hub.sh, or jupyterhub -f this file).

Knobs: EnclaveHubSettings (hub/sandbox/settings.py; env ENCLAVE_HUB_PORT, ENCLAVE_PROXY_IP,
ENCLAVE_PROXY_PORT, ENCLAVE_PROXY_API_PORT, ENCLAVE_HUB_TEST_TOKEN), GrantedDockerSpawner
(hub/sandbox/spawner.py) and EnclaveAuthenticator (hub/sandbox/auth.py); see docs/sandbox.md.
"""

# ruff: noqa: F821  (`c` is provided by JupyterHub when it loads this file)
import sys

from hub.sandbox import network
from hub.sandbox.auth import CUSTOM_SCOPES
from hub.sandbox.reaper import start_in_hub
from hub.sandbox.settings import EnclaveHubSettings

s = EnclaveHubSettings(config=c)

# -- where things live --------------------------------------------------------------------------
c.JupyterHub.db_url = f"sqlite:///{s.state('jupyterhub.sqlite')}"
c.JupyterHub.cookie_secret_file = str(s.state("jupyterhub_cookie_secret"))
c.JupyterHub.pid_file = str(s.state("jupyterhub.pid"))
c.ConfigurableHTTPProxy.pid_file = str(s.state("jupyterhub-proxy.pid"))
c.ConfigurableHTTPProxy.auth_token = s.secret("proxy_auth_token")

# -- network: public proxy on loopback; hub on 0.0.0.0 (sandboxes reach it via their gateway) --
c.JupyterHub.bind_url = f"http://{s.proxy_ip}:{s.proxy_port}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{s.proxy_api_port}"
c.JupyterHub.hub_ip = "0.0.0.0"
c.JupyterHub.hub_port = s.hub_port
c.JupyterHub.hub_connect_ip = "127.0.0.1"  # the proxy (on the host) reaches the hub here
network.install_rules(s.hub_port)  # idempotent; sandboxes may reach only this port

# -- who logs in, and what they may do ----------------------------------------------------------
c.JupyterHub.authenticator_class = "hub.sandbox.auth.EnclaveAuthenticator"
c.JupyterHub.custom_scopes = CUSTOM_SCOPES
c.JupyterHub.admin_access = False  # nobody opens someone else's sandbox

# -- sandboxes ----------------------------------------------------------------------------------
c.JupyterHub.spawner_class = "hub.sandbox.spawner.GrantedDockerSpawner"
c.JupyterHub.allow_named_servers = True  # one server per grant: g<grant id>
c.JupyterHub.named_server_limit_per_user = 10
c.GrantedDockerSpawner.mem_limit = "2G"
c.GrantedDockerSpawner.cpu_limit = 1.0
c.GrantedDockerSpawner.pids_limit = 512
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 30

# -- services: idle culler; test service only when a token is configured -----------------------
services = [{"name": "idle-culler", "command": [
    sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={s.idle_timeout}",
    "--cull-every=300"]}]
roles = [{"name": "idle-culler", "services": ["idle-culler"],
          "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]}]
if s.test_token:
    services.append({"name": "enclave-test", "api_token": s.test_token})
    roles.append({"name": "enclave-test", "services": ["enclave-test"],
                  "scopes": ["admin:users", "tokens", "list:users", "read:servers",
                             "delete:servers"]})
# -- airlock web app (owned by hub/airlock/web; keep this block self-contained) ---------------
from hub.airlock.web import scopes as airlock_scopes  # noqa: E402
from hub.config import paths as enclave_paths  # noqa: E402
from hub.sandbox.auth import ROLE_SCOPES  # noqa: E402

c.JupyterHub.custom_scopes = {**CUSTOM_SCOPES, **airlock_scopes.AIRLOCK_SCOPES}
airlock_scopes.extend_role_scopes(ROLE_SCOPES)  # access + custom scope per Enclave role
services.append(airlock_scopes.service_spec(str(enclave_paths().home)))
# -- end airlock ------------------------------------------------------------------------------
# -- build worker (owned by hub/builds; keep this block self-contained) ------------------------
import os  # noqa: E402

services.append({"name": "enclave-builds", "command": [sys.executable, "-m", "hub.builds.worker"],
                 "environment": {"ENCLAVE_HOME": str(enclave_paths().home), **{
                     k: v for k, v in os.environ.items()
                     if k.startswith("ENCLAVE_BUILD_") or k in ("ENCLAVE_DATABASE_URL",
                                                                 "ENCLAVE_NOTEBOOK_IMAGE")}}})
# -- end build worker -------------------------------------------------------------------------
c.JupyterHub.services = services
c.JupyterHub.load_roles = roles

# -- revocation and expiry ----------------------------------------------------------------------
start_in_hub(s.reaper_interval)
