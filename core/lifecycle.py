"""Each document's lifecycle in one place: its statuses, the actions that move it, and the guard of each action.

A `Lifecycle` is data: action -> `Step(from_statuses, guard)`. The service runs `require(ctx, action, record)`
before it acts, and `offers(ctx, record)` answers the pages (and the sheet sync, and the API) which actions this
person may take on this record now and, for each refused one, why: the same checks, defined once. A page renders
that answer (allowed actions as buttons, refused ones disabled with the reason) and never decides from a status
string or a role name itself.

Guards look at the record as it is (status, dates, related records); checks on what the person types (amounts,
texts) stay in the service, which runs `require` first and then validates the input.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from core.errors import GateError
from core.messages import Joined, Text, code, kind

Guard = Callable[[Any, Any], "Text | None"]     # (ctx, record) -> why not (core's words), or None when allowed


@dataclass(frozen=True)
class Offer:
    """One action on one record for one person, now: allowed, or refused with the reason (in core's words)."""
    action: str
    allowed: bool
    reason: str = ""         # a messages.Text when refused, so a page can say it in the person's language
    applies: bool = True     # the action belongs to the record's present status (a page shows it, maybe disabled)


@dataclass(frozen=True)
class Step:
    """An action of a document: the statuses it starts from (empty: any) and further guards, checked in order."""
    start: tuple[Enum, ...] = ()
    guards: tuple[Guard, ...] = ()
    # why the status is wrong, in the document's words: (record, statuses allowed) -> text
    wrong_status: Callable[[Any, tuple[Enum, ...]], Text] | None = None
    # the statuses in which the action is part of the record's present step (default: `start`; empty: all):
    # there a refused action is shown disabled with its reason, elsewhere it is not shown at all
    applies_in: tuple[Enum, ...] = ()
    # a step only some records have (a leader's ATC review of a contract below its bid's floor): elsewhere not shown
    applies_if: Callable[[Any, Any], bool] | None = None


@dataclass
class Lifecycle:
    kind: str                                   # the record kind ("bid", "contract", ...)
    status_attr: str
    label: Callable[[Any], str]                 # how messages name a record: "bid 7 'Grid'"
    steps: dict[str, Step] = field(default_factory=dict)

    def why_not(self, ctx, action: str, record) -> Text | None:
        """The reason the record does not allow the action now (the person's permission aside)."""
        step = self.steps[action]
        status = getattr(record, self.status_attr)
        if step.start and status not in step.start:
            if step.wrong_status is not None:
                return step.wrong_status(record, step.start)
            return only_from(self.label(record), status, step.start, self.kind)
        for guard in step.guards:
            reason = guard(ctx, record)
            if reason:
                return reason
        return None

    def require(self, ctx, action: str, record) -> None:
        """Refuse (GateError) when the record does not allow the action now; services call this."""
        reason = self.why_not(ctx, action, record)
        if reason:
            raise GateError(reason)

    def offers(self, ctx, record) -> list[Offer]:
        """Every action of the document for the person acting, allowed or refused with the reason."""
        roles = ctx.current_roles() or frozenset()
        status = getattr(record, self.status_attr)
        out = []
        for action, step in self.steps.items():
            phase = step.applies_in or step.start
            applies = (not phase or status in phase) and (step.applies_if is None or step.applies_if(ctx, record))
            if not ctx.may(action):   # the person's roles, or a delegation in effect for a decision
                out.append(Offer(action, False, roles_refused(roles, action), applies))
                continue
            reason = self.why_not(ctx, action, record)
            out.append(Offer(action, reason is None, reason or "", applies))
        return out


def only_from(label: str, status: Enum, allowed: tuple[Enum, ...], kind_name: str) -> Text:
    """The plain wrong-status reason: "milestone 'X' is planned; this is allowed only while the milestone is
    preliminary"."""
    return Text("{label} is {status}; this is allowed only while the {kind} is {names}", label=label,
                status=code(status), names=Joined(" or ", (code(s) for s in allowed)), kind=kind(kind_name))


def roles_refused(roles, action: str) -> Text:
    """Why a person's roles do not allow an action."""
    return Text("your roles ({roles}) may not perform '{action}'",
                roles=Joined(", ", sorted(roles)) if roles else Text("none"), action=action)


REGISTRY: dict[str, Lifecycle] = {}


def register(lifecycle: Lifecycle) -> Lifecycle:
    REGISTRY[lifecycle.kind] = lifecycle
    return lifecycle


def offers_for(ctx, kind: str, record) -> dict[str, Offer]:
    """{action: Offer} for a loaded record of `kind` (see `core.queries.offers` for the by-id query)."""
    return {o.action: o for o in REGISTRY[kind].offers(ctx, record)}
