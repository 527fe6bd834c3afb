"""Shared set-up for the contract, delivery, billing and closure tests.

The opportunity that passed ATI is inserted directly (the opportunity and bid services are tested on their
own); everything after it goes through the services under test.
"""
from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from core import clock
from core.context import snapshot, to_json
from core.enums import Calculation, Decision, GateKind, Stage
from core.models import (Acceptance, Account, Allocation, AuditEvent, Baseline, ChangeOrder, ClosureReview,
                         Contract, CostEntry, GateDecision, Invoice, Milestone, Opportunity, Payment, PaymentTerm,
                         StageChange)
from core.services import contracts, delivery

D = Decimal
TODAY = clock.today()   # what ctx.today() says: the day on the company clock
MONEY_TABLES = (Account, Opportunity, Contract, PaymentTerm, ChangeOrder, GateDecision, Milestone, Acceptance,
                CostEntry, Invoice, Payment, Allocation, Baseline, ClosureReview, StageChange, AuditEvent)


def days(n: int) -> date:
    return TODAY + timedelta(days=n)


def make_opportunity(world, *, name="Grid monitoring", stage=Stage.NEGOTIATION, ati=Decision.GO,
                     estimate: tuple[str, str] | None = ("1000000", "600000"), account="华东电网有限公司") -> int:
    """An opportunity that passed ATI, with its iron triangle (ar/sr/fr), its account and an estimate."""
    def insert(ctx):
        acc = ctx.session.exec(select(Account).where(Account.name == account)).first()
        if acc is None:
            acc = Account(name=account, name_norm=account.lower())
            ctx.session.add(acc)
            ctx.session.flush()
        opp = Opportunity(name=name, account_id=acc.id, amount=D("1000000"), stage=stage,
                          ar_id=world.users["ar"].id, sr_id=world.users["sr"].id, fr_id=world.users["fr"].id)
        ctx.session.add(opp)
        ctx.session.flush()
        if ati is not None:
            ctx.session.add(GateDecision(kind=GateKind.ATI, subject_type="opportunity", subject_id=opp.id,
                                         reviewer_role="leader", decision=ati, decided_by_id=world.users["leader"].id,
                                         rationale="go for it"))
        if estimate is not None:
            ctx.session.add(Baseline(opportunity_id=opp.id, kind=Calculation.ESTIMATE, revenue=D(estimate[0]),
                                     cost=D(estimate[1])))
        return opp.id
    return world.read(insert)


def standard_terms(m1: int) -> list[dict]:
    return [{"name": "Advance 30%", "percent": "30%", "trigger": "signing", "due_days": 15},
            {"name": "Final acceptance 60%", "percent": "0.60", "trigger": "acceptance", "milestone_id": m1},
            {"name": "Retention 10%", "percent": "10", "trigger": "warranty"}]


def draft_with_terms(world, *, number="HT-2026-0001", amount="1000000", opp_id=None, warranty_months=12):
    opp_id = opp_id or make_opportunity(world)
    cid = world.do("ar", contracts.draft_contract, opp_id, number=number, name="Grid monitoring", amount=amount,
                   warranty_months=warranty_months)
    m1 = world.do("fr", delivery.plan_milestone, cid, name="Go-live", planned_on=days(60))
    world.do("ar", contracts.set_payment_terms, cid, standard_terms(m1))
    return opp_id, cid, m1


def sign(world, cid, *, signed_on=None, budget_cost=None):
    world.do("ar", contracts.request_atc, cid)
    world.do("legal", contracts.review_atc_legal, cid, "approve", rationale="terms fine")
    world.do("finance", contracts.review_atc_finance, cid, "approve", rationale="plan fine")
    world.do("ar", contracts.sign_contract, cid, signed_on=signed_on or days(-200), budget_cost=budget_cost)


def signed_contract(world, **kw) -> dict:
    """A signed 1,000,000.00 contract: advance 30% (released at signing), 60% on final acceptance of the
    Go-live milestone, retention 10% at the end of a 12-month warranty."""
    signed_on = kw.pop("signed_on", None)
    opp_id, cid, m1 = draft_with_terms(world, **kw)
    sign(world, cid, signed_on=signed_on)
    return {"opp": opp_id, "contract": cid, "m1": m1, **terms_by_name(world, cid),
            "account": world.get(Contract, cid).account_id}


def terms_by_name(world, cid) -> dict[str, int]:
    rows = world.read(lambda ctx: ctx.session.exec(select(PaymentTerm).where(
        PaymentTerm.contract_id == cid, PaymentTerm.active == True)).all())  # noqa: E712
    short = {"Advance 30%": "advance", "Final acceptance 60%": "final", "Retention 10%": "retention"}
    return {short.get(t.name, t.name): t.id for t in rows}


def active_terms(world, cid) -> list[PaymentTerm]:
    return world.read(lambda ctx: list(ctx.session.exec(select(PaymentTerm).where(
        PaymentTerm.contract_id == cid, PaymentTerm.active == True).order_by(PaymentTerm.seq)).all()))  # noqa: E712


def db_state(world) -> dict:
    """Every row of the tables the money chain touches, as JSON text: equal before and after = nothing changed."""
    def dump(ctx):
        return {m.__name__: [to_json(snapshot(r)) for r in ctx.session.exec(select(m).order_by(m.id)).all()]
                for m in MONEY_TABLES}
    return world.read(dump)


def refused(world, error, who, fn, *args, match: str | None = None, **kwargs):
    """Call a service that must refuse: the error type, the message, and no change in the database."""
    before = db_state(world)
    with pytest.raises(error, match=re.escape(match) if match else None) as exc:
        world.do(who, fn, *args, **kwargs)
    assert db_state(world) == before, f"{fn.__name__} refused but changed the database"
    return exc.value


def gate_rows(world, kind, subject_type, subject_id) -> list[GateDecision]:
    return world.read(lambda ctx: list(ctx.session.exec(select(GateDecision).where(
        GateDecision.kind == kind, GateDecision.subject_type == subject_type,
        GateDecision.subject_id == subject_id).order_by(GateDecision.id)).all()))
