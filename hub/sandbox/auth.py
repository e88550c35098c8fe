"""EnclaveAuthenticator: JupyterHub logins checked against the control plane's users.

Passwords are verified by :func:`hub.accounts.authenticate` (Argon2id; only active users; every
attempt audited as ``auth.login``). Enclave roles become JupyterHub roles (``manage_roles``) so
RBAC follows the control plane at each login:

==================  =================================================================
Enclave role        JupyterHub role (defined in hub/jupyterhub_config.py)
==================  =================================================================
analyst             ``enclave-analyst``: start/stop/use their own servers
admin               ``enclave-admin``: list users and servers, stop servers (cannot open
                    them: access to a sandbox is access to its data)
reviewer            ``enclave-reviewer``: custom scope for the review service
auditor             ``enclave-auditor``: custom scope for the audit service
provider_steward    ``enclave-steward``: custom scope for usage reports
==================  =================================================================

Nobody is a JupyterHub admin: ``admin`` in JupyterHub can open every user's server.
"""

from __future__ import annotations

import asyncio
from typing import Any

from jupyterhub.auth import Authenticator
from traitlets import Dict, Unicode, default

from hub.accounts import authenticate
from hub.db import session as db_session

ROLE_MAP = {
    "analyst": "enclave-analyst",
    "admin": "enclave-admin",
    "reviewer": "enclave-reviewer",
    "auditor": "enclave-auditor",
    "provider_steward": "enclave-steward",
}
BASE_ROLE = "enclave-member"

CUSTOM_SCOPES: dict[str, dict[str, str]] = {
    "custom:enclave:review": {"description": "审核导出申请 / review export requests"},
    "custom:enclave:audit": {"description": "只读审计日志与报告 / read the audit trail"},
    "custom:enclave:usage": {"description": "查看本单位数据的使用情况 / dataset usage reports"},
}

# JupyterHub roles (name -> scopes). Replaces JupyterHub's default "user" role at login, so a
# reviewer or auditor cannot even start a server; only analysts hold "self".
ROLE_SCOPES: dict[str, list[str]] = {
    BASE_ROLE: ["read:users!user", "read:servers!user", "users:activity!user"],
    "enclave-analyst": ["self"],
    "enclave-admin": ["list:users", "read:users", "read:servers", "delete:servers"],
    "enclave-reviewer": ["custom:enclave:review"],
    "enclave-auditor": ["custom:enclave:audit"],
    "enclave-steward": ["custom:enclave:usage"],
}


def role_spec(name: str) -> dict[str, Any]:
    """A JupyterHub role dict (``load_roles`` / ``manage_roles`` format)."""
    return {"name": name, "scopes": list(ROLE_SCOPES[name]),
            "description": f"Enclave role {name} (managed by EnclaveAuthenticator)"}

class EnclaveAuthenticator(Authenticator):
    """Username/password against ``hub.accounts`` (the Enclave database)."""

    role_map = Dict(ROLE_MAP, help="Enclave role -> JupyterHub role name granted at login.",
                    ).tag(config=True)
    database_url = Unicode(
        "", help="SQLAlchemy URL of the Enclave database (empty: hub.config.database_url()).",
    ).tag(config=True)

    @default("manage_roles")
    def _default_manage_roles(self) -> bool:
        return True

    async def load_managed_roles(self) -> list[dict[str, Any]]:
        """Define every Enclave role at hub start (assigned to users at login)."""
        return [role_spec(name) for name in ROLE_SCOPES]

    @default("reset_managed_roles_on_startup")
    def _default_reset_managed_roles(self) -> bool:
        # JupyterHub 6.1.1 raises KeyError('users') at start when managed roles already have
        # members and this is False (app.init_role_assignment); True takes the tested path and
        # keeps members, since our role specs leave `users` undefined.
        return True

    @default("allow_all")
    def _default_allow_all(self) -> bool:
        # whoever the control plane authenticates may log in; what they can do is RBAC + grants
        return True

    def _check(self, username: str, password: str) -> dict[str, Any] | None:
        with db_session(self.database_url or None) as db:
            user = authenticate(db, username, password)
            if user is None:
                return None
            names = {BASE_ROLE} | {self.role_map[r] for r in user.roles if r in self.role_map}
            return {"name": user.username, "admin": False,
                    "roles": [role_spec(n) for n in sorted(names)], "auth_state": None}

    async def authenticate(self, handler: Any, data: dict[str, str]) -> dict[str, Any] | None:
        username = (data.get("username") or "").strip()
        password = data.get("password") or ""
        if not username or not password or len(username) > 64 or len(password) > 1024:
            return None
        return await asyncio.to_thread(self._check, username, password)
