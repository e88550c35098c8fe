"""Build states and the ONE table of allowed transitions (state, action, target, who).

``who``: ``requester`` (the analyst who submitted), ``staff`` (an operator admin), ``system`` (the
build worker; never a person). Cancelling a *running* build is two steps: a person asks
(:func:`hub.builds.service.cancel` sets ``cancel_requested`` and kills the container), then the
worker that ran it records ``cancel`` as ``system``.

    queued  --start-->     running     system
    queued  --cancel-->    cancelled   requester | staff
    running --succeed-->   succeeded   system
    running --fail-->      failed      system
    running --time_out-->  timed_out   system (wall clock; the container is killed)
    running --cancel-->    cancelled   system (after a person asked)
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.errors import InvalidTransition

STATES: tuple[str, ...] = ("queued", "running", "succeeded", "failed", "timed_out", "cancelled")
TERMINAL: frozenset[str] = frozenset({"succeeded", "failed", "timed_out", "cancelled"})


@dataclass(frozen=True)
class Transition:
    """From ``state``, ``action`` leads to ``target``; ``who`` may trigger it."""

    state: str
    action: str
    target: str
    who: frozenset[str]


_SYSTEM = frozenset({"system"})
TRANSITIONS: tuple[Transition, ...] = (
    Transition("queued", "start", "running", _SYSTEM),
    Transition("queued", "cancel", "cancelled", frozenset({"requester", "staff"})),
    Transition("running", "succeed", "succeeded", _SYSTEM),
    Transition("running", "fail", "failed", _SYSTEM),
    Transition("running", "time_out", "timed_out", _SYSTEM),
    Transition("running", "cancel", "cancelled", _SYSTEM),
)


def transition_for(state: str, action: str) -> Transition | None:
    """The allowed step from ``state`` by ``action``, or ``None``."""
    for step in TRANSITIONS:
        if step.state == state and step.action == action:
            return step
    return None


def step(build_id: int, state: str, action: str, who: str) -> Transition:
    """The step for ``action`` from ``state`` if ``who`` may take it, else InvalidTransition."""
    found = transition_for(state, action)
    if found is None or who not in found.who:
        raise InvalidTransition(
            f"build {build_id}: {who} cannot {action} a build that is {state}",
            f"构建 {build_id}：{who} 不能对状态为 {state} 的构建执行 {action}")
    return found
