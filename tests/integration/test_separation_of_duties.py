"""Separation of duties (issue 12), from config/permissions.toml: for every gate, one person holding both the
requesting and the deciding role may do either, never both on one request; and a gate reviewed by two roles
gets its two reviews from two people. A refused decision changes nothing; someone else then decides."""
from decimal import Decimal

import pytest

from core import gates
from core.enums import ContractStatus, Decision, GateKind
from core.errors import PermissionDenied
from core.models import Contract, PaymentTerm
from core.services import billing, bids, closure, contracts, delivery, users
from core.services import opportunities as opps
from tests.integration.money_fixtures import days, draft_with_terms, make_opportunity, signed_contract


def person(world, login: str, roles: list[str]) -> str:
    world.do("admin", users.create_user, login, email=f"{login}@example.com", roles=roles)
    world.users[login] = world.read(lambda ctx: users.actor(ctx, login))
    return login


def refused_and_untouched(world, kind, subject_type, subject_id, role, who, fn, *args, **kw):
    before = world.read(lambda ctx: gates.pending(ctx, kind, subject_type, subject_id, role))
    assert before is not None
    with pytest.raises(PermissionDenied, match="separation of duties: '" + who + "'") as exc:
        world.do(who, fn, *args, **kw)
    after = world.read(lambda ctx: gates.pending(ctx, kind, subject_type, subject_id, role))
    assert after is not None and after.id == before.id   # still pending: the refusal wrote nothing
    return str(exc.value)


def test_ati_the_requester_does_not_decide(world):
    both = person(world, "ar_leader", ["ar", "leader"])
    opp = world.do(both, opps.create_opportunity, name="Grid", account_name="ACME", amount="1,000,000")
    world.do(both, opps.set_team, opp, ar_login=both, sr_login="sr", fr_login="fr")
    world.do("sr", opps.set_estimate, opp, revenue="1,000,000", cost="600,000")
    world.do(both, opps.request_ati, opp)
    msg = refused_and_untouched(world, GateKind.ATI, "opportunity", opp, "leader", both, opps.decide_ati, opp, "go",
                                rationale="mine")
    assert "asked for this ATI decision" in msg and "another person with the leader role decides" in msg
    world.do("leader", opps.decide_ati, opp, "go", rationale="worth it")


def test_atb_the_requester_does_not_decide(world):
    both = person(world, "sr_leader", ["sr", "leader"])
    opp = make_opportunity(world)
    bid = world.do("sr", bids.create_bid, opp, title="Tender", deadline=days(10))
    world.do(both, bids.request_atb, bid, proposed_price="900000", proposed_floor="800000")
    refused_and_untouched(world, GateKind.ATB, "bid", bid, "leader", both, bids.decide_atb, bid, "approve",
                          price_floor="800000", rationale="mine")
    world.do("leader", bids.decide_atb, bid, "approve", price_floor="800000", rationale="margin holds")


def test_atc_the_requester_does_not_review(world):
    both = person(world, "ar_legal", ["ar", "legal"])
    _, cid, _ = draft_with_terms(world)
    world.do(both, contracts.request_atc, cid)
    refused_and_untouched(world, GateKind.ATC, "contract", cid, "legal", both, contracts.review_atc_legal, cid,
                          "approve", rationale="mine")
    world.do("legal", contracts.review_atc_legal, cid, "approve", rationale="terms fine")


def test_atc_one_person_gives_one_of_the_two_reviews(world):
    """Issue 12: one person holding legal and finance approved both ATC reviews."""
    both = person(world, "legal_finance", ["legal", "finance"])
    _, cid, _ = draft_with_terms(world)
    world.do("ar", contracts.request_atc, cid)
    world.do(both, contracts.review_atc_legal, cid, "approve", rationale="terms fine")
    msg = refused_and_untouched(world, GateKind.ATC, "contract", cid, "finance", both, contracts.review_atc_finance,
                                cid, "approve", rationale="plan fine")
    assert "gave the legal review of this ATC" in msg and "the finance review is another person's" in msg
    world.do("finance", contracts.review_atc_finance, cid, "approve", rationale="plan fine")
    world.do("ar", contracts.sign_contract, cid, signed_on=days(-1))


def test_change_order_the_requester_does_not_review_and_one_person_gives_one_review(world):
    requester = person(world, "fr_legal", ["fr", "legal"])
    reviewer = person(world, "legal_finance", ["legal", "finance"])
    ids = signed_contract(world)
    co = world.do(requester, contracts.request_change, ids["contract"], number="CO-1", reason="scope wording",
                  new_amount="1,000,000", new_scope="monitoring, worded anew")
    refused_and_untouched(world, GateKind.CHANGE_ORDER, "change_order", co, "legal", requester,
                          contracts.review_change_legal, co, "approve", rationale="mine")
    world.do(reviewer, contracts.review_change_legal, co, "approve", rationale="ok")
    refused_and_untouched(world, GateKind.CHANGE_ORDER, "change_order", co, "finance", reviewer,
                          contracts.review_change_finance, co, "approve", rationale="ok")
    world.do("finance", contracts.review_change_finance, co, "approve", rationale="ok")


def test_write_off_the_requester_does_not_decide(world):
    """Issue 12: a person holding finance and leader requested and approved their own write-off."""
    both = person(world, "finance_leader", ["finance", "leader"])
    ids = signed_contract(world)
    inv = world.do("finance", billing.issue_invoice, ids["advance"], amount=Decimal("300000"))
    world.do(both, billing.request_write_off, inv, amount="1000", reason="penalty agreed")
    refused_and_untouched(world, GateKind.WRITE_OFF, "invoice", inv, "leader", both, billing.decide_write_off, inv,
                          Decision.APPROVE, rationale="mine")
    world.do("leader", billing.decide_write_off, inv, Decision.APPROVE, rationale="keeps the account")


def test_closure_the_closer_is_not_the_approver(world):
    """Issue 12: the closure gate was approved by the person who closed."""
    both = person(world, "fr_leader", ["fr", "leader"])
    ids = signed_contract(world, signed_on=days(-800))
    cid = ids["contract"]
    world.do("fr", delivery.accept_milestone, ids["m1"], kind="final", accepted_on=days(-500))
    world.do("finance", delivery.release_warranty_terms, cid)
    for term in ("advance", "final", "retention"):
        inv = world.do("finance", billing.issue_invoice, ids[term], amount=world.get(PaymentTerm, ids[term]).amount)
        world.do("finance", billing.record_payment, account_id=ids["account"],
                 amount=world.get(billing.Invoice, inv).amount)
    world.do("finance", closure.record_final_accounts, cid)
    world.do(both, closure.request_closure, cid, went_well="a", went_badly="b")
    msg = refused_and_untouched(world, GateKind.CLOSURE, "contract", cid, "leader", both, closure.decide_closure,
                                cid, "approve", rationale="mine")
    assert "asked for this CLOSURE decision" in msg
    assert world.get(Contract, cid).status == ContractStatus.SIGNED
    world.do("leader", closure.decide_closure, cid, "approve", rationale="books agree")
    assert world.get(Contract, cid).status == ContractStatus.CLOSED


def test_the_rules_are_data_in_config():
    from config.settings import load
    rules = load("permissions")["separation_of_duties"]
    assert set(rules["requester_never_decides"]) >= {"ati", "atb", "atc", "change_order", "write_off",
                                                     "closure"}
    assert set(rules["one_review_per_person"]) == {"ati", "atb", "atc", "change_order", "write_off", "closure"}
