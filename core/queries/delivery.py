"""What the delivery acceptance page (交付验收) shows: signed contracts, their milestones and payment terms,
cost entries and the four calculations (四算), as plain DataFrames.

Each person sees the contracts of their data scope (core.scope); asking for `mine`, a person with the fr or ar
role keeps those where they are the FR or AR of the opportunity's iron triangle. Every function loads with a
few queries keyed by id (no query per row), so the page stays fast on large data.
"""
from __future__ import annotations

from decimal import Decimal

import pandas as pd
from sqlalchemy import func, or_
from sqlalchemy.orm import aliased
from sqlmodel import select

from core import calculations, scope
from core.calculations import ZERO, figures
from core.context import Context
from core.enums import AcceptanceKind, Calculation, ContractStatus
from core.models import (Acceptance, Account, Baseline, Contract, CostEntry, Invoice, Milestone, Opportunity,
                         PaymentTerm, User)
from core.services import action

CALCULATIONS = ("estimate", "budget", "actual", "final")

CONTRACT_COLUMNS = ["ID", "Contract", "Name", "Customer", "Amount", "Signed on", "Status", "FR", "AR",
                    "Warranty ends", "Version"]
MILESTONE_COLUMNS = ["ID", "Seq", "Milestone", "Planned on", "Forecast on", "Status", "Preliminary on",
                     "Accepted on", "Certificate", "Terms", "Version"]
TERM_COLUMNS = ["ID", "Seq", "Term", "Trigger", "Milestone", "Amount", "Released on", "Invoiced"]
COST_COLUMNS = ["ID", "Spent on", "Category", "Amount", "Description", "Version"]
CALC_COLUMNS = ["Calculation", "Revenue", "Cost", "Margin", "Margin %"]
PORTFOLIO_COLUMNS = ["ID", "Contract", "Customer", "Estimate margin", "Budget revenue", "Budget cost",
                     "Budget margin", "Actual revenue", "Actual cost", "Actual margin", "Cost variance",
                     "Actual margin %", "Final margin"]


PROJECT_OWNERS = frozenset({"fr", "ar"})   # the iron triangle's seats that own projects day to day


@action("delivery.view")
def offers_mine(ctx: Context) -> bool:
    """Whether the page offers "my projects": the person holds an FR or AR seat's role now and their data scope
    reaches more than their own deals (with scope `own` every contract listed is theirs already)."""
    return bool((ctx.current_roles() or frozenset()) & PROJECT_OWNERS) and scope.level(ctx, "contract") != "own"


@action("delivery.view")
def mine_by_default(ctx: Context) -> bool:
    """Start on "my projects" when the person has projects of their own among a team's (finance and leaders,
    who reach all, start on all)."""
    return offers_mine(ctx) and scope.level(ctx, "contract") != "all"


def percent(rate: Decimal | None) -> Decimal | None:
    return None if rate is None else (rate * 100).quantize(Decimal("0.01"))


@action("delivery.view")
def contracts(ctx: Context, *, mine: bool = False, include_closed: bool = False) -> pd.DataFrame:
    """Signed contracts (and closed ones when asked), newest signing first. `mine` keeps those where the
    person is FR (fr role) or AR (ar role) of the opportunity."""
    fr, ar = aliased(User), aliased(User)
    statuses = [ContractStatus.SIGNED] + ([ContractStatus.CLOSED] if include_closed else [])
    q = (select(Contract, Account.name, fr.name, ar.name)
         .join(Account, Account.id == Contract.account_id)
         .join(Opportunity, Opportunity.id == Contract.opportunity_id)
         .outerjoin(fr, fr.id == Opportunity.fr_id)
         .outerjoin(ar, ar.id == Opportunity.ar_id)
         .where(Contract.status.in_(statuses)))
    q = scope.narrow(q, Contract.id, scope.contracts(ctx))
    if mine:
        roles = ctx.current_roles() or frozenset()
        conds = ([Opportunity.fr_id == ctx.actor.id] if "fr" in roles else []) + \
                ([Opportunity.ar_id == ctx.actor.id] if "ar" in roles else [])
        if not conds:
            return pd.DataFrame(columns=CONTRACT_COLUMNS)
        q = q.where(or_(*conds))
    rows = ctx.session.exec(q.order_by(Contract.signed_on.desc(), Contract.id.desc())).all()
    return pd.DataFrame([{"ID": c.id, "Contract": c.number, "Name": c.name, "Customer": customer,
                          "Amount": c.amount, "Signed on": c.signed_on, "Status": c.status.value,
                          "FR": fr_name or "", "AR": ar_name or "", "Warranty ends": c.warranty_ends_on,
                          "Version": c.version} for c, customer, fr_name, ar_name in rows],
                        columns=CONTRACT_COLUMNS)


def _contract(ctx: Context, contract_id: int) -> Contract:
    return ctx.get(Contract, contract_id)


@action("delivery.view")
def milestones(ctx: Context, contract_id: int) -> pd.DataFrame:
    """The contract's milestones in order, with their acceptance dates, certificate and the payment terms
    each one's final acceptance releases."""
    _contract(ctx, contract_id)
    rows = ctx.session.exec(select(Milestone).where(Milestone.contract_id == contract_id)
                            .order_by(Milestone.seq, Milestone.id)).all()
    ids = [m.id for m in rows]
    prelim: dict[int, object] = {}
    certs: dict[int, str] = {}
    if ids:
        for a in ctx.session.exec(select(Acceptance).where(Acceptance.milestone_id.in_(ids))
                                  .order_by(Acceptance.id)).all():
            if a.kind == AcceptanceKind.PRELIMINARY:
                prelim[a.milestone_id] = a.accepted_on
            if a.certificate_ref:
                certs[a.milestone_id] = a.certificate_ref   # the newest certificate
    terms: dict[int, list[str]] = {}
    for t in calculations.active_terms(ctx.session, contract_id):
        if t.milestone_id is not None:
            terms.setdefault(t.milestone_id, []).append(t.name)
    return pd.DataFrame([{"ID": m.id, "Seq": m.seq, "Milestone": m.name, "Planned on": m.planned_on,
                          "Forecast on": m.forecast_on, "Status": m.status.value,
                          "Preliminary on": prelim.get(m.id), "Accepted on": m.accepted_on,
                          "Certificate": certs.get(m.id, ""), "Terms": "; ".join(terms.get(m.id, [])),
                          "Version": m.version} for m in rows], columns=MILESTONE_COLUMNS)


def _invoiced_by_term(ctx: Context, term_ids: list[int]) -> dict[int, Decimal]:
    if not term_ids:
        return {}
    rows = ctx.session.exec(select(Invoice.term_id, func.sum(Invoice.billed))
                            .where(Invoice.term_id.in_(term_ids)).group_by(Invoice.term_id)).all()
    return {tid: Decimal(total).quantize(Decimal("0.01")) for tid, total in rows}


@action("delivery.view")
def payment_terms(ctx: Context, contract_id: int, *, milestone_id: int | None = None) -> pd.DataFrame:
    """The contract's active payment terms with their release date and what was invoiced on each; with
    `milestone_id`, only the terms that milestone's final acceptance releases."""
    _contract(ctx, contract_id)
    terms = [t for t in calculations.active_terms(ctx.session, contract_id)
             if milestone_id is None or t.milestone_id == milestone_id]
    invoiced = _invoiced_by_term(ctx, [t.id for t in terms])
    ms_ids = sorted({t.milestone_id for t in terms if t.milestone_id is not None})
    names = dict(ctx.session.exec(select(Milestone.id, Milestone.name).where(Milestone.id.in_(ms_ids))).all()) \
        if ms_ids else {}
    return pd.DataFrame([{"ID": t.id, "Seq": t.seq, "Term": t.name, "Trigger": t.trigger.value,
                          "Milestone": names.get(t.milestone_id, ""), "Amount": t.amount, "Released on": t.released_on,
                          "Invoiced": invoiced.get(t.id, ZERO)} for t in terms], columns=TERM_COLUMNS)


@action("delivery.view")
def costs(ctx: Context, contract_id: int, *, limit: int = 200) -> pd.DataFrame:
    """The contract's newest cost entries (at most `limit`)."""
    _contract(ctx, contract_id)
    rows = ctx.session.exec(select(CostEntry).where(CostEntry.contract_id == contract_id)
                            .order_by(CostEntry.spent_on.desc(), CostEntry.id.desc()).limit(limit)).all()
    return pd.DataFrame([{"ID": c.id, "Spent on": c.spent_on, "Category": c.category, "Amount": c.amount,
                          "Description": c.description, "Version": c.version} for c in rows], columns=COST_COLUMNS)


@action("delivery.view")
def four_calculations(ctx: Context, contract_id: int) -> pd.DataFrame:
    """Estimate, budget, actuals and final accounts of one project (core.calculations), plus the variance
    of actuals against budget (revenue, cost and margin; margin % in points). Rows not made yet are empty."""
    calc = calculations.four_calculations(ctx.session, contract_id)
    rows = []
    for kind in CALCULATIONS:
        f = calc.get(kind)
        rows.append({"Calculation": kind, "Revenue": f["revenue"] if f else None, "Cost": f["cost"] if f else None,
                     "Margin": f["margin"] if f else None, "Margin %": percent(f["margin_rate"]) if f else None})
    actual, budget = calc["actual"], calc["budget"]
    if budget is not None:
        a_rate, b_rate = percent(actual["margin_rate"]), percent(budget["margin_rate"])
        rows.append({"Calculation": "variance", "Revenue": actual["revenue"] - budget["revenue"],
                     "Cost": actual["cost"] - budget["cost"], "Margin": actual["margin"] - budget["margin"],
                     "Margin %": a_rate - b_rate if a_rate is not None and b_rate is not None else None})
    else:
        rows.append({"Calculation": "variance", "Revenue": None, "Cost": None, "Margin": None, "Margin %": None})
    return pd.DataFrame(rows, columns=CALC_COLUMNS)


@action("delivery.view")
def portfolio(ctx: Context, contract_ids: list[int]) -> pd.DataFrame:
    """One row per project: the margin at each calculation and actual cost against budget, for the listed
    contracts; the same figures as four_calculations, loaded in five queries whatever the number."""
    ids = [int(i) for i in contract_ids]
    if not ids:
        return pd.DataFrame(columns=PORTFOLIO_COLUMNS)
    contracts_ = ctx.session.exec(select(Contract, Account.name).join(Account, Account.id == Contract.account_id)
                                  .where(Contract.id.in_(ids)).order_by(Contract.id)).all()
    opp_ids = list({c.opportunity_id for c, _ in contracts_})
    baselines = ctx.session.exec(select(Baseline).where(or_(
        Baseline.contract_id.in_(ids),
        (Baseline.opportunity_id.in_(opp_ids)) & (Baseline.kind == Calculation.ESTIMATE)))
        .order_by(Baseline.id)).all()
    latest: dict[tuple, Baseline] = {}
    for b in baselines:   # ordered by id: the newest of each kind wins, as in calculations.latest_baseline
        if b.kind == Calculation.ESTIMATE:
            latest[("estimate", b.opportunity_id)] = b
        elif b.contract_id is not None:
            latest[(b.kind.value, b.contract_id)] = b
    invoiced = dict(ctx.session.exec(select(Invoice.contract_id, func.sum(Invoice.amount))
                                     .where(Invoice.contract_id.in_(ids)).group_by(Invoice.contract_id)).all())
    spent = dict(ctx.session.exec(select(CostEntry.contract_id, func.sum(CostEntry.amount))
                                  .where(CostEntry.contract_id.in_(ids)).group_by(CostEntry.contract_id)).all())

    def fig(b: Baseline | None):
        return figures(b.revenue, b.cost) if b is not None else None

    out = []
    for c, customer in contracts_:
        est = fig(latest.get(("estimate", c.opportunity_id)))
        bud = fig(latest.get(("budget", c.id)))
        fin = fig(latest.get(("final", c.id)))
        act = figures(Decimal(invoiced.get(c.id) or 0), Decimal(spent.get(c.id) or 0))
        out.append({"ID": c.id, "Contract": c.number, "Customer": customer,
                    "Estimate margin": est["margin"] if est else None,
                    "Budget revenue": bud["revenue"] if bud else None, "Budget cost": bud["cost"] if bud else None,
                    "Budget margin": bud["margin"] if bud else None,
                    "Actual revenue": act["revenue"], "Actual cost": act["cost"], "Actual margin": act["margin"],
                    "Cost variance": act["cost"] - bud["cost"] if bud else None,
                    "Actual margin %": percent(act["margin_rate"]),
                    "Final margin": fin["margin"] if fin else None})
    return pd.DataFrame(out, columns=PORTFOLIO_COLUMNS)


@action("delivery.view")
def milestone_terms_released(ctx: Context, milestone_id: int) -> list[dict]:
    """The payment terms a milestone's final acceptance released: name, amount, released on."""
    ms = ctx.get(Milestone, milestone_id)
    terms = ctx.session.exec(select(PaymentTerm).where(PaymentTerm.milestone_id == ms.id,
                                                       PaymentTerm.active == True,  # noqa: E712
                                                       PaymentTerm.released_on != None)  # noqa: E711
                             .order_by(PaymentTerm.seq, PaymentTerm.id)).all()
    return [{"term": t.name, "amount": t.amount, "released_on": t.released_on} for t in terms]



@action("delivery.view")
def contract_of(ctx: Context, *, contract_id: int | None = None, milestone_id: int | None = None) -> dict | None:
    """Where an address points: {'contract_id', 'closed'} of the contract (or of the milestone's contract), or
    None when there is no such record."""
    from core.errors import NotFound

    try:
        if milestone_id is not None:
            contract_id = ctx.get(Milestone, milestone_id, what="milestone").contract_id
        contract = ctx.get(Contract, contract_id, what="contract")
    except NotFound:
        return None
    return {"contract_id": contract.id, "closed": contract.status == ContractStatus.CLOSED}


ACCEPTANCE_COLUMNS = ["ID", "Kind", "Accepted on", "Recorded by", "Certificate", "Certificate ref"]


@action("delivery.view")
def acceptances(ctx: Context, milestone_id: int) -> pd.DataFrame:
    """The milestone's acceptance certificates in the order recorded: kind, date, who recorded it (by name)
    and the stored certificate (its reference; the page offers it under its file name)."""
    ms = ctx.get(Milestone, milestone_id, what="milestone")
    rows = ctx.session.exec(select(Acceptance, User.name).outerjoin(User, User.id == Acceptance.recorded_by_id)
                            .where(Acceptance.milestone_id == ms.id).order_by(Acceptance.id)).all()
    return pd.DataFrame([{"ID": a.id, "Kind": a.kind.value, "Accepted on": a.accepted_on, "Recorded by": who or "",
                          "Certificate": a.certificate_ref, "Certificate ref": a.certificate_ref}
                         for a, who in rows], columns=ACCEPTANCE_COLUMNS)


@action("delivery.view")
def milestone_offers(ctx: Context, contract_id: int) -> dict[int, dict]:
    """{milestone id: {action: Offer}} for every milestone of the contract (core.services.delivery.LIFECYCLE)."""
    from core.lifecycle import offers_for
    from core.services import delivery as svc  # registers the milestone's lifecycle

    _contract(ctx, contract_id)
    return {m.id: offers_for(ctx, "milestone", m) for m in svc.milestones(ctx, contract_id)}


@action("delivery.view")
def contract_offers(ctx: Context, contract_id: int) -> dict:
    """What this person may do on the contract's delivery now (plan a milestone, record a cost), each refused
    one with the reason: the checks core.services.delivery runs."""
    from core import permissions
    from core.lifecycle import Offer, roles_refused
    from core.services import delivery as svc
    from core.services.contracts import MILESTONES_PLANNED, wrong_status

    contract = _contract(ctx, contract_id)
    roles = ctx.current_roles() or frozenset()
    out = {}
    for action_, doing in (("milestone.plan", MILESTONES_PLANNED), ("cost.record", svc.COSTS_RECORDED)):
        if not permissions.allowed(roles, action_):
            out[action_] = Offer(action_, False, roles_refused(roles, action_))
        elif contract.status not in svc.OPEN:
            out[action_] = Offer(action_, False, wrong_status(contract, svc.OPEN, doing))
        else:
            out[action_] = Offer(action_, True)
    return out


@action("delivery.view")
def closure(ctx: Context, contract_id: int) -> dict:
    """The Closure tab (项目决算与复盘): final accounts against estimate, budget and actuals; what still blocks
    closing today (each with its figures); the review written; the leader's pending or last decision; and what
    this person may do now (record final accounts, ask to close, decide), each refused one with its reason."""
    from core import gates
    from core.enums import GateKind
    from core.lifecycle import offers_for
    from core.models import ClosureReview
    from core.services import closure as svc   # registers closure's steps in the contract's lifecycle

    contract = _contract(ctx, contract_id)
    review = ctx.session.exec(select(ClosureReview).where(ClosureReview.contract_id == contract.id)).first()
    gate = gates.latest(ctx, GateKind.CLOSURE, "contract", contract.id, "leader")
    offers = offers_for(ctx, "contract", contract)
    open_ = contract.status == ContractStatus.SIGNED
    return {"calculations": four_calculations(ctx, contract_id),
            "blockers": svc.blockers(ctx, contract, ctx.today()) if open_ else [],
            "held": [t.name for t in calculations.active_terms(ctx.session, contract.id)
                     if svc.held_retention(contract, t, contract.closed_on or ctx.today())],
            "warranty_ends_on": contract.warranty_ends_on, "closed_on": contract.closed_on,
            "review": None if review is None else {
                "closed_on": review.closed_on, "went_well": review.went_well, "went_badly": review.went_badly,
                "lessons": review.lessons, "by": _login_of(ctx, review.closed_by_id)},
            "decision": None if gate is None else {
                "decision": gate.decision.value, "rationale": gate.rationale,
                "by": _login_of(ctx, gate.decided_by_id), "requested_by": _login_of(ctx, gate.requested_by_id)},
            "warranty_note": contract.warranty_note,
            "offers": {k: offers[k] for k in ("closure.final_accounts", "closure.request", "closure.decide",
                                              "warranty.set")}}


def _login_of(ctx: Context, user_id: int | None) -> str:
    user = ctx.session.get(User, user_id) if user_id else None
    return (user.name or user.login) if user else ""
