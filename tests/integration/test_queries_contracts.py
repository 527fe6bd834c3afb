"""Queries of the bids and contracts page (core/queries/contracts.py): the bid countdown, ATB history, ATC
states, payment terms and their preview, change orders, the deal's timeline; and the page's whole-plan save
of payment terms (contracts.set_payment_terms(complete=True))."""
from decimal import Decimal as D

import pandas as pd
import pytest
from sqlalchemy import update

from core.enums import ContractStatus, Stage
from core.errors import AmountError, PermissionDenied
from core.models import Bid, Contract
from core.queries import contracts as q
from core.services import billing, bids, contracts, delivery
from tests.integration.money_fixtures import (active_terms, days, draft_with_terms, make_opportunity, refused,
                                              signed_contract)


def new_bid(world, opp_id, **kw):
    kw = {"title": "Tender", "deadline": days(5), "bid_bond": "10000", "competitors": "Huawei", **kw}
    return world.do("sr", bids.create_bid, opp_id, **kw)


# -- bids -------------------------------------------------------------------------------------------

def test_bid_list_counts_down_to_the_deadline_and_flags_overdue(world):
    opp = make_opportunity(world, stage=Stage.GUIDANCE)
    soon = new_bid(world, opp, title="Soon")
    late = new_bid(world, opp, title="Late", deadline=days(20))
    world.read(lambda ctx: ctx.session.execute(update(Bid).where(Bid.id == late).values(deadline=days(-2))))
    sent = new_bid(world, opp, title="Sent", deadline=days(9))
    world.do("sr", bids.request_atb, sent, proposed_price="100000", proposed_floor="90000")
    world.do("leader", bids.decide_atb, sent, "approve", price_floor="90000", rationale="ok",
             below_cost_reason="test figures")
    world.do("sr", bids.submit_bid, sent, quoted_price="95000")

    rows = world.read(q.bid_list).set_index("ID")
    assert list(rows.index) == [late, soon, sent]   # soonest deadline first
    assert (rows.at[soon, "Days left"], rows.at[soon, "Overdue"]) == (5, False)
    assert (rows.at[late, "Days left"], rows.at[late, "Overdue"]) == (-2, True)
    assert pd.isna(rows.at[sent, "Days left"]) and not rows.at[sent, "Overdue"]   # submitted: no countdown
    assert (rows.at[sent, "Status"], rows.at[sent, "Quote"], rows.at[sent, "Price floor"]) == (
        "submitted", D("95000.00"), D("90000.00"))
    assert rows.at[soon, "Version"] == world.get(Bid, soon).version

    world.do("ar", bids.record_result, sent, won=False, loss_reason="price", winner="Huawei")
    assert sent not in set(world.read(q.bid_list)["ID"])
    everything = world.read(q.bid_list, open_only=False)
    assert list(everything["ID"]) == [sent, soon, late]   # newest deadline first
    assert world.read(q.bid_list, open_only=False, limit=1)["ID"].tolist() == [sent]


def test_a_won_or_lost_deals_other_bids_leave_the_open_list(world):
    """The walk saw a won opportunity's second bid still in the open list, inviting work that cannot be done."""
    from core.models import Opportunity

    opp = make_opportunity(world, stage=Stage.GUIDANCE)
    other = new_bid(world, opp, title="Second round")
    assert other in set(world.read(q.bid_list)["ID"])
    for stage in (Stage.WON, Stage.LOST):
        world.read(lambda ctx: ctx.session.execute(update(Opportunity).where(Opportunity.id == opp)
                                                   .values(stage=stage)))
        assert other not in set(world.read(q.bid_list)["ID"]), stage
        assert other in set(world.read(q.bid_list, open_only=False)["ID"])   # still there under "all"


def test_bid_detail_shows_the_pending_atb_and_its_history(world):
    opp = make_opportunity(world, stage=Stage.GUIDANCE)
    bid = new_bid(world, opp)
    world.do("sr", bids.request_atb, bid, proposed_price="100000", proposed_floor="80000")
    d = world.read(q.bid_detail, bid)
    assert d["atb_pending"] == {"proposed_price": D("100000.00"), "proposed_floor": D("80000.00")}
    assert (d["status"], d["days_left"], d["overdue"], d["stage"]) == ("atb_pending", 5, False, "bidding")
    world.do("leader", bids.decide_atb, bid, "reject", rationale="floor too low")
    world.do("sr", bids.request_atb, bid, proposed_price="100000", proposed_floor="90000")
    world.do("leader", bids.decide_atb, bid, "approve", price_floor="92000", rationale="ok at 92k",
             below_cost_reason="test figures")
    d = world.read(q.bid_detail, bid)
    assert d["atb_pending"] is None and d["price_floor"] == D("92000.00")
    atb = d["atb"]
    assert list(atb["Decision"]) == ["reject", "approve"]
    assert list(atb["Floor"]) == [D("80000.00"), D("92000.00")] and list(atb["Price"]) == [D("100000.00")] * 2
    assert list(atb["Decided by"]) == ["LEADER user"] * 2 and list(atb["Requested by"]) == ["SR user"] * 2


def test_deal_options_are_open_opportunities_past_ati_negotiation_first(world):
    g = make_opportunity(world, name="In guidance", stage=Stage.GUIDANCE)
    n = make_opportunity(world, name="Negotiating", stage=Stage.NEGOTIATION)
    make_opportunity(world, name="Waiting", stage=Stage.INITIATION, ati=None)
    make_opportunity(world, name="Won already", stage=Stage.WON)
    assert [o["id"] for o in world.read(q.deal_options)] == [n, g]


# -- contracts --------------------------------------------------------------------------------------

def test_contract_list_with_atc_states_drafts_first(world):
    signed = signed_contract(world, number="HT-A")["contract"]
    _, drafted, _ = draft_with_terms(world, number="HT-B")
    _, pending, _ = draft_with_terms(world, number="HT-C")
    world.do("ar", contracts.request_atc, pending)
    world.do("legal", contracts.review_atc_legal, pending, "approve", rationale="fine")
    rows = world.read(q.contract_list)
    assert list(rows["ID"]) == [pending, drafted, signed]
    states = {r["ID"]: (r["Status"], r["Legal"], r["Finance"]) for r in rows.to_dict("records")}
    assert states == {signed: ("signed", "approve", "approve"), drafted: ("draft", "not requested", "not requested"),
                      pending: ("atc_pending", "approve", "pending")}
    assert list(world.read(q.contract_list, status="signed")["ID"]) == [signed]


def test_contract_detail_terms_milestones_and_change_orders(world):
    s = signed_contract(world)
    cid = s["contract"]
    d = world.read(q.contract_detail, cid)
    assert (d["number"], d["amount"], d["status"], d["atc_state"]) == (
        "HT-2026-0001", D("1000000.00"), "signed", {"legal": "approve", "finance": "approve"})
    assert d["terms"][["Name", "Percent", "Amount", "Trigger"]].values.tolist() == [
        ["Advance 30%", "30%", D("300000.00"), "signing"],
        ["Final acceptance 60%", "60%", D("600000.00"), "acceptance"],
        ["Retention 10%", "10%", D("100000.00"), "warranty"]]
    assert d["terms"]["Milestone"].tolist()[1] == "Go-live"   # by its name, not its id
    assert (d["terms_total"], d["released_total"]) == (D("1000000.00"), D("300000.00"))
    # the editor rows read back by the service give the same plan
    plan = [{"name": r["Name"], "percent": r["Percent"] or None, "amount": r["Amount"] or None,
             "trigger": r["Trigger"], "milestone_id": s["m1"] if r["Milestone"] else None, "due_days": r["Due days"]}
            for r in d["terms_input"]]
    assert world.read(q.terms_preview, cid, plan)["difference"] == 0
    assert [r["Amount"] for r in d["unreleased_input"]] == ["600000.00", "100000.00"]
    assert list(d["atc"]["Reviewer"]) == ["legal", "finance"]
    assert d["changes"].empty and d["pending_change"] is None

    change = world.do("ar", contracts.request_change, cid, number="CO-1", reason="second site", new_amount="1100000",
                      new_terms=[{"name": "Go-live", "amount": "690000", "trigger": "acceptance",
                                  "milestone_id": s["m1"]},
                                 {"name": "Retention", "percent": "10%", "trigger": "warranty"}])
    world.do("legal", contracts.review_change_legal, change, "approve", rationale="ok")
    d = world.read(q.contract_detail, cid)
    assert d["pending_change"]["review"] == {"legal": "approve", "finance": "pending"}
    assert d["pending_change"]["terms"][["Name", "Amount"]].values.tolist() == [
        ["Go-live", D("690000.00")], ["Retention", D("110000.00")]]
    assert d["changes"][["Number", "Status", "New amount", "Legal", "Finance"]].values.tolist() == [
        ["CO-1", "pending", D("1100000.00"), "approve", "pending"]]


def test_terms_preview_reads_the_plan_like_the_service(world):
    opp, cid, m1 = draft_with_terms(world, amount="100.01")
    half = [{"name": "Half", "percent": "50%", "trigger": "signing"},
            {"name": "Other half", "percent": "50", "trigger": "signing"}]
    p = world.read(q.terms_preview, cid, half)
    assert (p["total"], p["difference"], p["share"], p["amounts"]) == (D("100.01"), 0, D("1.0000"),
                                                                       [D("50.01"), D("50.00")])
    p = world.read(q.terms_preview, cid, half[:1] + [{"name": "Fixed", "amount": "20", "trigger": "warranty"}])
    assert (p["total"], p["difference"], p["error"]) == (D("70.01"), D("-30.00"), None)
    p = world.read(q.terms_preview, cid, [{"name": "Bad", "percent": "150%", "trigger": "signing"}])
    assert p["total"] is None and "at most 100%" in p["error"]
    p = world.read(q.terms_preview, cid, [{"name": "x", "percent": "50%", "trigger": "acceptance"}])
    assert "needs its milestone" in p["error"]
    # a change order: the new plan covers the new amount less what is already released
    p = world.read(q.terms_preview, cid, [{"name": "Rest", "amount": "80", "trigger": "signing"}], amount="100",
                   released=D("20"))
    assert (p["target"], p["difference"]) == (D("80.00"), 0)
    assert "not an amount" in world.read(q.terms_preview, cid, [], amount="lots")["error"]


def test_complete_plan_save_refuses_terms_that_do_not_add_up(world):
    """The page saves the whole plan at once with complete=True: core refuses one that is not 100%."""
    opp, cid, m1 = draft_with_terms(world)
    ninety = [{"name": "Advance", "percent": "30%", "trigger": "signing"},
              {"name": "Final", "percent": "60%", "trigger": "acceptance", "milestone_id": m1}]
    err = refused(world, AmountError, "ar", contracts.set_payment_terms, cid, ninety, complete=True,
                  match="payment terms of contract 'HT-2026-0001' add up to 900,000.00, not the contract amount "
                        "1,000,000.00 (2 term(s))")
    assert err.rule == "amount"
    refused(world, AmountError, "ar", contracts.set_payment_terms, cid, [], complete=True, match="add up to 0.00")
    world.do("ar", contracts.set_payment_terms, cid, ninety)   # without complete=True a plan may be partial
    assert sum(t.amount for t in active_terms(world, cid)) == D("900000.00")
    world.do("finance", contracts.set_payment_terms, cid,
             ninety + [{"name": "Retention", "amount": "100,000", "trigger": "warranty"}], complete=True)
    assert sum(t.amount for t in active_terms(world, cid)) == D("1000000.00")


def test_timeline_tells_the_deal_in_date_order(world):
    s = signed_contract(world, signed_on=days(-100))
    cid = s["contract"]
    world.do("finance", billing.issue_invoice, s["advance"], amount="300000", issued_on=days(-90))
    world.do("finance", billing.record_payment, account_id=s["account"], amount="300000", received_on=days(-60),
             reference="BANK-1")
    world.do("fr", delivery.accept_milestone, s["m1"], kind="final", accepted_on=days(-30), certificate_ref="CERT-9")
    t = world.read(q.contract_timeline, cid)
    assert list(t["Date"]) == sorted(t["Date"])
    kinds = list(t["Kind"])
    for kind in ("drafted", "gate.request", "gate.decision", "stage", "term", "invoice", "payment", "acceptance"):
        assert kind in kinds, kind
    events = list(t["Event"])
    number = world.get(Contract, cid).number
    assert f"contract '{number}' drafted: 1,000,000.00" in events
    assert "ATC (legal): approve — terms fine" in events and "ATC (finance): approve — plan fine" in events
    assert "term 'Advance 30%' released: 300,000.00 billable" in events
    assert any(e.startswith("invoice '") and "issued: 300,000.00" in e for e in events)
    assert any(e.startswith("payment BANK-1: 300,000.00 on invoice") for e in events)
    assert "final acceptance of 'Go-live' (CERT-9)" in events
    dated = dict(zip(t["Event"], t["Date"]))
    assert dated["term 'Advance 30%' released: 300,000.00 billable"] == days(-100)
    assert dated["final acceptance of 'Go-live' (CERT-9)"] == days(-30)
    by = dict(zip(t["Event"], t["By"]))
    assert by["ATC (legal): approve — terms fine"] == "LEGAL user"


def test_timeline_includes_the_opportunitys_ati_and_bids(world):
    opp = make_opportunity(world, stage=Stage.GUIDANCE, estimate=("100000", "60000"))
    bid = new_bid(world, opp)
    world.do("sr", bids.request_atb, bid, proposed_price="100000", proposed_floor="90000")
    world.do("leader", bids.decide_atb, bid, "approve", price_floor="90000", rationale="margin ok")
    _, cid, _ = draft_with_terms(world, opp_id=opp)
    events = list(world.read(q.contract_timeline, cid)["Event"])
    assert "ATB requested, price 100,000.00, floor 90,000.00" in events
    assert "ATB: approve, floor 90,000.00 — margin ok" in events
    assert "ATI requested" in events   # the fixture's ATI row (its decision carries no time)
    assert "bid 'Tender': — → draft" not in events   # a bid's creation is not a move
    assert "bid 'Tender': draft → atb_pending" in events and "opportunity: guidance → bidding" in events


@pytest.mark.parametrize("role", ["fr", "marketing", "admin"])
def test_roles_without_contract_view_cannot_read(world, role):
    opp, cid, m1 = draft_with_terms(world)
    for fn, args in ((q.bid_list, ()), (q.contract_list, ()), (q.contract_detail, (cid,)),
                     (q.contract_timeline, (cid,)), (q.terms_preview, (cid, [])), (q.deal_options, ())):
        with pytest.raises(PermissionDenied):
            world.do(role, fn, *args)
    assert world.get(Contract, cid).status == ContractStatus.DRAFT
