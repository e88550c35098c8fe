"""Seed an empty Enclave with the airport-zone demo: orgs, accounts, datasets, twins, grants.

What it creates (documented for people in ``notebooks/demo_data/README.md``):

- orgs: the operator 郑州航空港数据运营公司, two secondary developers, three data providers
  (交通运输局, 卫健委, 市场监管局) and the regulator 发展统计局;
- one account per role with a documented demo password (:data:`ACCOUNTS`);
- the three demo tables registered in the catalog — travel records and clinic visits at level 3,
  the enterprise register at level 2 (the scanner suggests 3 because of the legal
  representative's name and contact e-mail; the register is public business information
  (企业信息公示), so the demo declares 2 with ``force`` and the override is in the audit log);
- synthetic twins of the level-3 versions;
- two active grants: a public-welfare one and an industry one at a guided price.

Everything goes through the control-plane API as the ``system`` actor, so each step is in the
audit log. Seeding refuses a database that already holds organisations.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub import accounts, catalog, grants
from hub.demo.generate import DATASETS, rows_for, write
from hub.errors import AlreadyExists
from hub.models import Org
from hub.synth.store import build_twin, twin_dir


@dataclass(frozen=True)
class DemoOrg:
    name: str
    kind: str
    title_zh: str
    title_en: str


@dataclass(frozen=True)
class DemoAccount:
    """A demo login. The passwords are public: never seed a production system with these."""

    username: str
    password: str
    org: str
    roles: tuple[str, ...]
    display_name: str


ORGS: tuple[DemoOrg, ...] = (
    DemoOrg("zz-airport-data", "operator", "郑州航空港数据运营公司",
            "Zhengzhou Airport Data Operation Co."),
    DemoOrg("kg-logistics-lab", "developer", "空港智慧物流科技有限公司",
            "Airport Smart Logistics Tech Ltd."),
    DemoOrg("yuhealth-analytics", "developer", "豫康健康数据科技有限公司",
            "Yukang Health Data Tech Ltd."),
    DemoOrg("gkq-transport", "provider", "航空港区交通运输局", "Airport Zone Transport Bureau"),
    DemoOrg("gkq-health", "provider", "航空港区卫生健康委员会", "Airport Zone Health Commission"),
    DemoOrg("gkq-market", "provider", "航空港区市场监督管理局",
            "Airport Zone Market Regulation Bureau"),
    DemoOrg("gkq-stats", "regulator", "航空港区发展统计局",
            "Airport Zone Development and Statistics Bureau"),
)

ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("admin", "Admin-demo-2025", "zz-airport-data", ("admin",), "运营管理员 王敏"),
    DemoAccount("reviewer1", "Review-demo-2025a", "zz-airport-data", ("reviewer",),
                "输出审核员 李强"),
    DemoAccount("reviewer2", "Review-demo-2025b", "zz-airport-data", ("reviewer",),
                "输出审核员 张静"),
    DemoAccount("analyst1", "Analyst-demo-2025a", "kg-logistics-lab", ("analyst",),
                "物流分析师 刘洋"),
    DemoAccount("analyst2", "Analyst-demo-2025b", "yuhealth-analytics", ("analyst",),
                "健康数据分析师 陈晨"),
    DemoAccount("auditor", "Audit-demo-2025", "gkq-stats", ("auditor",), "监管审计员 赵磊"),
    DemoAccount("steward", "Steward-demo-2025", "gkq-transport", ("provider_steward",),
                "数据管理员 孙丽"),
)

# dataset name -> provider org name (the generators' DATASETS name the provider in Chinese)
PROVIDERS = {"travel_records": "gkq-transport", "clinic_visits": "gkq-health",
             "enterprise_register": "gkq-market"}
INDUSTRY_PRICE_CNY = "12000.00"


@dataclass
class SeedResult:
    """What :func:`seed_demo` created."""

    accounts: tuple[DemoAccount, ...]
    versions: dict[str, str]  # dataset -> "name@n"
    levels: dict[str, int]
    twins: dict[str, str]  # "name@n" -> twin folder
    grants: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {
            "accounts": [{"username": a.username, "password": a.password, "org": a.org,
                          "roles": list(a.roles), "display_name": a.display_name}
                         for a in self.accounts],
            "versions": self.versions, "levels": self.levels, "twins": self.twins,
            "grants": self.grants,
        }


def _refuse_non_empty(session: Session) -> None:
    orgs = session.scalar(select(func.count()).select_from(Org)) or 0
    if orgs:
        raise AlreadyExists(
            f"the database already holds {orgs} organization(s); the demo seeds an empty "
            "Enclave only — point ENCLAVE_HOME at a new folder",
            f"数据库中已有 {orgs} 个组织；演示数据只能写入空的 Enclave，请将 ENCLAVE_HOME 指向新目录")


def seed_demo(session: Session, size: str | int = "small", seed: int = 0,
              progress: Callable[[str], None] = lambda _msg: None) -> SeedResult:
    """Seed everything into an empty database (the caller commits)."""
    _refuse_non_empty(session)
    rows = rows_for(size)
    system = accounts.resolve_actor(session, None)
    for org in ORGS:
        accounts.add_org(session, system, org.name, org.kind, org.title_zh, org.title_en)
    for acc in ACCOUNTS:
        accounts.add_user(session, system, acc.username, acc.org, acc.roles,
                          password=acc.password, display_name=acc.display_name,
                          email=f"{acc.username}@demo.enclave.local")
    progress(f"orgs and accounts: {len(ORGS)} / {len(ACCOUNTS)}")
    versions, levels = _register_datasets(session, system, rows, seed, progress)
    twins = {}
    for name, ref in versions.items():
        if levels[name] >= 3:
            build_twin(session, system, ref, seed=seed)
            twins[ref] = str(twin_dir(catalog.get_version(session, ref)))
            progress(f"twin of {ref}")
    created = _grant_access(session, system, versions)
    return SeedResult(ACCOUNTS, versions, levels, twins, created)


def _register_datasets(session: Session, system: accounts.Actor, rows: int, seed: int,
                       progress: Callable[[str], None]) -> tuple[dict[str, str], dict[str, int]]:
    versions, levels = {}, {}
    with tempfile.TemporaryDirectory(prefix="enclave-demo-") as tmp:
        for name, dataset in DATASETS.items():
            path = write(dataset.build(rows, seed), Path(tmp) / f"{name}.parquet")
            spec = catalog.DatasetSpec(
                name=name, title_zh=dataset.title_zh, title_en=dataset.title_en,
                provider=PROVIDERS[name], domain=dataset.domain, level=dataset.level,
                files=[path], update_cadence="", registration_no=f"ZGSJ-DEMO-{name.upper()}",
                description="演示数据（合成，非真实个人信息）/ demo data, synthetic, no real people",
            )
            # The enterprise register is public business information: level 2 below the
            # scanner's suggestion is deliberate and recorded as a forced override.
            result = catalog.register(session, system, spec, force=dataset.level < 3)
            versions[name], levels[name] = result.version.label, result.version.level
            progress(f"registered {result.version.label} (level {result.version.level}, "
                     f"{result.version.row_count} rows)")
    return versions, levels


def _grant_access(session: Session, system: accounts.Actor,
                  versions: dict[str, str]) -> list[dict[str, Any]]:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    plans = [
        dict(developer="kg-logistics-lab", purpose="public_welfare", price=None,
             scenario="航空港区货运通行效率分析（公益）/ freight traffic efficiency (public welfare)",
             items=[versions["travel_records"], versions["enterprise_register"]],
             members=["analyst1"]),
        dict(developer="yuhealth-analytics", purpose="industry", price=INDUSTRY_PRICE_CNY,
             scenario="基层门诊服务需求预测（产业）/ outpatient demand forecast (industry)",
             items=[versions["clinic_visits"]], members=["analyst2"]),
    ]
    created = []
    for plan in plans:
        grant = grants.create_grant(
            session, system, developer=plan["developer"], scenario=plan["scenario"],
            purpose=plan["purpose"], items=[grants.ItemSpec(ref) for ref in plan["items"]],
            members=plan["members"], starts_at=start, ends_at=grants.add_years(start, 1),
            trial_ends_at=grants.add_months(start, 3), price=plan["price"])
        grants.change_state(session, system, grant.id, "activate")
        created.append({"id": grant.id, "developer": plan["developer"],
                        "purpose": plan["purpose"], "items": plan["items"],
                        "members": plan["members"], "state": grant.state})
    return created
