"""One walk from a lead to a closed project, through the services only, meeting each refusal on the way."""
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from core import clock
from core.enums import ContractStatus, Decision, GateKind, InvoiceStatus, LeadStatus, Stage, Stance
from core.errors import AmountError, GateError, PermissionDenied
from core.models import (AuditEvent, Baseline, Contract, GateDecision, Invoice, Lead, Opportunity, Payment,
                         PaymentTerm, StageChange)
from core.services import bids, billing, closure, contracts, delivery, leads, opportunities


def count(world, model, *where):
    return world.read(lambda ctx: len(ctx.session.exec(select(model).where(*where)).all()))


def test_lead_to_closed_project(world):
    w = world
    # 线索 lead: captured by marketing, qualified, converted by the account manager
    lead_id = w.do("marketing", leads.capture_lead, company="华东电网有限公司", contact="张伟", phone="13800138000",
                   email="zhang@hd-grid.cn", source="exhibition", region="East", industry="Energy",
                   budget=Decimal("2000000"), authority="decision_maker", need="urgent", timeline_months=3)
    assert w.get(Lead, lead_id).grade == "hot"
    w.do("ar", leads.qualify_lead, lead_id)
    opp_id = w.do("ar", leads.convert_lead, lead_id, amount=Decimal("1000000"),
                  expected_close=clock.today() + timedelta(days=90))
    assert w.get(Lead, lead_id).status == LeadStatus.CONVERTED
    assert w.get(Opportunity, opp_id).stage == Stage.INITIATION

    # 立项 ATI: refused until the iron triangle and the estimate exist
    with pytest.raises(GateError):
        w.do("ar", opportunities.request_ati, opp_id)
    w.do("ar", opportunities.set_team, opp_id, ar_login="ar", sr_login="sr", fr_login="fr")
    w.do("sr", opportunities.set_estimate, opp_id, revenue=Decimal("1000000"), cost=Decimal("600000"))
    w.do("ar", opportunities.set_guidance, opp_id, pain_points="slow month-end", value_proposition="2-day close")
    w.do("ar", opportunities.add_stakeholder, opp_id, name="刘总", title="CIO", chain_role="decision maker",
         stance=Stance.SUPPORTER)
    w.do("ar", opportunities.request_ati, opp_id)
    w.do("leader", opportunities.decide_ati, opp_id, Decision.GO, rationale="strategic account")
    assert w.get(Opportunity, opp_id).stage == Stage.GUIDANCE

    # 投标 bid: submission refused before ATB, and under the floor
    bid_id = w.do("sr", bids.create_bid, opp_id, title="Grid monitoring tender",
                  deadline=clock.today() + timedelta(days=20), bid_bond=Decimal("20000"))
    with pytest.raises(GateError):
        w.do("sr", bids.submit_bid, bid_id, quoted_price=Decimal("1000000"))
    w.do("sr", bids.request_atb, bid_id, proposed_price=Decimal("1000000"), proposed_floor=Decimal("900000"))
    w.do("leader", bids.decide_atb, bid_id, Decision.APPROVE, price_floor=Decimal("900000"), rationale="ok")
    with pytest.raises(GateError, match="900,000.00"):
        w.do("sr", bids.submit_bid, bid_id, quoted_price=Decimal("850000"))
    w.do("sr", bids.submit_bid, bid_id, quoted_price=Decimal("1000000"))
    w.do("ar", bids.record_result, bid_id, won=True)
    assert w.get(Opportunity, opp_id).stage == Stage.NEGOTIATION

    # 签约 contract: signing refused without ATC; terms must add up
    cid = w.do("ar", contracts.draft_contract, opp_id, number="HT-2026-0001", name="Grid monitoring",
               amount=Decimal("1000000"))
    m1 = w.do("fr", delivery.plan_milestone, cid, name="Go-live", planned_on=clock.today() + timedelta(days=60))
    with pytest.raises(AmountError):
        w.do("ar", contracts.set_payment_terms, cid, [
            {"name": "Advance 30%", "percent": "0.30", "trigger": "signing"},
            {"name": "Final acceptance 60%", "percent": "0.60", "trigger": "acceptance", "milestone_id": m1}])
        w.do("ar", contracts.request_atc, cid)
    w.do("ar", contracts.set_payment_terms, cid, [
        {"name": "Advance 40%", "percent": "0.40", "trigger": "signing"},
        {"name": "Final acceptance 60%", "percent": "0.60", "trigger": "acceptance", "milestone_id": m1}])
    with pytest.raises(GateError):
        w.do("ar", contracts.sign_contract, cid)
    w.do("ar", contracts.request_atc, cid)
    w.do("legal", contracts.review_atc_legal, cid, Decision.APPROVE, rationale="terms fine")
    with pytest.raises(GateError):   # finance has not approved yet
        w.do("ar", contracts.sign_contract, cid)
    w.do("finance", contracts.review_atc_finance, cid, Decision.APPROVE, rationale="plan fine")
    w.do("ar", contracts.sign_contract, cid)
    assert w.get(Contract, cid).status == ContractStatus.SIGNED
    assert w.get(Opportunity, opp_id).stage == Stage.WON
    assert count(w, Baseline, Baseline.contract_id == cid, Baseline.kind == "budget") == 1

    terms = w.read(lambda ctx: {t.name: t.id for t in ctx.session.exec(
        select(PaymentTerm).where(PaymentTerm.contract_id == cid)).all()})
    advance, final = terms["Advance 40%"], terms["Final acceptance 60%"]

    # 开票 invoicing: refused before acceptance, and above what is released
    with pytest.raises(GateError):
        w.do("finance", billing.issue_invoice, final, amount=Decimal("600000"))
    with pytest.raises(AmountError, match="400,000.00"):
        w.do("finance", billing.issue_invoice, advance, amount=Decimal("450000"))
    inv1 = w.do("finance", billing.issue_invoice, advance, amount=Decimal("400000"))
    w.do("fr", delivery.accept_milestone, m1, kind="final", certificate_ref="CERT-1")
    inv2 = w.do("finance", billing.issue_invoice, final, amount=Decimal("600000"))
    with pytest.raises(AmountError, match=r"term 'Final acceptance 60%'"):
        w.do("finance", billing.issue_invoice, final, amount=Decimal("0.01"))
    w.do("fr", delivery.record_cost, cid, spent_on=clock.today(), category="labour", amount=Decimal("550000"))

    # 回款 cash: oldest due first; closure refused while money is outstanding
    account_id = w.get(Contract, cid).account_id
    w.do("finance", billing.record_payment, account_id=account_id, amount=Decimal("500000"), reference="BANK-1")
    assert w.get(Invoice, inv1).status == InvoiceStatus.PAID
    assert w.get(Invoice, inv2).status == InvoiceStatus.PARTLY_PAID
    w.do("finance", closure.record_final_accounts, cid)
    with pytest.raises(GateError, match="500,000.00"):
        w.do("fr", closure.request_closure, cid, went_well="fast go-live", went_badly="late acceptance")
    pay2 = w.do("finance", billing.record_payment, account_id=account_id, amount=Decimal("520000"),
                reference="BANK-2")
    assert w.get(Payment, pay2).unapplied == Decimal("20000.00")   # overpayment kept, not lost
    with pytest.raises(GateError, match="has 20,000.00 of unapplied cash"):   # issue 12: not closed over it
        w.do("fr", closure.request_closure, cid, went_well="fast go-live", went_badly="late acceptance")
    w.do("finance", billing.refund_unapplied, pay2, reference="REFUND-BANK-2")
    assert w.get(Payment, pay2).unapplied == Decimal("0.00")
    w.do("fr", closure.request_closure, cid, went_well="fast go-live", went_badly="late acceptance",
         lessons="accept site by site")
    with pytest.raises(PermissionDenied):   # a leader decides
        w.do("fr", closure.decide_closure, cid, "approve", rationale="mine")
    assert w.get(Contract, cid).status == ContractStatus.SIGNED
    w.do("leader", closure.decide_closure, cid, "approve", rationale="books agree")
    assert w.get(Contract, cid).status == ContractStatus.CLOSED

    # every step left its trace
    kinds = w.read(lambda ctx: {g.kind for g in ctx.session.exec(select(GateDecision)).all()})
    assert {GateKind.ATI, GateKind.ATB, GateKind.ATC, GateKind.CLOSURE} <= kinds
    assert count(w, StageChange, StageChange.entity == "opportunity", StageChange.entity_id == opp_id) >= 3
    assert count(w, AuditEvent) > 20
