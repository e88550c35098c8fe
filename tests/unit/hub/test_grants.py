"""Grants: the transition table (generated), the seed's limits, expiry by time, and the one
function that says what a user may use."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from hub import accounts, audit, catalog, grants
from hub.errors import (
    EnclaveError,
    InvalidTransition,
    PermissionDenied,
    PolicyViolation,
    ValidationError,
)
from hub.models import GRANT_STATES, AuditEntry

NOW = datetime.now(UTC).replace(microsecond=0)
ACTORS = ("system", "boss", "checker", "inspector", "ana", "steward")  # see the world fixture


def no_tags(table):
    return {}


@pytest.fixture
def session(fresh_session, tmp_path):
    s = fresh_session
    system = accounts.resolve_actor(s, None)
    for name, kind in (("zz-op", "operator"), ("dev1", "developer"), ("dev2", "developer"),
                       ("airport", "provider"), ("stats", "regulator")):
        accounts.add_org(s, system, name, kind)
    for name, org, role in (("boss", "zz-op", "admin"), ("checker", "zz-op", "reviewer"),
                            ("inspector", "stats", "auditor"), ("ana", "dev1", "analyst"),
                            ("bob", "dev1", "analyst"), ("carl", "dev2", "analyst"),
                            ("steward", "airport", "provider_steward")):
        accounts.add_user(s, system, name, org, [role])
    for name, level in (("freight", 2), ("people", 3), ("core", 4)):
        source = tmp_path / f"{name}.csv"
        source.write_text("month,tonnes,note\n2025-01,12,x\n", encoding="utf-8")
        catalog.register(s, system, catalog.DatasetSpec(
            name=name, title_zh=name, provider="airport", domain="交通物流", level=level,
            files=[Path(source)]), tagger=no_tags)
    return s


def make(session, actor="system", **overrides) -> grants.Grant:
    args = dict(developer="dev1", scenario="航空物流时效分析", purpose="public_welfare",
                items=[grants.ItemSpec("freight")], members=["ana"],
                starts_at=NOW - timedelta(days=10), ends_at=NOW + timedelta(days=30))
    args.update(overrides)
    return grants.create_grant(session, accounts.resolve_actor(session, actor), **args)


def test_transition_table_every_allowed_move_works_every_other_is_refused(session):
    checked = 0
    for state in GRANT_STATES:
        for action in grants.ACTIONS:
            for name in ACTORS:
                grant = make(session)
                grant.state = state  # test set-up: put the grant in the starting state
                session.flush()
                actor = accounts.resolve_actor(session, name)
                step = grants.transition_for(state, action)
                allowed = (step is not None and action != "expire"
                           and (actor.is_system or bool(actor.roles & step.roles)))
                try:
                    grants.change_state(session, actor, grant.id, action, reason="test", now=NOW)
                except (InvalidTransition, PermissionDenied) as exc:
                    assert not allowed, f"{name} {action} from {state} refused: {exc}"
                else:
                    assert allowed, f"{name} {action} from {state} should be refused"
                    assert grant.state == step.target
                checked += 1
    assert checked == len(GRANT_STATES) * len(grants.ACTIONS) * len(ACTORS)


def test_only_time_expires_and_only_from_the_states_the_table_names(session):
    for state in GRANT_STATES:
        grant = make(session)
        grant.state = state
        session.flush()
        changed = grants.refresh_state(session, grant, now=grant.ends_at)
        step = grants.transition_for(state, "expire")
        assert changed == (step is not None)
        assert grant.state == (step.target if step else state)


@pytest.mark.parametrize(("start", "end", "ok"), [
    (datetime(2025, 3, 15, tzinfo=UTC), datetime(2028, 3, 15, tzinfo=UTC), True),
    (datetime(2025, 3, 15, tzinfo=UTC), datetime(2028, 3, 16, tzinfo=UTC), False),
    (datetime(2025, 3, 15, tzinfo=UTC), datetime(2028, 3, 15, 0, 0, 1, tzinfo=UTC), False),
    (datetime(2024, 2, 29, tzinfo=UTC), datetime(2027, 2, 28, tzinfo=UTC), True),
    (datetime(2024, 2, 29, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC), False),
])
def test_term_is_at_most_three_calendar_years(session, start, end, ok):
    if ok:
        assert make(session, starts_at=start, ends_at=end).state == "draft"
        return
    with pytest.raises(PolicyViolation) as caught:
        make(session, starts_at=start, ends_at=end)
    assert "at most 3 years" in caught.value.en and "不得超过 3 年" in caught.value.zh


@pytest.mark.parametrize(("trial_end", "ok"), [
    (datetime(2025, 9, 15, tzinfo=UTC), True),
    (datetime(2025, 9, 16, tzinfo=UTC), False),
])
def test_trial_is_at_most_six_calendar_months(session, trial_end, ok):
    start, end = datetime(2025, 3, 15, tzinfo=UTC), datetime(2027, 3, 15, tzinfo=UTC)
    if ok:
        assert make(session, starts_at=start, ends_at=end, trial_ends_at=trial_end).trial_ends_at
        return
    with pytest.raises(PolicyViolation) as caught:
        make(session, starts_at=start, ends_at=end, trial_ends_at=trial_end)
    assert "at most 6 months" in caught.value.en and "6 个月" in caught.value.zh


def test_calendar_arithmetic_clamps_to_the_last_day_of_the_month():
    assert grants.add_months(datetime(2025, 8, 31, tzinfo=UTC), 6) == datetime(
        2026, 2, 28, tzinfo=UTC)
    assert grants.add_years(datetime(2024, 2, 29, tzinfo=UTC), 4) == datetime(
        2028, 2, 29, tzinfo=UTC)


def test_level_four_is_never_authorizable_and_the_refusal_is_audited(session):
    with pytest.raises(PolicyViolation) as caught:
        make(session, items=[grants.ItemSpec("freight"), grants.ItemSpec("core@1")])
    assert "core@1: level 4" in caught.value.en and "核心" in caught.value.zh
    entry = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert (entry.action, entry.outcome) == ("grant.create", "refused")
    assert json.loads(entry.details)["reason"]["code"] == "policy"


@pytest.mark.parametrize(("purpose", "price", "message"), [
    ("industry", None, "guided price"),
    ("industry", "-5", "guided price"),
    ("industry", "abc", "not a number"),
    ("public_welfare", "100", "free"),
    ("charity", None, "purpose"),
])
def test_purpose_and_price_rules(session, purpose, price, message):
    with pytest.raises(ValidationError, match=message):
        make(session, purpose=purpose, price=price)


def test_industry_grants_store_the_guided_price(session):
    grant = make(session, purpose="industry", price="12000.50")
    assert (grant.price_minor, grant.currency) == (1200050, "CNY")
    assert grants.grant_json(grant)["price"] == "12000.50"


def test_members_must_belong_to_the_developer_org(session):
    with pytest.raises(ValidationError, match="carl is not a user of the developer org"):
        make(session, members=["ana", "carl"])


def test_unknown_columns_are_refused(session):
    with pytest.raises(ValidationError, match="unknown columns"):
        make(session, items=[grants.ItemSpec("freight", ["month", "wingspan"])])


def test_usable_versions_follow_membership_state_and_columns(session):
    system = accounts.resolve_actor(session, None)
    grant = make(session, items=[grants.ItemSpec("freight@1", ["tonnes", "month"]),
                                 grants.ItemSpec("people")])
    assert grants.usable_versions(session, "ana", grant, NOW) == []  # draft
    grants.change_state(session, system, grant.id, "activate", now=NOW)
    usable = grants.usable_versions(session, "ana", grant.id, NOW)
    assert [(u.ref, u.columns, u.restricted, u.sandbox_view) for u in usable] == [
        ("freight@1", ("month", "tonnes"), True, "real"),
        ("people@1", ("month", "tonnes", "note"), False, "twin"),
    ]
    assert usable[0].path == catalog.version_dir(catalog.get_version(session, "freight@1"))
    assert grants.usable_versions(session, "bob", grant, NOW) == []  # not a member
    assert grants.usable_versions(session, "carl", grant, NOW) == []  # other org
    assert grants.usable_versions(session, "ana", grant, grant.starts_at - timedelta(1)) == []
    grants.change_state(session, system, grant.id, "suspend", now=NOW)
    assert grants.usable_versions(session, "ana", grant, NOW) == []
    grants.change_state(session, system, grant.id, "resume", now=NOW)
    assert grants.active_grants_for(session, "ana", NOW) == [grant]
    grants.set_members(session, system, grant.id, add=["bob"], remove=["ana"])
    assert grants.usable_versions(session, "ana", grant, NOW) == []
    assert len(grants.usable_versions(session, "bob", grant, NOW)) == 2


def test_an_expired_grant_yields_nothing_and_its_expiry_is_audited_once(session):
    system = accounts.resolve_actor(session, None)
    grant = make(session)
    grants.change_state(session, system, grant.id, "activate", now=NOW)
    assert grants.usable_versions(session, "ana", grant, NOW)
    later = grant.ends_at + timedelta(seconds=1)
    assert grants.usable_versions(session, "ana", grant, later) == []
    assert grants.get_grant(session, grant.id, later).state == "expired"
    grants.list_grants(session, now=later)
    expiries = [e for e in audit.entries(session) if e.action == "grant.expire"]
    assert len(expiries) == 1 and expiries[0].object_id == str(grant.id)
    with pytest.raises(InvalidTransition):
        grants.change_state(session, system, grant.id, "resume", now=later)


def test_expire_due_expires_every_grant_past_its_end(session):
    system = accounts.resolve_actor(session, None)
    first, second, third = make(session), make(session), make(session)
    for grant in (first, second):
        grants.change_state(session, system, grant.id, "activate", now=NOW)
    grants.change_state(session, system, second.id, "suspend", now=NOW)
    expired = grants.expire_due(session, system, NOW + timedelta(days=31))
    assert sorted(g.id for g in expired) == [first.id, second.id]
    assert third.state == "draft"


def test_revoke_needs_a_reason_and_records_it(session):
    system = accounts.resolve_actor(session, None)
    grant = make(session)
    with pytest.raises(ValidationError, match="reason"):
        grants.change_state(session, system, grant.id, "revoke", now=NOW)
    grants.change_state(session, system, grant.id, "revoke", reason="违约 breach", now=NOW)
    assert (grant.state, grant.state_reason) == ("revoked", "违约 breach")
    last = list(audit.entries(session))[-1]
    assert json.loads(last.details) == {"from": "draft", "to": "revoked", "reason": "违约 breach"}


def test_activating_after_the_end_is_refused(session):
    grant = make(session, starts_at=NOW - timedelta(days=60), ends_at=NOW - timedelta(days=1))
    with pytest.raises(EnclaveError, match="term ended"):
        grants.change_state(session, accounts.resolve_actor(session, None), grant.id,
                            "activate", now=NOW)


def test_non_admins_cannot_create_grants(session):
    with pytest.raises(PermissionDenied):
        make(session, actor="checker")
    assert make(session, actor="boss").operator_org.name == "zz-op"
