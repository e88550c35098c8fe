"""The build worker: runs queued builds one at a time and the product-contract scheduler.

``python -m hub.builds.worker`` loops (a JupyterHub managed service in
``hub/jupyterhub_config.py``); ``enclave build run-queue --once`` does one pass and returns.
At start it fails builds a dead worker left ``running`` (:func:`hub.builds.runner.recover`).
One build at a time keeps real-data runs predictable on a small host; run more workers for more
(claiming is atomic).

Public API::

    run_queue(once=True, poll_s=5.0, max_builds=None) -> list[int]   # ids of builds run
    main(argv=None) -> int
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time

from hub import db
from hub.builds import contracts, runner

log = logging.getLogger("enclave.builds")


def _pass(max_builds: int | None, stop: threading.Event) -> list[int]:
    """Schedule due contracts, then run queued builds until none is left (or ``max_builds``)."""
    ran: list[int] = []
    with db.session() as session:
        for build in contracts.schedule_due(session):
            log.info("contract %s: queued rebuild %s", build.contract_id, build.id)
        while not stop.is_set() and (max_builds is None or len(ran) < max_builds):
            build = runner.claim_next(session)
            if build is None:
                break
            log.info("build %s: running", build.id)
            runner.run(session, build)
            log.info("build %s: %s %s", build.id, build.state, build.state_reason)
            ran.append(build.id)
    return ran


def run_queue(once: bool = True, poll_s: float = 5.0, max_builds: int | None = None,
              stop: threading.Event | None = None) -> list[int]:
    """Run the queue; with ``once`` a single pass, else until ``stop`` is set (or a signal)."""
    stop = stop or threading.Event()
    db.init_db()
    with db.session() as session:
        recovered = runner.recover(session)
    if recovered:
        log.warning("builds left running by a stopped worker marked failed: %s", recovered)
    ran: list[int] = []
    while True:
        ran += _pass(max_builds, stop)
        if once or stop.wait(poll_s):
            return ran


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hub.builds.worker",
                                     description="Enclave build worker / 构建队列服务")
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    parser.add_argument("--poll", type=float, default=5.0, help="seconds between passes")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    started = time.monotonic()
    ran = run_queue(once=args.once, poll_s=args.poll, stop=stop)
    log.info("worker stopped after %.0f s; ran %d builds", time.monotonic() - started, len(ran))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
