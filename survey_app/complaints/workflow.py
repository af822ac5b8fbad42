"""The complaint workflow as data: (state, action) -> (new state, who may take it).

ISO 10002's steps (receipt, acknowledgement, investigation, response, decision, closing) become the
states; ``services.apply_action`` alone moves a complaint, and only along this table.
Actor kinds: ``staff`` and ``manager`` (signed-in users; admins count as both), ``customer`` (the
holder of the tracking link) and ``system`` (the overdue escalation job).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from .models import State

S = State
STAFF = frozenset({"staff", "manager"})
MANAGER = frozenset({"manager"})
CUSTOMER = frozenset({"customer"})
ANYONE_HANDLING = frozenset({"staff", "manager", "customer"})
ACTOR_KINDS = ("staff", "manager", "customer", "system")


@dataclass(frozen=True)
class Transition:
    state: State
    action: str
    roles: frozenset
    new_state: State


_WORKING = (S.RECEIVED, S.ACKNOWLEDGED, S.INVESTIGATING, S.REOPENED, S.ESCALATED)
_WAITING = (*_WORKING, S.RESOLUTION_PROPOSED)

TRANSITIONS: tuple[Transition, ...] = (
    Transition(S.RECEIVED, "acknowledge", STAFF, S.ACKNOWLEDGED),
    Transition(S.ACKNOWLEDGED, "investigate", STAFF, S.INVESTIGATING),
    Transition(S.REOPENED, "investigate", STAFF, S.INVESTIGATING),
    Transition(S.ESCALATED, "investigate", STAFF, S.INVESTIGATING),
    Transition(S.INVESTIGATING, "propose", STAFF, S.RESOLUTION_PROPOSED),
    Transition(S.ESCALATED, "propose", MANAGER, S.RESOLUTION_PROPOSED),
    # The customer answers through the link; staff may record an answer given by phone.
    Transition(S.RESOLUTION_PROPOSED, "accept", ANYONE_HANDLING, S.RESOLVED),
    Transition(S.RESOLUTION_PROPOSED, "reject_resolution", ANYONE_HANDLING, S.REOPENED),
    Transition(S.RESOLVED, "close", STAFF, S.CLOSED),
    Transition(S.RESOLVED, "reopen", ANYONE_HANDLING, S.REOPENED),
    Transition(S.CLOSED, "reopen", ANYONE_HANDLING, S.REOPENED),
    *(
        Transition(s, "escalate", frozenset({"staff", "manager", "system"}), S.ESCALATED)
        for s in (S.RECEIVED, S.ACKNOWLEDGED, S.INVESTIGATING, S.REOPENED)
    ),
    *(Transition(s, "withdraw", ANYONE_HANDLING, S.WITHDRAWN) for s in _WAITING),
    *(Transition(s, "reject", MANAGER, S.REJECTED) for s in _WORKING),
    Transition(S.RESOLUTION_PROPOSED, "withdraw_proposal", STAFF, S.INVESTIGATING),
    *(Transition(s, "merge", STAFF, S.CLOSED) for s in _WAITING),
    # Staff ask the customer a question: the state stays and the SLA clock stops until they answer.
    *(Transition(s, "request_information", STAFF, s) for s in _WORKING),
    # The customer adds details; the state stays, the clock restarts if it was waiting on them.
    *(Transition(s, "add_information", CUSTOMER, s) for s in _WAITING),
)

#: (state, action) -> Transition
TABLE: dict[tuple[State, str], Transition] = {(t.state, t.action): t for t in TRANSITIONS}
ACTIONS: tuple[str, ...] = tuple(dict.fromkeys(t.action for t in TRANSITIONS))

#: actions that need a text from the actor, and what that text is called
TEXT_REQUIRED = {
    "propose": _l("Describe the proposed resolution."),
    "withdraw": _l("Give a reason for withdrawing."),
    "reject": _l("Give the reason for rejecting the complaint."),
    "reject_resolution": _l("Tell us what is missing from the proposed resolution."),
    "add_information": _l("Write the information you want to add."),
    "request_information": _l("Write the question for the customer."),
}

ACTION_LABELS = {
    "acknowledge": _l("Acknowledge"),
    "investigate": _l("Start investigating"),
    "propose": _l("Propose a resolution"),
    "accept": _l("Accept the resolution"),
    "reject_resolution": _l("Reject the resolution"),
    "close": _l("Close"),
    "reopen": _l("Reopen"),
    "escalate": _l("Escalate"),
    "withdraw": _l("Withdraw"),
    "reject": _l("Reject the complaint"),
    "add_information": _l("Add information"),
    "request_information": _l("Ask the customer for information"),
    "withdraw_proposal": _l("Withdraw the proposal"),
    "merge": _l("Merge into another complaint"),
}

STATE_LABELS = {
    S.RECEIVED: _l("Received"),
    S.ACKNOWLEDGED: _l("Acknowledged"),
    S.INVESTIGATING: _l("Investigating"),
    S.RESOLUTION_PROPOSED: _l("Resolution proposed"),
    S.RESOLVED: _l("Resolved"),
    S.CLOSED: _l("Closed"),
    S.REOPENED: _l("Reopened"),
    S.ESCALATED: _l("Escalated"),
    S.WITHDRAWN: _l("Withdrawn"),
    S.REJECTED: _l("Rejected"),
}


def actor_may(roles: frozenset, actor_kind: str) -> bool:
    """``actor_kind`` is staff/manager/admin/customer/system; admins may do what staff may."""
    if actor_kind == "admin":
        return bool(roles & STAFF)
    return actor_kind in roles


def allowed_actions(state: State, actor_kind: str) -> list[str]:
    """The actions this actor may take on a complaint in ``state``, in table order."""
    return [t.action for t in TRANSITIONS if t.state is state and actor_may(t.roles, actor_kind)]


def find(state: State, action: str) -> Transition | None:
    return TABLE.get((state, action))
