"""Where Enclave keeps its state.

Everything lives under one directory, ``ENCLAVE_HOME`` (default ``~/.enclave``)::

    $ENCLAVE_HOME/
        enclave.db        SQLite database (unless ENCLAVE_DATABASE_URL points elsewhere)
        store/            immutable dataset versions, one folder per version (+ synthetic twins)
        workspaces/       per-user-per-grant writable workspaces (and their outbox/)
        quarantine/       files copied out of outboxes, waiting for scan and review
        releases/         released secondary products with signed manifests
        keys/             signing keys (Ed25519)
        logs/             service logs
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = "~/.enclave"


@dataclass(frozen=True)
class Paths:
    """The folders under ENCLAVE_HOME. Created on demand by :func:`ensure`."""

    home: Path

    @property
    def database(self) -> Path:
        return self.home / "enclave.db"

    @property
    def store(self) -> Path:
        return self.home / "store"

    @property
    def workspaces(self) -> Path:
        return self.home / "workspaces"

    @property
    def quarantine(self) -> Path:
        return self.home / "quarantine"

    @property
    def releases(self) -> Path:
        return self.home / "releases"

    @property
    def keys(self) -> Path:
        return self.home / "keys"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    def ensure(self) -> Paths:
        for folder in (self.home, self.store, self.workspaces, self.quarantine,
                       self.releases, self.keys, self.logs):
            folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.keys, 0o700)
        return self


def enclave_home() -> Path:
    """The state directory: ``$ENCLAVE_HOME`` or ``~/.enclave``."""
    return Path(os.environ.get("ENCLAVE_HOME", DEFAULT_HOME)).expanduser().resolve()


def paths() -> Paths:
    return Paths(enclave_home())


def database_url() -> str:
    """``$ENCLAVE_DATABASE_URL`` (e.g. PostgreSQL) or the SQLite file under ENCLAVE_HOME."""
    url = os.environ.get("ENCLAVE_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{paths().database}"
