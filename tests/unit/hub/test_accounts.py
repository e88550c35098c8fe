"""Orgs, users, roles, Argon2 passwords and permission refusals (all audited)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub import accounts
from hub.errors import AlreadyExists, PermissionDenied, ValidationError
from hub.models import AuditEntry


@pytest.fixture
def session(fresh_session):
    s = fresh_session
    system = accounts.resolve_actor(s, None)
    accounts.add_org(s, system, "zz-op", "operator", "郑港运营", "ZZ Operator")
    accounts.add_org(s, system, "dev1", "developer")
    accounts.add_org(s, system, "stats", "regulator")
    return s


def _last_entry(session) -> AuditEntry:
    return session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()


def test_password_is_stored_as_argon2id_and_checks(session):
    system = accounts.resolve_actor(session, None)
    user = accounts.add_user(session, system, "alice", "zz-op", ["admin", "reviewer"],
                             password="correct horse battery")
    assert user.password_hash.startswith("$argon2id$")
    assert "correct horse" not in user.password_hash
    assert accounts.check_password(user.password_hash, "correct horse battery")
    assert not accounts.check_password(user.password_hash, "wrong horse battery")
    assert accounts.authenticate(session, "alice", "correct horse battery") is user
    assert accounts.authenticate(session, "alice", "nope nope nope") is None
    assert (_last_entry(session).action, _last_entry(session).outcome) == ("auth.login",
                                                                          "refused")


def test_short_password_is_refused_and_the_refusal_is_audited(session):
    system = accounts.resolve_actor(session, None)
    with pytest.raises(ValidationError, match="password"):
        accounts.add_user(session, system, "bob", "dev1", ["analyst"], password="short")
    entry = _last_entry(session)
    assert (entry.action, entry.outcome, entry.object_id) == ("user.add", "refused", "bob")
    assert session.scalars(select(accounts.User).where(
        accounts.User.username == "bob")).first() is None


def test_a_user_may_hold_several_roles_that_fit_their_org(session):
    system = accounts.resolve_actor(session, None)
    accounts.add_user(session, system, "carol", "zz-op", ["admin", "auditor"])
    assert accounts.get_user(session, "carol").roles == {"admin", "auditor"}
    assert accounts.set_roles(session, system, "carol", add=["reviewer"],
                              remove=["auditor"]) == {"admin", "reviewer"}


@pytest.mark.parametrize(("org", "role"), [("dev1", "reviewer"), ("dev1", "admin"),
                                           ("zz-op", "analyst"), ("stats", "provider_steward")])
def test_roles_that_do_not_fit_the_org_kind_are_refused(session, org, role):
    system = accounts.resolve_actor(session, None)
    with pytest.raises(ValidationError, match=f"roles: {role}"):
        accounts.add_user(session, system, "dave", org, [role])


def test_only_admins_add_users_and_the_refusal_names_the_actor(session):
    system = accounts.resolve_actor(session, None)
    accounts.add_user(session, system, "ana", "dev1", ["analyst"])
    analyst = accounts.resolve_actor(session, "ana")
    with pytest.raises(PermissionDenied, match="ana may not user.add"):
        accounts.add_user(session, analyst, "eve", "dev1", ["analyst"])
    entry = _last_entry(session)
    assert (entry.actor, entry.outcome) == ("ana", "refused")


def test_duplicates_and_bad_names_are_refused(session):
    system = accounts.resolve_actor(session, None)
    with pytest.raises(AlreadyExists):
        accounts.add_org(session, system, "dev1", "developer")
    with pytest.raises(ValidationError, match="kind"):
        accounts.add_org(session, system, "x", "bank")
    with pytest.raises(ValidationError, match="username"):
        accounts.add_user(session, system, "../root", "dev1", ["analyst"])
    with pytest.raises(ValidationError, match="reserved"):
        accounts.add_user(session, system, "system", "zz-op", ["admin"])


def test_users_may_change_their_own_password_only(session):
    system = accounts.resolve_actor(session, None)
    accounts.add_user(session, system, "ana", "dev1", ["analyst"])
    accounts.add_user(session, system, "ben", "dev1", ["analyst"])
    ana = accounts.resolve_actor(session, "ana")
    accounts.set_password(session, ana, "ana", "a much longer secret")
    assert accounts.authenticate(session, "ana", "a much longer secret") is not None
    with pytest.raises(PermissionDenied):
        accounts.set_password(session, ana, "ben", "another long secret")
