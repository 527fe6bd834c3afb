"""Bids and contracts (投标与合同): bids with their deadline countdown and ATB history, contracts with their ATC
reviews, payment terms, change orders and a timeline of everything that happened to the deal. Read only."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pandas as pd
from sqlalchemy.orm import aliased
from sqlmodel import select

from core import clock
from core import approvals, gates, scope, uploads, validate
from core.messages import Text, code
from core.types import fmt_money
from core.calculations import ZERO, active_terms
from core.context import Context
from core.enums import BidStatus, ChangeStatus, ContractStatus, Decision, GateKind, Stage
from core.errors import LtcError
from core.models import (Acceptance, Account, Allocation, Bid, ChangeOrder, Contract, GateDecision, Invoice,
                         Milestone, Opportunity, Payment, PaymentTerm, StageChange)
from core.queries.people import display_names
from core.services import action
from core.services.opportunities import latest_estimate
from core.services.bids import BID_STAGES, UNSUBMITTED
from core.services.contracts import REVIEWERS, atc_path, parse_terms, review_state, terms_from_json

LIST_LIMIT = 200
OPEN_BIDS = UNSUBMITTED + (BidStatus.SUBMITTED,)   # still waiting on us or on the customer
DEAL_STAGES = (Stage.NEGOTIATION, Stage.BIDDING, Stage.GUIDANCE)   # past ATI go, not yet won or lost



def _pct(value: Decimal | None) -> str:
    """0.3 -> '30%' (as people type it back into the terms editor)."""
    if value is None:
        return ""
    text = f"{(value * 100).normalize():f}"
    return f"{text}%"


# -- bids -------------------------------------------------------------------------------------------

def _countdown(bid_status: BidStatus, deadline: date, today: date) -> tuple[int | None, bool]:
    """Days left before the deadline, and whether it passed, for a bid not yet submitted."""
    if bid_status not in UNSUBMITTED:
        return None, False
    left = (deadline - today).days
    return left, left < 0


BID_COLUMNS = ["ID", "Opportunity", "Customer", "Title", "Deadline", "Days left", "Overdue", "Bond", "Status",
               "Price floor", "Quote", "Competitors", "Submitted", "Result on", "Winner", "Loss reason", "Version"]


@action("contract.view")
def bid_list(ctx: Context, *, open_only: bool = True, limit: int = LIST_LIMIT) -> pd.DataFrame:
    """Bids with their deadline countdown. Open ones (not yet submitted, or awaiting the result, of an
    opportunity still being bid for: a won or lost deal's other bids are done with): soonest deadline first;
    all: newest deadline first, at most `limit`."""
    today = ctx.today()
    q = (select(Bid, Opportunity.name, Account.name).join(Opportunity, Opportunity.id == Bid.opportunity_id)
         .join(Account, Account.id == Opportunity.account_id).where(*scope.on_deals(ctx)))
    if open_only:
        q = q.where(Bid.status.in_(OPEN_BIDS), Opportunity.stage.in_(BID_STAGES)).order_by(Bid.deadline, Bid.id)
    else:
        q = q.order_by(Bid.deadline.desc(), Bid.id.desc())
    rows = []
    for b, opp, customer in ctx.session.exec(q.limit(limit)).all():
        left, overdue = _countdown(b.status, b.deadline, today)
        rows.append({"ID": b.id, "Opportunity": opp, "Customer": customer, "Title": b.title, "Deadline": b.deadline,
                     "Days left": left, "Overdue": overdue, "Bond": b.bid_bond, "Status": b.status.value,
                     "Price floor": b.price_floor, "Quote": b.quoted_price, "Competitors": b.competitors,
                     "Submitted": b.submitted_on, "Result on": b.result_on, "Winner": b.winner,
                     "Loss reason": b.loss_reason, "Version": b.version})
    out = pd.DataFrame(rows, columns=BID_COLUMNS)
    out["Days left"] = out["Days left"].astype("Int64")   # whole days; empty once submitted
    return out


@action("contract.view")
def bid_detail(ctx: Context, bid_id: int) -> dict:
    """One bid with its opportunity, countdown, and ATB history (proposed price and floor, decision, floor)."""
    b = ctx.get(Bid, bid_id, what="bid")
    opp = ctx.session.get(Opportunity, b.opportunity_id)
    left, overdue = _countdown(b.status, b.deadline, ctx.today())
    history = gates.history(ctx, GateKind.ATB, "bid", b.id)
    names = display_names(ctx, [g.requested_by_id for g in history] + [g.decided_by_id for g in history]
                          + [g.on_behalf_of_id for g in history])
    pending = history[-1] if history and history[-1].decision == Decision.PENDING else None
    est = latest_estimate(ctx, opp.id)
    return {
        "id": b.id, "title": b.title, "opportunity_id": opp.id, "opportunity": opp.name, "stage": opp.stage.value,
        "deadline": b.deadline, "days_left": left, "overdue": overdue, "bid_bond": b.bid_bond,
        "status": b.status.value, "price_floor": b.price_floor, "quoted_price": b.quoted_price,
        "competitors": b.competitors, "submitted_on": b.submitted_on, "result_on": b.result_on,
        "winner": b.winner, "loss_reason": b.loss_reason, "version": b.version,
        # a pending request keeps the proposed price in `amount` and the proposed floor in `price_floor`
        "atb_pending": None if pending is None else {"proposed_price": pending.amount,
                                                     "proposed_floor": pending.price_floor},
        # the estimate (概算) the ATB decision is taken against
        "estimate": None if est is None else {"revenue": est.revenue, "cost": est.cost,
                                              "margin": est.revenue - est.cost},
        "atb": pd.DataFrame(
            [{"Step": g.reviewer_role, "Requested": g.requested_at, "Requested by": names.get(g.requested_by_id, ""),
              "Price": g.amount, "Floor": g.price_floor, "Decision": g.decision.value, "Decided": g.decided_at,
              "Decided by": names.get(g.decided_by_id, ""), "On behalf of": names.get(g.on_behalf_of_id, ""),
              "Rationale": g.rationale} for g in history],
            columns=["Step", "Requested", "Requested by", "Price", "Floor", "Decision", "Decided", "Decided by",
                     "On behalf of", "Rationale"]),
    }


@action("contract.view")
def deal_options(ctx: Context) -> list[dict]:
    """Opportunities past ATI go and still open (negotiation first): where a bid or a contract is made."""
    rank = {s: i for i, s in enumerate(DEAL_STAGES)}
    rows = ctx.session.exec(
        select(Opportunity.id, Opportunity.name, Opportunity.stage, Opportunity.amount, Account.name)
        .join(Account, Account.id == Opportunity.account_id)
        .where(Opportunity.stage.in_(DEAL_STAGES), *scope.on_deals(ctx))
        .order_by(Opportunity.name, Opportunity.id)).all()
    out = [dict(id=oid, name=name, stage=stage.value, amount=amount, customer=customer)
           for oid, name, stage, amount, customer in rows]
    return sorted(out, key=lambda r: rank[Stage(r["stage"])])


# -- contracts --------------------------------------------------------------------------------------

def _atc_states(ctx: Context, contract_ids: list[int]) -> dict[int, dict[str, str]]:
    """The newest ATC decision per reviewer role for each contract (one query)."""
    out = {cid: {role: "not requested" for role in REVIEWERS} for cid in contract_ids}
    if not contract_ids:
        return out
    rows = ctx.session.exec(select(GateDecision.subject_id, GateDecision.reviewer_role, GateDecision.decision)
                            .where(GateDecision.kind == GateKind.ATC, GateDecision.subject_type == "contract",
                                   GateDecision.subject_id.in_(contract_ids))
                            .order_by(GateDecision.id)).all()
    for cid, role, decision in rows:   # oldest first: the newest row wins
        if role in out[cid]:
            out[cid][role] = decision.value
    return out


@action("contract.view")
def contract_list(ctx: Context, *, status: str | None = None, limit: int = LIST_LIMIT) -> pd.DataFrame:
    """Contracts, drafts and those awaiting ATC first, then the newest; with the legal and finance ATC state."""
    q = (select(Contract, Opportunity.name, Account.name).join(Opportunity, Opportunity.id == Contract.opportunity_id)
         .join(Account, Account.id == Contract.account_id).where(*scope.on_deals(ctx, "contract")))
    if status:
        q = q.where(Contract.status == ContractStatus(status))
    rows = ctx.session.exec(q.order_by(Contract.id.desc()).limit(limit)).all()
    first = (ContractStatus.DRAFT, ContractStatus.ATC_PENDING)
    rows = sorted(rows, key=lambda r: r[0].status not in first)   # stable: keeps newest first within each group
    atc = _atc_states(ctx, [c.id for c, _, _ in rows])
    return pd.DataFrame(
        [{"ID": c.id, "Number": c.number, "Name": c.name, "Customer": customer, "Opportunity": opp,
          "Amount": c.amount, "Status": c.status.value, "Signed on": c.signed_on, "Legal": atc[c.id]["legal"],
          "Finance": atc[c.id]["finance"], "Version": c.version} for c, opp, customer in rows],
        columns=["ID", "Number", "Name", "Customer", "Opportunity", "Amount", "Status", "Signed on", "Legal",
                 "Finance", "Version"])


def _term_row(t: PaymentTerm | dict, milestones: dict[int, str]) -> dict:
    get = t.get if isinstance(t, dict) else lambda k: getattr(t, k)
    mid = get("milestone_id")
    trigger = get("trigger")
    return {"Name": get("name"), "Percent": _pct(get("percent")),
            "Amount": get("amount"), "Trigger": getattr(trigger, "value", trigger),
            "Milestone": milestones.get(mid, "") if mid else "", "Due days": get("due_days")}


@action("contract.view")
def contract_detail(ctx: Context, contract_id: int) -> dict:
    """One contract in full: basics with version, ATC reviews, active payment terms and their total, the
    milestones terms may hang on, and change orders with their legal and finance reviews."""
    c = ctx.get(Contract, contract_id, what="contract")
    opp = ctx.session.get(Opportunity, c.opportunity_id)
    account = ctx.session.get(Account, c.account_id)
    ms = ctx.session.exec(select(Milestone).where(Milestone.contract_id == c.id)
                          .order_by(Milestone.seq, Milestone.id)).all()
    # a milestone by its name (its place in the plan too when two share a name), never by its id
    seen = [m.name for m in ms]
    ms_label = {m.id: m.name if seen.count(m.name) == 1 else f"{m.name} ({m.seq})" for m in ms}
    terms = active_terms(ctx.session, c.id)
    total = sum((t.amount for t in terms), ZERO)
    released = sum((t.amount for t in terms if t.released_on), ZERO)
    atc = gates.history(ctx, GateKind.ATC, "contract", c.id)
    changes = ctx.session.exec(select(ChangeOrder).where(ChangeOrder.contract_id == c.id)
                               .order_by(ChangeOrder.id)).all()
    change_gates = ctx.session.exec(select(GateDecision).where(
        GateDecision.kind == GateKind.CHANGE_ORDER, GateDecision.subject_type == "change_order",
        GateDecision.subject_id.in_([ch.id for ch in changes] or [-1])).order_by(GateDecision.id)).all()
    change_state = {ch.id: {role: "not requested" for role in REVIEWERS} for ch in changes}
    for g in change_gates:
        change_state[g.subject_id][g.reviewer_role] = g.decision.value
    names = display_names(ctx, [g.requested_by_id for g in atc] + [g.decided_by_id for g in atc]
                          + [g.on_behalf_of_id for g in atc])
    pending_change = next((ch for ch in changes if ch.status == ChangeStatus.PENDING), None)
    return {
        "id": c.id, "number": c.number, "name": c.name, "opportunity_id": c.opportunity_id,
        "opportunity": opp.name if opp else "", "customer": account.name if account else "", "amount": c.amount,
        "scope": c.scope, "status": c.status.value, "signed_on": c.signed_on, "warranty_months": c.warranty_months,
        "warranty_ends_on": c.warranty_ends_on, "version": c.version,
        "atc_state": review_state(ctx, GateKind.ATC, "contract", c.id),
        "atc": pd.DataFrame(
            [{"Reviewer": g.reviewer_role, "Requested": g.requested_at,
              "Requested by": names.get(g.requested_by_id, ""),
              "Decision": g.decision.value, "Waits for": ", ".join(approvals.waiting_for(ctx, g))
              if g.decision == Decision.PENDING else "", "Decided": g.decided_at,
              "Decided by": names.get(g.decided_by_id, ""), "On behalf of": names.get(g.on_behalf_of_id, ""),
              "Rationale": g.rationale} for g in atc],
            columns=["Reviewer", "Requested", "Requested by", "Decision", "Waits for", "Decided", "Decided by",
                     "On behalf of", "Rationale"]),
        "atc_path": atc_path(ctx, c),   # the steps this contract's ATC takes (config/approvals.toml), in order
        "terms": pd.DataFrame(
            [{"Seq": t.seq, **_term_row(t, ms_label), "Released on": t.released_on} for t in terms],
            columns=["Seq", "Name", "Percent", "Amount", "Trigger", "Milestone", "Due days", "Released on"]),
        # the editor's rows: a percent term is edited as its percent, an amount term as its amount
        "terms_input": [{"Name": t.name, "Percent": _pct(t.percent),
                         "Amount": "" if t.percent is not None else f"{t.amount:f}", "Trigger": t.trigger.value,
                         "Milestone": ms_label.get(t.milestone_id, "") if t.milestone_id else "",
                         "Due days": t.due_days} for t in terms],
        "unreleased_input": [{"Name": t.name, "Percent": "", "Amount": f"{t.amount:f}", "Trigger": t.trigger.value,
                              "Milestone": ms_label.get(t.milestone_id, "") if t.milestone_id else "",
                              "Due days": t.due_days} for t in terms if not t.released_on],
        "terms_total": total, "released_total": released,
        "milestones": [dict(id=m.id, label=ms_label[m.id], planned_on=m.planned_on, status=m.status.value)
                       for m in ms],
        "changes": pd.DataFrame(
            [{"ID": ch.id, "Number": ch.number, "Reason": ch.reason, "New amount": ch.new_amount,
              "New scope": ch.new_scope, "Status": ch.status.value, "Requested": ch.requested_on,
              "Decided": ch.decided_on, "Legal": change_state[ch.id]["legal"],
              "Finance": change_state[ch.id]["finance"]} for ch in changes],
            columns=["ID", "Number", "Reason", "New amount", "New scope", "Status", "Requested", "Decided", "Legal",
                     "Finance"]),
        "pending_change": None if pending_change is None else {
            "id": pending_change.id, "number": pending_change.number, "new_amount": pending_change.new_amount,
            "review": change_state[pending_change.id],
            "terms": pd.DataFrame([_term_row(t, ms_label) for t in terms_from_json(pending_change.new_terms_json)
                                   or []], columns=["Name", "Percent", "Amount", "Trigger", "Milestone", "Due days"])},
    }


@action("contract.view")
def terms_preview(ctx: Context, contract_id: int, terms: list[dict], *, amount=None,
                  released: Decimal = ZERO) -> dict:
    """What a payment plan adds up to, read exactly as the contract service will read it (percent of the
    amount, the rounding remainder on the last percent term): {"total", "target", "difference", "share",
    "amounts", "error"}. `amount` is the contract amount (or a change order's new amount); `released` what
    is already released and stays (change orders). A plan the service would refuse gives its message."""
    c = ctx.get(Contract, contract_id, what="contract")
    target = None
    try:
        base = c.amount if amount is None else validate.amount("new_amount", amount)
        target = base - released
        plan = parse_terms(ctx, c, terms, base=base, target=target)
    except LtcError as exc:
        return {"total": None, "target": target, "difference": None, "share": None, "amounts": [],
                "error": exc.text}   # core's words: a page says them in the person's language
    total = sum((t["amount"] for t in plan), ZERO)
    return {"total": total, "target": target, "difference": total - target,
            "share": (total / target).quantize(Decimal("0.0001")) if target else None,
            "amounts": [t["amount"] for t in plan], "error": None}


# -- timeline ---------------------------------------------------------------------------------------

def _utc(ts: datetime) -> datetime:
    """Naive UTC, so times read from SQLite (naive) and PostgreSQL (aware) sort the same way."""
    return ts.astimezone(timezone.utc).replace(tzinfo=None) if ts.tzinfo else ts


@action("contract.view")
def contract_timeline(ctx: Context, contract_id: int) -> pd.DataFrame:
    """Everything that happened to the deal, oldest first: gate requests and decisions (ATI of its
    opportunity, ATB of its bids, ATC, change orders), stage and status moves, term releases, acceptances,
    invoices and payments. Columns: Date, Time (None for business dates), Kind, Event, By."""
    c = ctx.get(Contract, contract_id, what="contract")
    bid_ids = list(ctx.session.exec(select(Bid.id).where(Bid.opportunity_id == c.opportunity_id)).all())
    change_ids = list(ctx.session.exec(select(ChangeOrder.id).where(ChangeOrder.contract_id == c.id)).all())
    subjects = [("opportunity", [c.opportunity_id]), ("bid", bid_ids), ("contract", [c.id]),
                ("change_order", change_ids)]
    events: list[tuple] = []   # (date, time or None, kind, event, by_id)

    def at(ts: datetime | None, kind: str, text: str, by: int | None = None) -> None:
        if ts is not None:
            ts = _utc(ts)
            events.append((clock.local_date(ts), ts, kind, text, by))

    def on(day: date | None, kind: str, text: str, by: int | None = None) -> None:
        if day is not None:
            events.append((day, None, kind, text, by))

    # each event in core's words (a page says them in the person's language, stored codes as words)
    at(c.created_at, "drafted", Text("contract '{number}' drafted: {amount}", number=c.number,
                                     amount=fmt_money(c.amount)))
    titles = dict(ctx.session.exec(select(Bid.id, Bid.title).where(Bid.id.in_(bid_ids or [-1]))).all())
    changes = dict(ctx.session.exec(select(ChangeOrder.id, ChangeOrder.number)
                                    .where(ChangeOrder.id.in_(change_ids or [-1]))).all())
    for subject, ids in subjects:
        if not ids:
            continue
        for g in ctx.session.exec(select(GateDecision).where(GateDecision.subject_type == subject,
                                                             GateDecision.subject_id.in_(ids))
                                  .order_by(GateDecision.id)).all():
            gate = g.kind.value.upper().replace("_", " ")
            who = "" if g.reviewer_role == "leader" else Text(" ({role})", role=code(g.reviewer_role))
            extra = Text(", price {price}, floor {floor}", price=fmt_money(g.amount), floor=fmt_money(g.price_floor)) \
                if g.kind == GateKind.ATB and g.amount and g.price_floor is not None else ""
            at(g.requested_at, "gate.request", Text("{gate} requested{who}{extra}", gate=gate, who=who, extra=extra),
               g.requested_by_id)
            if g.decided_at is not None:
                floor = Text(", floor {floor}", floor=fmt_money(g.price_floor)) \
                    if g.kind == GateKind.ATB and g.price_floor is not None else ""
                review = Text(", review on {day}", day=g.review_date.isoformat()) if g.review_date else ""
                at(g.decided_at, "gate.decision",
                   Text("{gate}{who}: {decision}{floor}{review} — {rationale}", gate=gate, who=who,
                        decision=code(g.decision), floor=floor, review=review, rationale=g.rationale),
                   g.decided_by_id)
        for m in ctx.session.exec(select(StageChange).where(StageChange.entity == subject,
                                                            StageChange.entity_id.in_(ids))
                                  .order_by(StageChange.id)).all():
            what = {"opportunity": Text("opportunity"), "contract": Text("contract '{number}'", number=c.number),
                    "bid": Text("bid '{title}'", title=titles.get(m.entity_id, m.entity_id)),
                    "change_order": Text("change order '{number}'", number=changes.get(m.entity_id, m.entity_id)),
                    }.get(subject, subject)
            at(m.at, "stage", Text("{what}: {before} → {after}", what=what,
                                   before=code(m.from_stage) if m.from_stage else "—", after=code(m.to_stage)),
               m.by_id)
    ms_rows = ctx.session.exec(select(Acceptance, Milestone.name)
                               .join(Milestone, Milestone.id == Acceptance.milestone_id)
                               .where(Milestone.contract_id == c.id).order_by(Acceptance.id)).all()
    kinds = {"preliminary": Text("preliminary acceptance"), "final": Text("final acceptance")}
    for a, name in ms_rows:
        ref = uploads.shown_name(a.certificate_ref)   # a stored file by its name, not where it is kept
        on(a.accepted_on, "acceptance", Text("{kind} of '{name}'{ref}", kind=kinds.get(a.kind.value, a.kind.value),
                                             name=name, ref=f" ({ref})" if ref else ""), a.recorded_by_id)
    for t in ctx.session.exec(select(PaymentTerm).where(PaymentTerm.contract_id == c.id,
                                                        PaymentTerm.released_on != None)  # noqa: E711
                              .order_by(PaymentTerm.seq)).all():
        on(t.released_on, "term", Text("term '{name}' released: {amount} billable", name=t.name,
                                       amount=fmt_money(t.amount)))
    for inv in ctx.session.exec(select(Invoice).where(Invoice.contract_id == c.id).order_by(Invoice.id)).all():
        on(inv.issued_on, "invoice", Text("invoice '{number}' issued: {amount}, due {due}", number=inv.number,
                                          amount=fmt_money(inv.amount), due=inv.due_on.isoformat()))
    pay = aliased(Payment)
    for alloc, number, ref in ctx.session.exec(
            select(Allocation, Invoice.number, pay.reference).join(Invoice, Invoice.id == Allocation.invoice_id)
            .join(pay, pay.id == Allocation.payment_id).where(Invoice.contract_id == c.id)
            .order_by(Allocation.id)).all():
        on(alloc.allocated_on, "payment", Text("payment {reference}: {amount} on invoice '{number}'",
                                               reference=ref or alloc.payment_id, amount=fmt_money(alloc.amount),
                                               number=number))

    names = display_names(ctx, [e[4] for e in events])
    events.sort(key=lambda e: (e[0], e[1] is None, e[1] or datetime.min))
    out = pd.DataFrame([{"Date": d, "Time": ts.strftime("%H:%M") if ts else "", "Kind": kind,
                         "By": names.get(by, "")} for d, ts, kind, _, by in events],
                       columns=["Date", "Time", "Kind", "Event", "By"])
    # object dtype: pandas would turn core's words (Text) into plain strings, losing what says them in Chinese
    out["Event"] = pd.Series([e[3] for e in events], dtype=object, index=out.index)
    return out


@action("contract.view")
def change_order_contract(ctx: Context, change_id: int) -> int:
    """The contract a change order amends (a link to a change order opens its contract's Changes)."""
    return ctx.get(ChangeOrder, change_id, what="change order").contract_id
