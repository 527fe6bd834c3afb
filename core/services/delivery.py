"""Delivery and acceptance (交付与验收): milestones, acceptance certificates, warranty and cost actuals.

Final acceptance (终验) of a milestone releases the acceptance terms tied to it; when every milestone of
the contract is finally accepted the warranty starts, and its end releases the retention (warranty terms).
"""
from __future__ import annotations

import calendar
from datetime import date

from sqlalchemy import func
from sqlmodel import select

from core import permissions, validate
from core.calculations import active_terms
from core.context import Context, snapshot
from core.enums import AcceptanceKind, ContractStatus, MilestoneStatus, Trigger
from core.errors import GateError, ValidationError
from core.lifecycle import Lifecycle, Offer, Step, only_from, register, roles_refused
from core.messages import Text
from core.models import Acceptance, Contract, CostEntry, Milestone
from core.services import action
from core.services.contracts import LIFECYCLE as contracts_lifecycle
from core.services.contracts import (MILESTONES_PLANNED, label, not_future, require_status, retention_released,
                                     wrong_status)

COSTS_RECORDED = Text("costs are recorded")
COST_CATEGORIES = ("labour", "hardware", "software", "subcontract", "travel", "other")
OPEN = (ContractStatus.DRAFT, ContractStatus.ATC_PENDING, ContractStatus.SIGNED)


def add_months(d: date, months: int) -> date:
    """Same day `months` later, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    years, month0 = divmod(d.month - 1 + months, 12)
    year, month = d.year + years, month0 + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def milestones(ctx: Context, contract_id: int) -> list[Milestone]:
    return list(ctx.session.exec(select(Milestone).where(Milestone.contract_id == contract_id)
                                 .order_by(Milestone.seq, Milestone.id)).all())


def _release(ctx: Context, terms, on: date) -> list[int]:
    released = []
    for term in terms:
        if term.released_on is None:
            before = snapshot(term)
            term.released_on = on
            ctx.audit("term.release", term, before=before)
            released.append(term.id)
    return released


# -- the milestone's lifecycle: PLANNED --accept preliminary--> PRELIMINARY --accept final--> ACCEPTED
# (a final acceptance may come without a preliminary one); plans and forecasts change until it is accepted.

ACCEPT_PRELIMINARY, ACCEPT_FINAL = "milestone.accept.preliminary", "milestone.accept.final"
OPEN_MS = (MilestoneStatus.PLANNED, MilestoneStatus.PRELIMINARY)


def _ms_label(ms: Milestone) -> Text:
    return Text("milestone '{name}'", name=ms.name)


def _contract_status(allowed, doing: Text):
    def guard(ctx: Context, ms: Milestone) -> Text | None:
        contract = ctx.get(Contract, ms.contract_id)
        if contract.status not in allowed:
            return wrong_status(contract, allowed, doing)
        return None
    return guard


def _accepted_on(ms: Milestone) -> str:
    return ms.accepted_on.isoformat() if ms.accepted_on else ""


def _wrong(ms: Milestone, allowed) -> Text:
    if ms.status == MilestoneStatus.ACCEPTED:
        return Text("{label} was already finally accepted on {on}", label=_ms_label(ms), on=_accepted_on(ms))
    if ms.status == MilestoneStatus.PRELIMINARY:
        return Text("{label} already has its preliminary acceptance", label=_ms_label(ms))
    return only_from(_ms_label(ms), ms.status, allowed, "milestone")


def _dates_fixed(ms: Milestone, allowed) -> Text:
    return Text("{label} was finally accepted on {on}; its dates no longer change", label=_ms_label(ms),
                on=_accepted_on(ms))


class MilestoneLifecycle(Lifecycle):
    """Both acceptances are one permission (milestone.accept): each step names the permission it needs."""
    PERMISSION = {ACCEPT_PRELIMINARY: "milestone.accept", ACCEPT_FINAL: "milestone.accept"}

    def offers(self, ctx, record) -> list[Offer]:
        roles = ctx.current_roles() or frozenset()
        out = []
        for step in self.steps:
            needed = self.PERMISSION.get(step, step)
            if not permissions.allowed(roles, needed):
                out.append(Offer(step, False, roles_refused(roles, needed)))
                continue
            reason = self.why_not(ctx, step, record)
            out.append(Offer(step, reason is None, reason or ""))
        return out


CHANGED, ACCEPTED = Text("milestones are changed"), Text("milestones are accepted")
LIFECYCLE = register(MilestoneLifecycle("milestone", "status", _ms_label, {
    "milestone.plan": Step((), (_contract_status(OPEN, CHANGED),)),
    "milestone.forecast": Step(OPEN_MS, (_contract_status(OPEN, CHANGED),), _dates_fixed),
    ACCEPT_PRELIMINARY: Step((MilestoneStatus.PLANNED,), (_contract_status((ContractStatus.SIGNED,), ACCEPTED),),
                             _wrong),
    ACCEPT_FINAL: Step(OPEN_MS, (_contract_status((ContractStatus.SIGNED,), ACCEPTED),), _wrong),
}))


# -- milestones ------------------------------------------------------------------------------------

@action("milestone.plan")
def plan_milestone(ctx: Context, contract_id: int, *, name: str, planned_on, forecast_on=None) -> int:
    with validate.Collect() as check:
        name = check(validate.text, "name", name, required=True)
        planned_on = check(validate.day, "planned_on", planned_on)
        forecast_on = check(validate.day, "forecast_on", forecast_on, required=False)
    contract = ctx.get(Contract, contract_id)
    require_status(contract, OPEN, MILESTONES_PLANNED)
    if contract.warranty_ends_on is not None:
        warranty = [t for t in active_terms(ctx.session, contract.id) if t.trigger == Trigger.WARRANTY]
        if any(t.released_on for t in warranty):
            reason = retention_released(contract)
            raise GateError(reason)
        # a new milestone means delivery is not finished: the warranty starts again after its acceptance
        before = snapshot(contract)
        contract.warranty_ends_on = None
        ctx.audit("milestone.plan", contract, before=before)
    seq = ctx.session.exec(select(func.max(Milestone.seq)).where(Milestone.contract_id == contract.id)).one()
    ms = Milestone(contract_id=contract.id, seq=(seq or 0) + 1, name=name, planned_on=planned_on,
                   forecast_on=forecast_on, status=MilestoneStatus.PLANNED)
    ctx.audit("milestone.plan", ms)
    return ms.id


@action("milestone.plan")
def update_milestone(ctx: Context, milestone_id: int, *, version: int | None = None, name: str | None = None,
                     planned_on=None, forecast_on=None) -> None:
    """Rename or re-plan a milestone; changing its forecast is delivery's call (milestone.forecast)."""
    if forecast_on is not None:
        ctx.require("milestone.forecast")
    _update_milestone(ctx, milestone_id, version=version, name=name, planned_on=planned_on, forecast_on=forecast_on)


def _update_milestone(ctx: Context, milestone_id: int, *, version, name=None, planned_on=None,
                      forecast_on=None) -> None:
    ms = ctx.get(Milestone, milestone_id, version=version)
    LIFECYCLE.require(ctx, "milestone.plan", ms)
    if planned_on is not None or forecast_on is not None:
        LIFECYCLE.require(ctx, "milestone.forecast", ms)   # dates change only until the final acceptance
    before = snapshot(ms)
    if name is not None:
        ms.name = validate.text("name", name, required=True)
    if planned_on is not None:
        ms.planned_on = validate.day("planned_on", planned_on)
    if forecast_on is not None:
        ms.forecast_on = validate.day("forecast_on", forecast_on)
    ctx.audit("milestone.update", ms, before=before)


@action("milestone.forecast")
def forecast_milestone(ctx: Context, milestone_id: int, *, forecast_on, version: int | None = None) -> None:
    """Delivery's current forecast of when the milestone will be accepted."""
    _update_milestone(ctx, milestone_id, version=version, forecast_on=validate.day("forecast_on", forecast_on))


@action("milestone.accept")
def accept_milestone(ctx: Context, milestone_id: int, *, kind, accepted_on=None, certificate_ref: str = "") -> int:
    """Record a preliminary (初验) or final (终验) acceptance certificate. Final acceptance releases the
    milestone's acceptance terms and, once it is the last milestone, starts the warranty."""
    with validate.Collect() as check:
        kind = check(validate.choice, "kind", kind, AcceptanceKind)
        accepted_on = check(not_future, ctx, "accepted_on", accepted_on)
        certificate_ref = check(validate.text, "certificate_ref", certificate_ref, max_len=500)
    ms = ctx.get(Milestone, milestone_id)
    contract = ctx.get(Contract, ms.contract_id)
    LIFECYCLE.require(ctx, ACCEPT_PRELIMINARY if kind == AcceptanceKind.PRELIMINARY else ACCEPT_FINAL, ms)
    if accepted_on < contract.signed_on:
        raise ValidationError("{field}: {got} is before {label} was signed ({signed})", field="accepted_on",
                              got=accepted_on.isoformat(), label=label(contract), signed=contract.signed_on.isoformat())
    prelim = ctx.session.exec(select(Acceptance).where(Acceptance.milestone_id == ms.id,
                                                       Acceptance.kind == AcceptanceKind.PRELIMINARY)).first()
    if kind == AcceptanceKind.FINAL and prelim is not None and accepted_on < prelim.accepted_on:
        raise ValidationError("{field}: final acceptance on {got} is before the preliminary one ({preliminary})",
                              field="accepted_on", got=accepted_on.isoformat(),
                              preliminary=prelim.accepted_on.isoformat())

    cert = Acceptance(milestone_id=ms.id, kind=kind, accepted_on=accepted_on, certificate_ref=certificate_ref,
                      recorded_by_id=ctx.actor.id)
    ctx.audit("milestone.accept", cert)
    before = snapshot(ms)
    if kind == AcceptanceKind.PRELIMINARY:
        ctx.move(ms, "status", MilestoneStatus.PRELIMINARY)
        ctx.audit("milestone.accept", ms, before=before)
        return cert.id

    ms.accepted_on = accepted_on
    ctx.move(ms, "status", MilestoneStatus.ACCEPTED)
    ctx.audit("milestone.accept", ms, before=before)
    _release(ctx, [t for t in active_terms(ctx.session, contract.id)
                   if t.trigger == Trigger.ACCEPTANCE and t.milestone_id == ms.id], accepted_on)
    all_ms = milestones(ctx, contract.id)
    if all(m.status == MilestoneStatus.ACCEPTED for m in all_ms):
        before = snapshot(contract)
        last = max(m.accepted_on for m in all_ms)
        contract.warranty_ends_on = add_months(last, contract.warranty_months)
        ctx.audit("warranty.start", contract, before=before)
    return cert.id


@action("warranty.set")
def set_warranty_end(ctx: Context, contract_id: int, *, ends_on, reason: str, version: int | None = None) -> None:
    """Set the warranty's end by hand (the customer agreed another start than the last final acceptance), with
    the reason; its retention is released on that day. Only while the warranty runs and nothing is released."""
    with validate.Collect() as check:
        ends_on = check(validate.day, "ends_on", ends_on)
        reason = check(validate.text, "reason", reason, max_len=500, required=True)
    contract = ctx.get(Contract, contract_id, version=version)
    contracts_lifecycle.require(ctx, "warranty.set", contract)
    if ends_on < contract.signed_on:
        raise ValidationError("{field}: {got} is before {label} was signed ({signed})", field="ends_on",
                              got=ends_on.isoformat(), label=label(contract), signed=contract.signed_on.isoformat())
    before = snapshot(contract)
    contract.warranty_ends_on, contract.warranty_note = ends_on, reason
    ctx.audit("warranty.set", contract, before=before)


@action("term.release")
def release_warranty_terms(ctx: Context, contract_id: int, as_of=None) -> list[int]:
    """Release the retention once the warranty has ended; returns the released term ids (none if done)."""
    as_of = not_future(ctx, "as_of", as_of)
    contract = ctx.get(Contract, contract_id)
    # a closed project's retention was held until its warranty end: it is released after closure too
    require_status(contract, (ContractStatus.SIGNED, ContractStatus.CLOSED), Text("warranty terms are released"))
    if contract.warranty_ends_on is None:
        raise GateError("warranty: {label} has no warranty end yet; it starts when every milestone is finally "
                        "accepted", label=label(contract))
    if contract.warranty_ends_on > as_of:
        raise GateError("warranty: {label} is under warranty until {ends}; the retention cannot be released on {on}",
                        label=label(contract), ends=contract.warranty_ends_on.isoformat(), on=as_of.isoformat())
    return _release(ctx, [t for t in active_terms(ctx.session, contract.id) if t.trigger == Trigger.WARRANTY],
                    contract.warranty_ends_on)


# -- costs -----------------------------------------------------------------------------------------

def _category(value) -> str:
    raw = validate.text("category", value, max_len=64, required=True).lower()
    if raw not in COST_CATEGORIES:
        raise ValidationError("{field}: {got!r} is not one of {allowed}", field="category", got=raw[:40],
                              allowed=", ".join(COST_CATEGORIES))
    return raw


@action("cost.record")
def record_cost(ctx: Context, contract_id: int, *, spent_on, category, amount, description: str = "") -> int:
    with validate.Collect() as check:
        spent_on = check(lambda: not_future(ctx, "spent_on", validate.day("spent_on", spent_on)))
        category = check(_category, category)
        amount = check(validate.amount, "amount", amount)
        description = check(validate.text, "description", description, max_len=1000)
    contract = ctx.get(Contract, contract_id)
    require_status(contract, OPEN, COSTS_RECORDED)
    row = CostEntry(contract_id=contract.id, spent_on=spent_on, category=category, amount=amount,
                    description=description)
    ctx.audit("cost.record", row)
    return row.id


@action("cost.record")
def update_cost(ctx: Context, cost_id: int, *, version: int | None = None, spent_on=None, category=None,
                amount=None, description: str | None = None) -> None:
    row = ctx.get(CostEntry, cost_id, version=version, what="cost entry")
    contract = ctx.get(Contract, row.contract_id)
    require_status(contract, OPEN, Text("costs are changed"))
    before = snapshot(row)
    if spent_on is not None:
        row.spent_on = not_future(ctx, "spent_on", validate.day("spent_on", spent_on))
    if category is not None:
        row.category = _category(category)
    if amount is not None:
        row.amount = validate.amount("amount", amount)
    if description is not None:
        row.description = validate.text("description", description, max_len=1000)
    ctx.audit("cost.update", row, before=before)
