"""The airlock state table, tested from the table itself (not hand-listed): every step works for
its ``who`` and only for it, every other (state, action) is refused, and the docs carry the same
table."""

from __future__ import annotations

from pathlib import Path

import pytest
import test_airlock_support as support

from hub.airlock import permissions, service, states
from hub.errors import InvalidTransition, PermissionDenied

world = support.world  # the shared fixture

# one actor holding each relation to a request made by ana (dev1); the rest hold none
HOLDER = {"requester": "ana", "reviewer": "rev1", "admin": "boss", "system": None}
NOBODY = ("bob", "carl", "inspector")  # same-org analyst, other-org analyst, auditor
DOC = Path(__file__).resolve().parents[3] / "docs" / "airlock.md"


def test_every_step_in_the_table_works_for_its_who_and_is_refused_for_everyone_else(world):
    request = world.submit({"t.csv": "district,visits\nA,120\nB,340\n"})
    problems = []
    for step in states.TRANSITIONS:
        for who, name in [*HOLDER.items(), *((None, n) for n in NOBODY)]:
            actor = world.actor(name)
            request.state = step.state
            # documented: the host's system also holds every admin step (it owns the host)
            if who == step.who or (step.who == "admin" and name is None):
                service._move(world.session, actor, request, step.action)
                if request.state != step.target:
                    problems.append(f"{step}: {name} ended in {request.state}")
                continue
            try:
                permissions.authorize(actor, request, step.action)
            except PermissionDenied:
                continue
            problems.append(f"{step}: {name or 'system'} ({who}) was allowed")
    world.session.rollback()
    assert problems == []


def test_every_action_outside_the_table_is_an_invalid_transition_for_everyone(world):
    request = world.submit({"t.csv": "district,visits\nA,120\nB,340\n"})
    refused = 0
    for state in states.STATES:
        for action in states.ACTIONS:
            if states.transition_for(state, action) is not None:
                continue
            for name in [*HOLDER.values(), *NOBODY]:
                request.state = state
                with pytest.raises(InvalidTransition):
                    permissions.authorize(world.actor(name), request, action)
                refused += 1
    world.session.rollback()
    table_pairs = {(t.state, t.action) for t in states.TRANSITIONS}
    expected = (len(states.STATES) * len(states.ACTIONS) - len(table_pairs)) * 7
    assert refused == expected > 0


def _reachable(start: str, avoid: frozenset[str] = frozenset()) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for step in states.actions_from(todo.pop()):
            if step.target not in seen and step.target not in avoid:
                seen.add(step.target)
                todo.append(step.target)
    return seen


def test_the_table_is_closed_and_every_state_is_reachable_from_draft():
    named = {s for t in states.TRANSITIONS for s in (t.state, t.target)}
    assert named == set(states.STATES)
    assert _reachable("draft") == set(states.STATES)
    assert {t.who for t in states.TRANSITIONS} <= set(states.WHO)
    for terminal in states.TERMINAL:
        assert states.actions_from(terminal) == []


def test_a_blocked_request_has_no_path_to_approval():
    assert _reachable("blocked") == {"blocked", "withdrawn", "cancelled"}


def test_only_the_airlock_itself_approves_and_only_after_review():
    approving = [t for t in states.TRANSITIONS if t.target == "approved"]
    assert [(t.state, t.who) for t in approving] == [("pending_review", "system")]


def test_docs_carry_the_table_from_the_code():
    text = DOC.read_text(encoding="utf-8")
    begin = "<!-- BEGIN STATE TABLE (generated; do not edit by hand) -->\n"
    end = "\n<!-- END STATE TABLE -->"
    assert begin in text and end in text, "docs/airlock.md lost its state-table markers"
    shown = text.split(begin, 1)[1].split(end, 1)[0]
    assert shown == states.markdown_table(), (
        "docs/airlock.md is out of date: paste hub.airlock.states.markdown_table() between the "
        "markers")


def test_allowed_actions_offer_only_what_authorize_permits(world):
    request = world.submit({"t.csv": "district,visits\nA,120\nB,340\n"})
    assert permissions.allowed_actions(world.actor("ana"), request) == ["withdraw"]
    assert permissions.allowed_actions(world.actor("rev1"), request) == ["review"]
    assert permissions.allowed_actions(world.actor("bob"), request) == []
    assert permissions.allowed_actions(world.actor("boss"), request) == []
