"""The airlock web app: a JupyterHub service for export requests, reviews and releases.

Run by the hub (``c.JupyterHub.services``, see :func:`hub.airlock.web.scopes.service_spec`) as
``python -m hub.airlock.web``; users sign in through the hub (HubOAuth). zh-CN first, ``?lang=en``
switches (kept in a cookie). Pages under the service prefix (``/services/airlock/``):

====================================  =========================================================
``/``                                 queue: waiting for my review / my requests / all
``/new``                              analyst: pick outbox files of an active grant, submit
``/requests/<id>``                    request page: grant, datasets, files rendered with flagged
                                      cells/spans, findings, decisions, history, decision form
``/requests/<id>/decide`` (POST)      approve / reject / return (+ comment, private note)
``/requests/<id>/withdraw`` (POST)    the requester withdraws
``/requests/<id>/files/<fid>/image``  a quarantined PNG/JPEG served with its real type
``/products``                         released products (purpose free/fee, revoked state)
``/products/<id>/files/<name>``       download (checked and audited by the service)
``/builds``, ``/builds/<id>``          batch builds: submit, list, one build (:mod:`.builds`)
====================================  =========================================================

Security: CSP without inline script, ``X-Frame-Options: DENY``, ``nosniff``, XSRF on every POST,
templates escape everything, uploaded markup is shown as source only.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from jupyterhub.services.auth import HubOAuthCallbackHandler
from jupyterhub.utils import url_path_join
from tornado import web

from hub.airlock.web import builds, handlers

HERE = Path(__file__).parent


def make_app(prefix: str | None = None, hub_home: str | None = None) -> web.Application:
    """The tornado application mounted at ``prefix`` ($JUPYTERHUB_SERVICE_PREFIX)."""
    prefix = prefix or os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/airlock/")
    prefix = prefix if prefix.endswith("/") else prefix + "/"
    if hub_home is None:
        hub_home = url_path_join(os.environ.get("JUPYTERHUB_BASE_URL", "/"), "hub/home")
    routes = [
        (prefix, handlers.QueueHandler),
        (prefix + "new", handlers.NewRequestHandler),
        (prefix + r"requests/(\d+)", handlers.RequestHandler),
        (prefix + r"requests/(\d+)/decide", handlers.DecideHandler),
        (prefix + r"requests/(\d+)/withdraw", handlers.WithdrawHandler),
        (prefix + r"requests/(\d+)/files/(\d+)/image", handlers.ImageHandler),
        (prefix + "products", handlers.ProductsHandler),
        (prefix + r"products/(\d+)/files/([^/]+)", handlers.DownloadHandler),
        (prefix + "oauth_callback", HubOAuthCallbackHandler),
        *[(prefix + path, handler) for path, handler in builds.ROUTES],
    ]
    return web.Application(
        routes,
        prefix=prefix,
        hub_home=hub_home,
        template_path=str(HERE / "templates"),
        static_path=str(HERE / "static"),
        static_url_prefix=prefix + "static/",
        cookie_secret=secrets.token_bytes(32),
        xsrf_cookies=True,
        autoescape="xhtml_escape",
    )
