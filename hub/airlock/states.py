"""Export-request states and the ONE table of allowed transitions (state, action, target, who).

Everything else reads :data:`TRANSITIONS`: the service moves requests only through
:func:`hub.airlock.permissions.authorize`, which looks the step up here, and ``docs/airlock.md``
carries :func:`markdown_table` (a test keeps the two in sync).

``who`` is a relation to the request, not a global role:

* ``requester`` — the analyst who made the request;
* ``reviewer`` — an operator-org reviewer independent of the requester (see
  :func:`hub.airlock.permissions.review_conflict`);
* ``admin`` — an admin of the grant's operator org (or the host's ``system``);
* ``system`` — the airlock itself (scan outcome, consolidation of decisions, release, and
  cancellation when the grant ends); never a person.

A reviewer's ``review`` is a self-loop on ``pending_review``: it records one decision. When every
required decision is in, the airlock consolidates them (``approve``/``reject``/``return``).
"""

from __future__ import annotations

from dataclasses import dataclass

STATES: tuple[str, ...] = (
    "draft", "submitted", "scanning", "blocked", "pending_review", "returned", "approved",
    "rejected", "released", "revoked", "withdrawn", "cancelled",
)
TERMINAL: frozenset[str] = frozenset({"rejected", "revoked", "withdrawn", "cancelled"})
# States from which the end of the grant cancels a request (nothing has left yet).
OPEN: tuple[str, ...] = ("draft", "submitted", "scanning", "blocked", "pending_review",
                         "returned", "approved")
WHO: tuple[str, ...] = ("requester", "reviewer", "admin", "system")
DECISIONS: tuple[str, ...] = ("approve", "reject", "return")


@dataclass(frozen=True)
class Transition:
    """From ``state``, ``action`` leads to ``target``; only ``who`` may trigger it."""

    state: str
    action: str
    target: str
    who: str
    note: str = ""


TRANSITIONS: tuple[Transition, ...] = (
    Transition("draft", "edit", "draft", "requester", "change context, add or replace files"),
    Transition("draft", "submit", "submitted", "requester"),
    Transition("draft", "withdraw", "withdrawn", "requester"),
    Transition("submitted", "scan", "scanning", "system", "egress filter starts"),
    Transition("scanning", "block", "blocked", "system", "a file's verdict is block"),
    Transition("scanning", "pass", "pending_review", "system",
               "no block; 1 reviewer if all pass, 2 if any review"),
    Transition("blocked", "withdraw", "withdrawn", "requester",
               "a blocked request can never be approved"),
    Transition("pending_review", "review", "pending_review", "reviewer",
               "one blinded decision: approve, reject or return"),
    Transition("pending_review", "approve", "approved", "system", "all required approvals"),
    Transition("pending_review", "reject", "rejected", "system", "any reject"),
    Transition("pending_review", "return", "returned", "system", "any return, no reject"),
    Transition("pending_review", "withdraw", "withdrawn", "requester"),
    Transition("returned", "edit", "returned", "requester", "change context, add or replace files"),
    Transition("returned", "submit", "submitted", "requester", "resubmit: scanned again"),
    Transition("returned", "withdraw", "withdrawn", "requester"),
    Transition("approved", "release", "released", "system", "signed bundle written once"),
    Transition("released", "revoke", "revoked", "admin", "bundle files withdrawn, manifest kept"),
    *(Transition(state, "cancel", "cancelled", "system",
                 "the grant was revoked or expired: quarantine copies destroyed")
      for state in OPEN),
)
ACTIONS: tuple[str, ...] = tuple(dict.fromkeys(t.action for t in TRANSITIONS))


def transition_for(state: str, action: str) -> Transition | None:
    """The allowed step from ``state`` by ``action``, or ``None``."""
    for step in TRANSITIONS:
        if step.state == state and step.action == action:
            return step
    return None


def actions_from(state: str) -> list[Transition]:
    """Every step allowed from ``state`` (for UIs: which buttons to show)."""
    return [step for step in TRANSITIONS if step.state == state]


def markdown_table() -> str:
    """The transition table as Markdown (embedded in ``docs/airlock.md``)."""
    lines = ["| from | action | to | who | note |", "|---|---|---|---|---|"]
    lines += [f"| {t.state} | {t.action} | {t.target} | {t.who} | {t.note} |" for t in TRANSITIONS]
    return "\n".join(lines)
