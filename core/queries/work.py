"""My work (待办): what waits on the signed-in person, scoped to them.

- gate decisions: pending GateDecision rows whose reviewer role the person holds, only while the subject
  is still in a state where that decision can be taken (ATI: opportunity in initiation/on hold; ATB: bid
  atb_pending on an open opportunity; ATC: contract atc_pending; change order: pending on a signed
  contract; write-off: any pending request, it blocks closure until decided; closure: contract signed);
- bids due within 7 days (the AR or SR of the opportunity; leaders all);
- milestones to accept: forecast (else planned) date passed, not finally accepted, contract signed (the
  FR of the opportunity; leaders all);
- contracts to sign: ATC passed (legal and finance approved, terms add up), not yet signed (the AR of the
  opportunity; leaders all; only for people who may sign);
- released payment terms not yet fully invoiced (finance);
- retention falling due: a warranty ending within 30 days (or ended, with `ltc daily` not yet run) whose
  retention is not released (finance and leaders all; the FR of the opportunity);
- overdue invoices with money outstanding (the AR of the opportunity; finance all);
- opportunities on hold past their review date (the AR of the opportunity; leaders all).

Each list holds plain dicts; the page decides where each item is done.
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func
from sqlmodel import or_, select

from core import approvals, clock, scope
from core.context import Context
from core.enums import BidStatus, ChangeStatus, ContractStatus, Decision, GateKind, InvoiceStatus, MilestoneStatus
from core.models import (Account, Bid, ChangeOrder, Contract, GateDecision, Invoice, Milestone, Opportunity,
                         PaymentTerm, User)
from core.services import action, bids, contracts, daily, opportunities
from core.services.billing import outstanding

LEADER, FINANCE = "leader", "finance"
BID_DAYS = 7
RETENTION_DAYS = 30
LISTS = ("decisions", "to_sign", "bids_due", "milestones", "terms_to_invoice", "retention_due", "overdue_invoices",
         "holds")


@action("work.view")
def my_work(ctx: Context, as_of: date | None = None) -> dict[str, list[dict]]:
    """Everything waiting on ctx.actor, as {list name: [item, ...]} (names in LISTS), oldest first."""
    me, roles = ctx.actor.id, ctx.current_roles() or frozenset()   # the roles now, not those of sign-in
    today = as_of or ctx.today()
    return {
        "decisions": _decisions(ctx, roles),
        "to_sign": _to_sign(ctx, me, LEADER in roles) if ctx.may("contract.sign") else [],
        "bids_due": _bids_due(ctx, me, LEADER in roles, today),
        "milestones": _milestones(ctx, me, LEADER in roles, today),
        "terms_to_invoice": _terms_to_invoice(ctx) if FINANCE in roles else [],
        "retention_due": _retention_due(ctx, me, bool({LEADER, FINANCE} & roles), today)
        if ctx.may("delivery.view") else [],
        "overdue_invoices": _overdue_invoices(ctx, me, FINANCE in roles, today),
        "holds": _holds(ctx, me, LEADER in roles, today),
    }


# -- gate decisions ---------------------------------------------------------------------------------

def _decisions(ctx: Context, roles: frozenset[str]) -> list[dict]:
    """The open steps of every approval path (config/approvals.toml) taken by a role the person holds, or one
    held by a person away who named them their delegate (those say on whose behalf)."""
    away = approvals.delegators(ctx)   # {person away: their roles}
    takes = set(roles).union(*away.values())
    if not takes:
        return []
    keys = sorted({s.key for kind in GateKind for s in approvals.steps(kind) if s.role in takes} | takes)
    logins = dict(ctx.session.exec(select(User.login, User.id).where(User.id.in_(sorted(away)))).all()) if away else {}
    found = ctx.session.exec(select(GateDecision).where(
        GateDecision.decision == Decision.PENDING, GateDecision.reviewer_role.in_(keys))
        .order_by(GateDecision.requested_at, GateDecision.id)).all()
    rows, for_whom = [], {}
    for g in found:
        step = approvals.step_of(GateKind(g.kind), g.reviewer_role)
        if step.role not in takes or not approvals.is_open(ctx, g):   # not theirs, or waiting for an earlier stage
            continue
        if step.login and step.login != ctx.actor.login:   # a named person's step: theirs or their delegate's
            if step.login not in logins:
                continue
            for_whom[g.id] = logins[step.login]
        elif step.role not in roles:
            for_whom[g.id] = min(uid for uid, theirs in away.items() if step.role in theirs)
        rows.append(g)
    if not rows:
        return []
    wanted: dict[tuple[GateKind, str], set[int]] = {}
    for g in rows:
        wanted.setdefault((GateKind(g.kind), g.subject_type), set()).add(g.subject_id)
    subjects = _subjects(ctx, {k: sorted(v) for k, v in wanted.items()})
    ids = {g.requested_by_id for g in rows if g.requested_by_id} | set(for_whom.values())
    requesters, names = _logins(ctx, ids), _names(ctx, ids)
    deals: dict[str, set[int]] = {}   # the subjects' deals per entity, to keep those in the person's data scope
    for g in rows:
        subject = subjects.get((GateKind(g.kind), g.subject_type, g.subject_id))
        if subject is not None:
            deals.setdefault(scope.GATE_ENTITY.get(g.subject_type, "contract"), set()).add(subject["opportunity_id"])
    reach = {entity: scope.reachable_deals(ctx, entity, ids) for entity, ids in deals.items()}
    out = []
    for g in rows:
        subject = subjects.get((GateKind(g.kind), g.subject_type, g.subject_id))
        if subject is None:   # the subject has moved on: nothing to decide any more
            continue
        if subject["opportunity_id"] not in reach[scope.GATE_ENTITY.get(g.subject_type, "contract")]:
            continue   # outside the person's data scope: not theirs to see
        out.append({"gate_id": g.id, "kind": GateKind(g.kind).value, "reviewer_role": g.reviewer_role,
                    "subject_type": g.subject_type, "subject_id": g.subject_id,
                    "requested_on": clock.local_date(g.requested_at) if g.requested_at else None,
                    "requested_by": requesters.get(g.requested_by_id, ""),
                    "requested_by_name": names.get(g.requested_by_id) or requesters.get(g.requested_by_id, ""),
                    "amount": g.amount, "on_behalf_of": names.get(for_whom[g.id], "") if g.id in for_whom else "",
                    **subject})
    return out


def _subjects(ctx: Context, wanted: dict[tuple[GateKind, str], list[int]]) -> dict[tuple, dict]:
    """(kind, subject type, id) -> {'subject', 'opportunity', 'opportunity_id'} for the subjects whose
    state still lets the decision be taken; one query per kind."""
    s, out = ctx.session, {}

    def put(kind, stype, sid, subject, opp: Opportunity | None, **extra):
        out[(kind, stype, sid)] = {"subject": subject, "opportunity": opp.name if opp else "",
                                   "opportunity_id": opp.id if opp else None, **extra}

    ids = wanted.get((GateKind.ATI, opportunities.SUBJECT))
    if ids:
        for o in s.exec(select(Opportunity).where(Opportunity.id.in_(ids),
                                                  Opportunity.stage.in_(opportunities.PRE_ATI))).all():
            put(GateKind.ATI, opportunities.SUBJECT, o.id, o.name, o)
    ids = wanted.get((GateKind.ATB, bids.SUBJECT))
    if ids:
        for b, o in s.exec(select(Bid, Opportunity).join(Opportunity, Opportunity.id == Bid.opportunity_id)
                           .where(Bid.id.in_(ids), Bid.status == BidStatus.ATB_PENDING,
                                  Opportunity.stage.in_(bids.BID_STAGES))).all():
            put(GateKind.ATB, bids.SUBJECT, b.id, b.title, o, deadline=b.deadline)
    for kind, status in ((GateKind.ATC, ContractStatus.ATC_PENDING), (GateKind.CLOSURE, ContractStatus.SIGNED)):
        ids = wanted.get((kind, "contract"))
        if ids:
            for c, o in s.exec(select(Contract, Opportunity)
                               .join(Opportunity, Opportunity.id == Contract.opportunity_id)
                               .where(Contract.id.in_(ids), Contract.status == status)).all():
                put(kind, "contract", c.id, c.number, o, contract_id=c.id, contract_amount=c.amount)
    ids = wanted.get((GateKind.CHANGE_ORDER, "change_order"))
    if ids:
        for ch, c, o in s.exec(select(ChangeOrder, Contract, Opportunity)
                               .join(Contract, Contract.id == ChangeOrder.contract_id)
                               .join(Opportunity, Opportunity.id == Contract.opportunity_id)
                               .where(ChangeOrder.id.in_(ids), ChangeOrder.status == ChangeStatus.PENDING,
                                      Contract.status == ContractStatus.SIGNED)).all():
            put(GateKind.CHANGE_ORDER, "change_order", ch.id, f"{c.number} / {ch.number}", o, contract_id=c.id,
                contract_amount=ch.new_amount)
    ids = wanted.get((GateKind.WRITE_OFF, "invoice"))
    if ids:
        for inv, c, o in s.exec(select(Invoice, Contract, Opportunity)
                                .join(Contract, Contract.id == Invoice.contract_id)
                                .join(Opportunity, Opportunity.id == Contract.opportunity_id)
                                .where(Invoice.id.in_(ids))).all():
            put(GateKind.WRITE_OFF, "invoice", inv.id, inv.number, o, contract_id=c.id,
                outstanding=outstanding(inv))
    return out


def _logins(ctx: Context, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(ctx.session.exec(select(User.id, User.login).where(User.id.in_(sorted(ids)))).all())


def _names(ctx: Context, ids: set[int]) -> dict[int, str]:
    """People as people know them: their names (the login only where no name is kept)."""
    if not ids:
        return {}
    return {i: name or login for i, name, login in ctx.session.exec(
        select(User.id, User.name, User.login).where(User.id.in_(sorted(ids)))).all()}


# -- contracts, bids, milestones, terms, invoices, holds --------------------------------------------

def _to_sign(ctx: Context, me: int | None, sees_all: bool) -> list[dict]:
    q = (select(Contract, Opportunity, Account.name)
         .join(Opportunity, Opportunity.id == Contract.opportunity_id)
         .join(Account, Account.id == Contract.account_id)
         .where(Contract.status == ContractStatus.ATC_PENDING).order_by(Contract.id))
    if not sees_all:
        q = q.where(Opportunity.ar_id == me)
    # the same check signing runs: ATC approved by both, terms add up, the deal can still be won
    return [{"contract_id": c.id, "contract": c.number, "name": c.name, "amount": c.amount, "account": account,
             "opportunity_id": o.id, "opportunity": o.name}
            for c, o, account in ctx.session.exec(q).all()
            if contracts.LIFECYCLE.why_not(ctx, "contract.sign", c) is None]


def _bids_due(ctx: Context, me: int | None, sees_all: bool, today: date) -> list[dict]:
    due = bids.bids_due(ctx, BID_DAYS, as_of=today)   # the rule for "due" lives with the bids
    if not due or sees_all:
        return due
    opp_ids = {d["opportunity_id"] for d in due}
    mine = set(ctx.session.exec(select(Opportunity.id).where(
        Opportunity.id.in_(sorted(opp_ids)), or_(Opportunity.ar_id == me, Opportunity.sr_id == me))).all())
    return [d for d in due if d["opportunity_id"] in mine]


def _milestones(ctx: Context, me: int | None, sees_all: bool, today: date) -> list[dict]:
    due_on = func.coalesce(Milestone.forecast_on, Milestone.planned_on)
    q = (select(Milestone, Contract, Opportunity)
         .join(Contract, Contract.id == Milestone.contract_id)
         .join(Opportunity, Opportunity.id == Contract.opportunity_id)
         .where(Milestone.status != MilestoneStatus.ACCEPTED, Contract.status == ContractStatus.SIGNED,
                due_on <= today)
         .order_by(due_on, Milestone.id))
    if not sees_all:
        q = q.where(Opportunity.fr_id == me)
    out = []
    for m, c, o in ctx.session.exec(q).all():
        when = m.forecast_on or m.planned_on
        out.append({"milestone_id": m.id, "name": m.name, "status": m.status.value, "due_on": when,
                    "days_late": (today - when).days, "contract_id": c.id, "contract": c.number,
                    "opportunity_id": o.id, "opportunity": o.name})
    return out


def _retention_due(ctx: Context, me: int | None, sees_all: bool, today: date) -> list[dict]:
    q = (daily.unreleased_retention(today + timedelta(days=RETENTION_DAYS)).add_columns(Account.name)
         .join(Opportunity, Opportunity.id == Contract.opportunity_id)
         .join(Account, Account.id == Contract.account_id))
    if not sees_all:
        q = q.where(Opportunity.fr_id == me)
    return [{"contract_id": c.id, "contract": c.number, "account": account, "term": t.name, "amount": t.amount,
             "ends_on": c.warranty_ends_on, "days_left": (c.warranty_ends_on - today).days}
            for t, c, account in ctx.session.exec(q).all()]


def _terms_to_invoice(ctx: Context) -> list[dict]:
    billed = (select(Invoice.term_id, func.sum(Invoice.billed).label("billed"))
              .group_by(Invoice.term_id).subquery())
    rows = ctx.session.exec(
        select(PaymentTerm, Contract, Account.name, billed.c.billed)
        .join(Contract, Contract.id == PaymentTerm.contract_id)
        .join(Account, Account.id == Contract.account_id)
        .outerjoin(billed, billed.c.term_id == PaymentTerm.id)
        .where(PaymentTerm.active == True, PaymentTerm.released_on != None,  # noqa: E712,E711
               Contract.status.in_([ContractStatus.SIGNED, ContractStatus.CLOSED]))
        .order_by(PaymentTerm.released_on, PaymentTerm.id)).all()
    out = []
    for t, c, account, invoiced in rows:
        # as calculations.released_not_invoiced, for all terms in one query
        left = t.amount - (invoiced if invoiced is not None else 0)
        if left > 0:
            out.append({"term_id": t.id, "name": t.name, "released_on": t.released_on, "open_amount": left,
                        "contract_id": c.id, "contract": c.number, "account": account})
    return out


def _overdue_invoices(ctx: Context, me: int | None, sees_all: bool, today: date) -> list[dict]:
    q = (select(Invoice, Contract, Opportunity, Account.name)
         .join(Contract, Contract.id == Invoice.contract_id)
         .join(Opportunity, Opportunity.id == Contract.opportunity_id)
         .join(Account, Account.id == Invoice.account_id)
         .where(Invoice.status.in_([InvoiceStatus.ISSUED, InvoiceStatus.PARTLY_PAID]), Invoice.due_on < today)
         .order_by(Invoice.due_on, Invoice.id))
    if not sees_all:
        q = q.where(Opportunity.ar_id == me)
    out = []
    for inv, c, o, account in ctx.session.exec(q).all():
        owed = outstanding(inv)
        if owed > 0:
            out.append({"invoice_id": inv.id, "number": inv.number, "due_on": inv.due_on,
                        "days_overdue": (today - inv.due_on).days, "outstanding": owed, "contract_id": c.id,
                        "contract": c.number, "opportunity_id": o.id, "opportunity": o.name, "account": account})
    return out


def _holds(ctx: Context, me: int | None, sees_all: bool, today: date) -> list[dict]:
    ids = opportunities.holds_past_review(ctx, as_of=today)   # the rule lives with the opportunities
    if not ids:
        return []
    q = (select(Opportunity, Account.name).join(Account, Account.id == Opportunity.account_id)
         .where(Opportunity.id.in_(ids)).order_by(Opportunity.hold_review_on, Opportunity.id))
    if not sees_all:
        q = q.where(Opportunity.ar_id == me)
    return [{"opportunity_id": o.id, "opportunity": o.name, "account": account, "review_on": o.hold_review_on,
             "days_past": (today - o.hold_review_on).days} for o, account in ctx.session.exec(q).all()]
