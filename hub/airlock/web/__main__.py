"""``python -m hub.airlock.web``: serve the airlock app where JupyterHub says (its service URL)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from urllib.parse import urlparse

from hub.airlock.web import make_app
from hub.airlock.web.scopes import port


def _resume() -> None:
    from hub.airlock import service
    from hub.db import session

    with session() as db:
        report = service.resume(db)
    logging.getLogger("tornado.application").info("airlock resume: %s", report.to_json())


async def serve() -> None:
    """Listen on the host and port of $JUPYTERHUB_SERVICE_URL (127.0.0.1 only by default)."""
    url = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", f"http://127.0.0.1:{port()}"))
    await asyncio.to_thread(_resume)  # finish whatever a crash left half done
    app = make_app()
    app.listen(url.port or port(), address=url.hostname or "127.0.0.1", xheaders=False)
    logging.getLogger("tornado.application").info("airlock web app on %s", url.geturl())
    # JupyterHub stops services with SIGINT, then SIGTERM. A process started from a background
    # job inherits SIGINT as ignored, so handle both explicitly and leave at once.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    logging.getLogger("tornado.application").info("airlock web app stopped")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="[airlock %(levelname)s] %(message)s")
    asyncio.run(serve())


if __name__ == "__main__":
    main()
