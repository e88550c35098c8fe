"""The airlock web app's JupyterHub wiring: custom RBAC scopes, role scopes and the service spec.

JupyterHub 6 needs custom scopes declared in ``c.JupyterHub.custom_scopes``; users get them
through the Enclave roles that :class:`hub.sandbox.auth.EnclaveAuthenticator` assigns at login
(``ROLE_MAP``). :func:`extend_role_scopes` adds, per JupyterHub role, the scope that lets the
user open the service plus the airlock's own custom scope. These scopes only open pages of the
app; what a person may do to a request is decided by :mod:`hub.airlock.permissions`.
"""

from __future__ import annotations

import os
import sys
from typing import Any

SERVICE_NAME = "airlock"
PORT_ENV = "ENCLAVE_AIRLOCK_PORT"
DEFAULT_PORT = 8090

REVIEW = "custom:enclave-airlock:review"
REQUEST = "custom:enclave-airlock:request"
AUDIT = "custom:enclave-airlock:audit"

AIRLOCK_SCOPES: dict[str, dict[str, str]] = {
    REVIEW: {"description": "审核出域申请 / review export requests in the airlock"},
    REQUEST: {"description": "提出并查看自己的出域申请 / make and follow own export requests"},
    AUDIT: {"description": "只读查看全部出域申请与产品 / read every export request and product"},
}

ACCESS = f"access:services!service={SERVICE_NAME}"

# JupyterHub role (hub.sandbox.auth.ROLE_MAP values) -> scopes the airlock adds to it.
AIRLOCK_ROLE_SCOPES: dict[str, list[str]] = {
    "enclave-reviewer": [ACCESS, REVIEW],
    "enclave-analyst": [ACCESS, REQUEST],
    "enclave-auditor": [ACCESS, AUDIT],
    "enclave-admin": [ACCESS, AUDIT],
}


def extend_role_scopes(role_scopes: dict[str, list[str]]) -> None:
    """Add the airlock's scopes to the Enclave JupyterHub roles (idempotent, in place)."""
    for role, extra in AIRLOCK_ROLE_SCOPES.items():
        if role not in role_scopes:
            continue
        role_scopes[role].extend(s for s in extra if s not in role_scopes[role])


def port() -> int:
    """The app's port on 127.0.0.1 ($ENCLAVE_AIRLOCK_PORT, default 8090)."""
    value = os.environ.get(PORT_ENV, "").strip()
    return int(value) if value else DEFAULT_PORT


def service_spec(enclave_home: str) -> dict[str, Any]:
    """The ``c.JupyterHub.services`` entry: a hub-managed service shown on the hub home page."""
    return {
        "name": SERVICE_NAME,
        "display": True,
        "url": f"http://127.0.0.1:{port()}",
        "command": [sys.executable, "-m", "hub.airlock.web"],
        # JupyterHub gives a service only the environment named here: the database and the
        # build limits (builds are submitted from this app) must match the hub's.
        "environment": {"ENCLAVE_HOME": enclave_home, PORT_ENV: str(port()),
                        **{k: v for k, v in os.environ.items()
                           if k.startswith("ENCLAVE_BUILD_") or k == "ENCLAVE_DATABASE_URL"}},
        "oauth_no_confirm": True,  # an Enclave-internal app: no "authorize access?" page
        "oauth_client_allowed_scopes": [REVIEW, REQUEST, AUDIT],
        "info": {"zh": "出域审核（Airlock）", "en": "Airlock: export requests and releases"},
    }
