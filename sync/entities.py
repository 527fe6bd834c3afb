"""Between a tab's fields and the core: how to read an entity's rows, and which core service a sheet edit
or a new row becomes. Every write goes through the same service (permissions, gates, validation, audit)
as the app, acting as the department's role; a refusal comes back as core's error."""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func
from sqlmodel import select

from core import scope
from core.context import Context
from core.errors import ValidationError
from core.models import (Account, Allocation, Bid, Contract, CostEntry, Invoice, Lead, Milestone, Opportunity, Payment,
                         PaymentTerm, User)
from core.services import billing, bids, contracts, delivery, leads, opportunities

Row = dict[str, object]


class Adapter:
    """One entity. `rows` returns {id: {field: value}} for every field of the tab (not sync_note)."""

    def rows(self, ctx: Context) -> dict[int, Row]:
        raise NotImplementedError

    def create(self, ctx: Context, values: dict[str, str]) -> int:
        raise ValidationError(f"{self.label}: new rows cannot be added in the sheet; create them in the app",
                              field="ID")

    def update(self, ctx: Context, rid: int, changes: dict[str, str]) -> None:
        raise ValidationError(f"{self.label}: this tab is read-only", field="ID")

    label = "record"


def _logins(ctx: Context) -> dict[int, str]:
    return {uid: login for uid, login in ctx.session.exec(select(User.id, User.login)).all() if uid is not None}


def _contract_id(ctx: Context, number: str) -> int:
    return contracts.id_by_number(ctx, number)


def _rows(ctx: Context, model, fields: tuple[str, ...]) -> dict[int, Row]:
    """{id: {field: value}} of a contract's child records with the contract's number, read as plain
    columns (no ORM objects: a tab may hold tens of thousands of rows)."""
    q = scope.within(ctx, model, select(model.id, Contract.number, *(getattr(model, f) for f in fields))
                     .join(Contract, Contract.id == model.contract_id).order_by(model.id))
    return {r[0]: {"contract": r[1], **dict(zip(fields, r[2:]))} for r in ctx.session.execute(q)}


def _only(changes: dict[str, str], handlers: dict[str, Callable[[str], None]]) -> None:
    """Apply each changed field with its handler; a field without one is refused, naming it."""
    for f, value in changes.items():
        if f not in handlers:
            raise ValidationError(f"{f}: cannot be changed from the sheet", field=f)
        handlers[f](value)


class LeadAdapter(Adapter):
    label = "Leads"
    EDIT = ("company", "contact", "phone", "email", "source", "region", "industry", "budget")

    FIELDS = ("company", "contact", "phone", "email", "source", "region", "industry", "budget", "grade", "status",
              "disqualify_reason")

    def rows(self, ctx):
        names = _logins(ctx)
        q = scope.within(ctx, Lead, select(Lead.id, Lead.owner_id, *(getattr(Lead, f) for f in self.FIELDS))
                         .order_by(Lead.id))
        return {r[0]: {**dict(zip(self.FIELDS, r[2:])), "owner": names.get(r[1], "")}
                for r in ctx.session.execute(q)}

    def create(self, ctx, values):
        fields = {k: values[k] for k in self.EDIT if values.get(k)}
        rid = leads.capture_lead(ctx, owner=values.get("owner") or None, **fields)
        self._status(ctx, rid, values)
        return rid

    def update(self, ctx, rid, changes):
        fields = {k: v for k, v in changes.items() if k in self.EDIT}
        if fields:
            leads.update_lead(ctx, rid, **{k: (v or None) if k == "budget" else v for k, v in fields.items()})
        if "owner" in changes:
            leads.assign_lead(ctx, rid, changes["owner"])
        if "status" in changes or "disqualify_reason" in changes:
            lead = ctx.session.get(Lead, rid)
            if "status" not in changes and lead.status.value != "disqualified":
                raise ValidationError("Disqualify reason: is set together with Status 'disqualified'",
                                      field="disqualify_reason")
            self._status(ctx, rid, {"status": changes.get("status", lead.status.value),
                                    "disqualify_reason": changes.get("disqualify_reason", lead.disqualify_reason)},
                         changed=True)

    def _status(self, ctx, rid, values, changed=False):
        status = values.get("status") or ""
        if status == "qualified":
            leads.qualify_lead(ctx, rid)
        elif status == "disqualified":
            try:
                leads.disqualify_lead(ctx, rid, reason=values.get("disqualify_reason") or "")
            except ValidationError as exc:   # the service's 'reason' is this tab's Disqualify reason column
                if exc.field != "reason":
                    raise
                raise ValidationError(f"Disqualify reason:{exc.message.partition(':')[2]}",
                                      field="disqualify_reason") from None
        elif changed or status not in ("", "new", "assigned"):
            raise ValidationError("Status: only 'qualified' or 'disqualified' can be set from the sheet "
                                  "(with a Disqualify reason for disqualified)", field="status")


class OpportunityAdapter(Adapter):
    label = "Opportunities"

    def rows(self, ctx):
        names = _logins(ctx)
        q = (select(Opportunity.id, Opportunity.name, Account.name, Opportunity.amount, Opportunity.expected_close,
                    Opportunity.stage, Opportunity.ar_id)
             .join(Account, Account.id == Opportunity.account_id).order_by(Opportunity.id))
        q = scope.within(ctx, Opportunity, q)
        return {i: {"name": name, "customer": acc, "amount": amount, "expected_close": close, "stage": stage,
                    "ar": names.get(ar_id, "")} for i, name, acc, amount, close, stage, ar_id in ctx.session.execute(q)}

    def update(self, ctx, rid, changes):
        _only(changes, {f: (lambda v, f=f: opportunities.update_opportunity(ctx, rid, **{f: v}))
                        for f in ("name", "amount", "expected_close")})


class BidAdapter(Adapter):
    label = "Bids"

    def rows(self, ctx):
        q = scope.within(ctx, Bid, select(Bid, Opportunity.name).join(Opportunity, Opportunity.id == Bid.opportunity_id)
                         .order_by(Bid.id))
        return {b.id: {"opportunity": opp, "title": b.title, "deadline": b.deadline, "bid_bond": b.bid_bond,
                       "competitors": b.competitors, "quoted_price": b.quoted_price, "price_floor": b.price_floor,
                       "status": b.status} for b, opp in ctx.session.exec(q).all()}

    def update(self, ctx, rid, changes):
        _only(changes, {f: (lambda v, f=f: bids.update_bid(ctx, rid, **{f: v}))
                        for f in ("title", "deadline", "bid_bond", "competitors")})


class ContractAdapter(Adapter):
    label = "Contracts"

    def rows(self, ctx):
        q = scope.within(ctx, Contract, select(Contract, Account.name).join(Account, Account.id == Contract.account_id)
                         .order_by(Contract.id))
        return {c.id: {"number": c.number, "name": c.name, "customer": acc, "amount": c.amount, "status": c.status,
                       "signed_on": c.signed_on} for c, acc in ctx.session.exec(q).all()}

    def update(self, ctx, rid, changes):
        _only(changes, {"name": lambda v: contracts.update_contract(ctx, rid, name=v)})


class PaymentTermAdapter(Adapter):
    label = "Payment Terms"

    def rows(self, ctx):
        invoiced = dict(ctx.session.exec(select(Invoice.term_id, func.sum(Invoice.billed))
                                         .group_by(Invoice.term_id)).all())
        q = scope.within(ctx, PaymentTerm, select(PaymentTerm, Contract.number)
                         .join(Contract, Contract.id == PaymentTerm.contract_id)
                         .where(PaymentTerm.active == True).order_by(PaymentTerm.id))  # noqa: E712
        return {t.id: {"contract": number, "name": t.name, "amount": t.amount, "trigger": t.trigger,
                       "released_on": t.released_on, "invoiced": invoiced.get(t.id) or 0}
                for t, number in ctx.session.exec(q).all()}


class MilestoneAdapter(Adapter):
    label = "Milestones"

    def rows(self, ctx):
        return _rows(ctx, Milestone, ("name", "planned_on", "forecast_on", "accepted_on", "status"))

    def create(self, ctx, values):
        rid = delivery.plan_milestone(ctx, _contract_id(ctx, values.get("contract", "")), name=values.get("name", ""),
                                      planned_on=values.get("planned_on") or None,
                                      forecast_on=values.get("forecast_on") or None)
        if values.get("accepted_on"):
            delivery.accept_milestone(ctx, rid, kind="final", accepted_on=values["accepted_on"])
        return rid

    def update(self, ctx, rid, changes):
        def accept(v):
            if not v:
                raise ValidationError("Accepted on: an acceptance cannot be removed from the sheet",
                                      field="accepted_on")
            delivery.accept_milestone(ctx, rid, kind="final", accepted_on=v)
        _only(changes, {"name": lambda v: delivery.update_milestone(ctx, rid, name=v),
                        "planned_on": lambda v: delivery.update_milestone(ctx, rid, planned_on=v),
                        "forecast_on": lambda v: delivery.forecast_milestone(ctx, rid, forecast_on=v),
                        "accepted_on": accept})


class CostAdapter(Adapter):
    label = "Costs"

    def rows(self, ctx):
        return _rows(ctx, CostEntry, ("spent_on", "category", "amount", "description"))

    def create(self, ctx, values):
        return delivery.record_cost(ctx, _contract_id(ctx, values.get("contract", "")),
                                    spent_on=values.get("spent_on") or None, category=values.get("category") or "other",
                                    amount=values.get("amount"), description=values.get("description", ""))

    def update(self, ctx, rid, changes):
        _only(changes, {f: (lambda v, f=f: delivery.update_cost(ctx, rid, **{f: v}))
                        for f in ("spent_on", "category", "amount", "description")})


class InvoiceAdapter(Adapter):
    label = "Invoices"

    def rows(self, ctx):
        q = scope.within(ctx, Invoice, select(Invoice, Contract.number)
                         .join(Contract, Contract.id == Invoice.contract_id).order_by(Invoice.id))
        rows = ctx.session.exec(q).all()
        numbers = {i.id: i.number for i, _ in rows}   # a credit note names the invoice it credits
        return {i.id: {"number": i.number, "kind": i.kind, "credits": numbers.get(i.credits_id, ""),
                       "contract": number, "term": i.term_id, "amount": i.amount, "issued_on": i.issued_on,
                       "due_on": i.due_on, "outstanding": billing.outstanding(i), "status": i.status}
                for i, number in rows}

    def create(self, ctx, values):
        if not values.get("term"):
            raise ValidationError("Term: the ID of the released payment term to invoice is required", field="term")
        term = int(values["term"])   # else NotFound naming no column, or past PostgreSQL's integer a crash
        if not term < 2**31 or ctx.session.get(PaymentTerm, term) is None:
            raise ValidationError(f"Term: {term} is not the ID of a payment term (see the Payment Terms tab)",
                                  field="term")
        return billing.issue_invoice(ctx, term, amount=values.get("amount"),
                                     number=values.get("number") or None, issued_on=values.get("issued_on") or None)

    def update(self, ctx, rid, changes):
        _only(changes, {"due_on": lambda v: billing.update_invoice(ctx, rid, due_on=v)})


class PaymentAdapter(Adapter):
    label = "Payments"

    def rows(self, ctx):
        firsts = select(Allocation.payment_id, func.min(Allocation.id).label("first")).group_by(
            Allocation.payment_id).subquery()
        first = dict(ctx.session.exec(       # the invoice each payment went to first: the one its row named
            select(firsts.c.payment_id, Invoice.number).join(Allocation, Allocation.id == firsts.c.first)
            .join(Invoice, Invoice.id == Allocation.invoice_id)).all())
        q = scope.within(ctx, Payment, select(Payment.id, Payment.amount, Payment.received_on, Payment.reference,
                                              Payment.unapplied).order_by(Payment.id))
        return {i: {"invoice": first.get(i, ""), "amount": amount, "received_on": on, "reference": ref,
                    "unapplied": unapplied} for i, amount, on, ref, unapplied in ctx.session.execute(q)}

    def create(self, ctx, values):
        number = values.get("invoice", "")
        invoice = ctx.session.exec(select(Invoice).where(Invoice.number == number)).first() if number else None
        if invoice is None:
            raise ValidationError(f"Invoice: {number!r} is not an invoice number; the payment needs one to know "
                                  "the customer", field="invoice")
        # the typed invoice first, the rest oldest due first: as the Cash page's form records it
        return billing.record_payment(ctx, account_id=invoice.account_id, amount=values.get("amount"),
                                      received_on=values.get("received_on") or None,
                                      reference=values.get("reference", ""), for_invoice=invoice.id)


ADAPTERS: dict[str, Adapter] = {
    "lead": LeadAdapter(), "opportunity": OpportunityAdapter(), "bid": BidAdapter(), "contract": ContractAdapter(),
    "payment_term": PaymentTermAdapter(), "milestone": MilestoneAdapter(), "cost": CostAdapter(),
    "invoice": InvoiceAdapter(), "payment": PaymentAdapter(),
}
