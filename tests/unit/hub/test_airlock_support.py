"""Shared world for the airlock tests (imported by test_airlock_*.py and test_release*.py).

Orgs: operator ``zz-op`` (admin ``boss``, reviewers ``rev1``-``rev3``), developers ``dev1``
(analysts ``ana``, ``bob``) and ``dev2`` (analyst ``carl``), regulator ``stats`` (auditor
``inspector``). One level-3 dataset; grant 1 for dev1 (ana, bob), grant 2 for dev2 (carl).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from hub import accounts, catalog, db, grants
from hub.accounts import Actor
from hub.airlock import quarantine, service
from hub.models import AirlockRequest, UserRole

NOW = datetime.now(UTC).replace(microsecond=0)
CLEAN_CSV = "district,visits\nA,120\nB,340\nC,560\n"
REVIEW_CSV = "district,visits\nA,0\nB,340\nC,560\n"  # a zero cell: SDC review at level 3
RESIDENT_ID_CSV = "name,id\nx,11010519491231002X\n"  # valid GB 11643 checksum: block


@dataclass
class World:
    session: Session
    home: Path
    grant_id: int
    other_grant_id: int

    def actor(self, name: str | None) -> Actor:
        return accounts.resolve_actor(self.session, name)

    def put(self, name: str, text: str = CLEAN_CSV, user: str = "ana",
            grant: int | None = None) -> Path:
        outbox = quarantine.outbox_dir(user, grant or self.grant_id)
        outbox.mkdir(parents=True, exist_ok=True)
        path = outbox / name
        path.write_text(text, encoding="utf-8")
        return path

    def submit(self, files: dict[str, str], user: str = "ana",
               grant: int | None = None) -> AirlockRequest:
        for name, text in files.items():
            self.put(name, text, user, grant)
        specs = [service.FileSpec(name, f"context of {name}", "needed for the report")
                 for name in files]
        return service.submit_request(self.session, self.actor(user), grant or self.grant_id,
                                      specs)

    def force_role(self, username: str, role: str) -> None:
        """Give a role bypassing the org-kind rules (simulates a misconfigured account)."""
        user = accounts.get_user(self.session, username)
        user.role_rows.append(UserRole(role=role))
        self.session.commit()


def no_tags(_table):  # type: ignore[no-untyped-def]
    return {}


def build_world(home: Path, session: Session) -> World:
    system = accounts.resolve_actor(session, None)
    for name, kind in (("zz-op", "operator"), ("dev1", "developer"), ("dev2", "developer"),
                       ("airport", "provider"), ("stats", "regulator")):
        accounts.add_org(session, system, name, kind)
    for name, org, role in (("boss", "zz-op", "admin"), ("rev1", "zz-op", "reviewer"),
                            ("rev2", "zz-op", "reviewer"), ("rev3", "zz-op", "reviewer"),
                            ("ana", "dev1", "analyst"), ("bob", "dev1", "analyst"),
                            ("carl", "dev2", "analyst"), ("inspector", "stats", "auditor")):
        accounts.add_user(session, system, name, org, [role])
    source = home.parent / "visits.csv"
    source.write_text("month,district,visits\n2025-01,A,120\n2025-02,B,340\n", encoding="utf-8")
    catalog.register(session, system, catalog.DatasetSpec(
        name="visits", title_zh="门诊量", provider="airport", domain="卫生健康", level=3,
        files=[source]), tagger=no_tags)
    ids = []
    for developer, members, purpose, price in (("dev1", ["ana", "bob"], "public_welfare", None),
                                               ("dev2", ["carl"], "industry", "100.00")):
        grant = grants.create_grant(
            session, system, developer=developer, scenario="门诊需求分析", purpose=purpose,
            items=[grants.ItemSpec("visits")], members=members, price=price,
            starts_at=NOW - timedelta(days=1), ends_at=NOW + timedelta(days=300))
        grants.change_state(session, system, grant.id, "activate")
        ids.append(grant.id)
    session.commit()
    return World(session, home, ids[0], ids[1])


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    home = tmp_path / "home"
    monkeypatch.setenv("ENCLAVE_HOME", str(home))
    monkeypatch.delenv("ENCLAVE_DATABASE_URL", raising=False)
    with db.session() as session:
        yield build_world(home, session)
    db.dispose_all()
