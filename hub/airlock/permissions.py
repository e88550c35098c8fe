"""Who may do what to an export request — the ONE place.

:func:`authorize` is the only gate the service passes before moving a request: it looks the step
up in :data:`hub.airlock.states.TRANSITIONS` and checks that the actor holds the step's ``who``
relation. :func:`review_conflict` is the only place that says a requester, or anyone of the
requester's org, can never review (the database's CHECK constraint on ``airlock_decisions`` is a
backstop, not a second rule). Read access (:func:`may_view`), blinding (:func:`visible_decision`)
and downloads (:func:`may_download`) live here too.

The host's ``system`` actor (the operator at the shell) holds ``admin`` and ``system`` steps; it
never acts as a requester or a reviewer — a request must have a human author and a human checker.
"""

from __future__ import annotations

from hub.accounts import Actor
from hub.airlock.states import Transition, actions_from, transition_for
from hub.errors import InvalidTransition, PermissionDenied
from hub.models import AirlockDecision, AirlockRequest, ReleasedProduct

READ_ALL_ROLES = frozenset({"admin", "reviewer", "auditor"})


def review_conflict(actor: Actor, request: AirlockRequest) -> tuple[str, str] | None:
    """Why ``actor`` may not review ``request`` (en, zh), or ``None`` if they may.

    A reviewer must be a person with the ``reviewer`` role in the grant's operator org, must not
    be the requester nor of the requester's org, and decides once per round.
    """
    if actor.is_system or actor.user_id is None:
        return ("the host system cannot review; reviews are by people",
                "系统账号不能审核，审核须由人完成")
    if actor.user_id == request.requester_id:
        return ("a requester can never review their own request", "申请人不得审核自己的申请")
    if actor.org_id == request.requester_org_id:
        return ("nobody from the requester's organisation may review it",
                "申请人所在组织的人员不得审核该申请")
    if "reviewer" not in actor.roles:
        return ("needs the reviewer role", "需要审核员角色")
    if actor.org_id != request.grant.operator_org_id:
        return ("reviewers must belong to the grant's operator organisation",
                "审核员须属于该授权的一级开发主体")
    if any(d.reviewer_id == actor.user_id and d.round == request.round
           for d in request.decisions):
        return ("already decided in this round", "本轮已作出审核决定")
    return None


def _holds(actor: Actor, who: str, request: AirlockRequest) -> tuple[str, str] | None:
    """Why ``actor`` does not hold relation ``who`` to ``request`` (None: they do)."""
    if who == "requester":
        if actor.user_id is not None and actor.user_id == request.requester_id:
            return None
        return ("only the requester may do this", "仅申请人可执行此操作")
    if who == "reviewer":
        return review_conflict(actor, request)
    if who == "admin":
        if actor.is_system or ("admin" in actor.roles
                               and actor.org_id == request.grant.operator_org_id):
            return None
        return ("needs an admin of the grant's operator organisation", "需要一级开发主体的管理员")
    if who == "system":
        return None if actor.is_system else ("only the airlock itself does this",
                                             "此步骤仅由系统自动执行")
    raise ValueError(f"unknown relation {who!r}")


def authorize(actor: Actor, request: AirlockRequest, action: str) -> Transition:
    """The allowed step for ``action`` on ``request`` by ``actor``, or raise.

    :class:`InvalidTransition` when the table has no such step from the request's state;
    :class:`PermissionDenied` when the actor does not hold the step's ``who`` relation.
    """
    step = transition_for(request.state, action)
    if step is None:
        raise InvalidTransition(
            f"request {request.id}: cannot {action} a request that is {request.state}",
            f"申请 {request.id}：状态为 {request.state} 时不能执行 {action}")
    why = _holds(actor, step.who, request)
    if why is not None:
        raise PermissionDenied(f"request {request.id}: {actor.name} may not {action}: {why[0]}",
                               f"申请 {request.id}：{actor.name} 无权执行 {action}：{why[1]}")
    return step


def may_view(actor: Actor, request: AirlockRequest) -> bool:
    """The requester sees their own requests; operator staff and auditors see all."""
    if actor.is_system or actor.roles & READ_ALL_ROLES:
        return True
    return actor.user_id == request.requester_id


def _is_reviewer_side(actor: Actor) -> bool:
    return actor.is_system or bool(actor.roles & READ_ALL_ROLES)


def visible_decision(actor: Actor, request: AirlockRequest, decision: AirlockDecision) -> bool:
    """Blinding: while a round is open, a reviewer sees only their own decision.

    Once every required decision of the round is in (or the round is closed), reviewers, admins
    and auditors see all of them. The requester sees decisions only of closed rounds.
    """
    in_round = [d for d in request.decisions if d.round == decision.round]
    round_open = (decision.round == request.round and request.state == "pending_review"
                  and len(in_round) < request.required_reviews)
    if actor.user_id is not None and actor.user_id == decision.reviewer_id:
        return True
    if round_open:
        return False
    return _is_reviewer_side(actor) or actor.user_id == request.requester_id


def may_see_private_notes(actor: Actor) -> bool:
    """Private reviewer notes are for operator staff and auditors, never the requester."""
    return _is_reviewer_side(actor)


def may_download(actor: Actor, product: ReleasedProduct, request: AirlockRequest) -> bool:
    """A released product's files: the requester's org, operator admins, auditors."""
    if actor.is_system or actor.roles & {"admin", "auditor"}:
        return True
    return actor.org_id is not None and actor.org_id == request.requester_org_id


def allowed_actions(actor: Actor, request: AirlockRequest) -> list[str]:
    """The table's actions ``actor`` may take on ``request`` now (for UIs: which buttons)."""
    return [step.action for step in actions_from(request.state)
            if step.who != "system" and _holds(actor, step.who, request) is None]
