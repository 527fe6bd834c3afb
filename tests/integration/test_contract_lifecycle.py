"""The contract's and the change order's lifecycles (core.services.contracts.LIFECYCLE / CHANGE_LIFECYCLE): what
core offers each person on a contract now, and that every refused offer gives the very message the service
refuses with (one check, defined once)."""
from core.errors import AmountError, GateError
from core.queries.offers import offers
from core.services import closure, contracts
from tests.integration.money_fixtures import draft_with_terms, make_opportunity, refused, signed_contract

ALL = {"contract.draft", "contract.terms", "milestone.plan", "atc.request", "atc.review_legal", "atc.review_finance",
       "atc.review_leader",
       "contract.sign", "change.request", "closure.final_accounts", "closure.request", "closure.decide",
       "warranty.set"}


def offered(world, login, kind, record_id) -> dict:
    return world.do(login, lambda ctx: offers(ctx, kind, record_id))


def allowed(world, login, kind, record_id) -> set[str]:
    return {a for a, o in offered(world, login, kind, record_id).items() if o.allowed}


def test_a_draft_offers_editing_and_atc_once_its_terms_add_up(world):
    opp = make_opportunity(world)
    cid = world.do("ar", contracts.draft_contract, opp, number="HT-L1", name="Grid", amount="1000")
    got = offered(world, "ar", "contract", cid)
    assert set(got) == ALL
    assert {a for a, o in got.items() if o.allowed} == {"contract.draft", "contract.terms", "milestone.plan"}
    # the refusal offered is the refusal the service gives, and of the same kind
    err = refused(world, AmountError, "ar", contracts.request_atc, cid)
    assert got["atc.request"].reason == str(err)
    err = refused(world, GateError, "ar", contracts.sign_contract, cid)
    assert got["contract.sign"].reason == str(err)
    assert "may not perform" in got["atc.review_legal"].reason   # not ar's to review

    world.do("ar", contracts.set_payment_terms, cid, [{"name": "All", "percent": "100%", "trigger": "signing"}])
    assert "atc.request" in allowed(world, "ar", "contract", cid)


def test_atc_pending_offers_each_review_once_then_signing(world):
    _, cid, _ = draft_with_terms(world)
    world.do("ar", contracts.request_atc, cid)
    assert "atc.request" not in allowed(world, "ar", "contract", cid)
    assert "already awaits" in offered(world, "ar", "contract", cid)["atc.request"].reason
    assert "atc.review_legal" in allowed(world, "legal", "contract", cid)
    world.do("legal", contracts.review_atc_legal, cid, "approve", rationale="fine")
    reason = offered(world, "legal", "contract", cid)["atc.review_legal"].reason
    err = refused(world, GateError, "legal", contracts.review_atc_legal, cid, "approve", rationale="again")
    assert reason == str(err) and "already decided" in reason
    sign = offered(world, "ar", "contract", cid)["contract.sign"]
    assert not sign.allowed and "legal: approve, finance: pending" in sign.reason
    world.do("finance", contracts.review_atc_finance, cid, "approve", rationale="fine")
    assert {"contract.sign", "contract.draft", "contract.terms"} <= allowed(world, "ar", "contract", cid)


def test_a_signed_contract_offers_a_change_request_and_its_reviews(world):
    ids = signed_contract(world)
    cid = ids["contract"]
    assert allowed(world, "ar", "contract", cid) == {"milestone.plan", "change.request"}
    # closure: asked before the final accounts, the offer's reason is the service's refusal
    err = refused(world, GateError, "fr", closure.request_closure, cid, went_well="a", went_badly="b")
    assert offered(world, "fr", "contract", cid)["closure.request"].reason == str(err)
    assert "has no final accounts" in str(err)
    err = refused(world, GateError, "leader", closure.decide_closure, cid, "approve", rationale="x")
    assert offered(world, "leader", "contract", cid)["closure.decide"].reason == str(err)
    assert allowed(world, "finance", "contract", cid) >= {"closure.final_accounts"}
    err = refused(world, GateError, "ar", contracts.update_contract, cid, amount=5)
    assert offered(world, "ar", "contract", cid)["contract.draft"].reason == str(err)

    change = world.do("ar", contracts.request_change, cid, number="CO-1", reason="wording", new_amount="1000000")
    refusal = offered(world, "ar", "contract", cid)["change.request"]
    err = refused(world, GateError, "ar", contracts.request_change, cid, number="CO-2", reason="x",
                  new_amount="1000000")
    assert not refusal.allowed and refusal.reason == str(err)

    assert allowed(world, "legal", "change_order", change) == {"change.review_legal"}
    assert allowed(world, "finance", "change_order", change) == {"change.review_finance"}
    world.do("legal", contracts.review_change_legal, change, "reject", rationale="no")
    reason = offered(world, "finance", "change_order", change)["change.review_finance"].reason
    err = refused(world, GateError, "finance", contracts.review_change_finance, change, "approve", rationale="x")
    assert reason == str(err) == "change order 'CO-1' is already rejected"
    assert "change.request" in allowed(world, "ar", "contract", cid)   # decided: a new one may be asked
