"""The milestone's lifecycle as data (core.services.delivery.LIFECYCLE): what core offers on a milestone now is
what the services then do or refuse, with the same reason."""
from core.errors import GateError
from core.queries.offers import offers
from core.services import delivery
from tests.integration.money_fixtures import days, draft_with_terms, refused, signed_contract

ACTIONS = ("milestone.plan", "milestone.forecast", delivery.ACCEPT_PRELIMINARY, delivery.ACCEPT_FINAL)


def offered(world, who, mid):
    return world.do(who, offers, "milestone", mid)


def test_a_planned_milestone_of_a_signed_contract_offers_both_acceptances_to_delivery(world):
    mid = signed_contract(world)["m1"]
    now = offered(world, "fr", mid)
    assert set(now) == set(ACTIONS) and all(now[a].allowed for a in ACTIONS)
    ar = offered(world, "ar", mid)     # the AR plans, delivery forecasts and accepts
    assert ar["milestone.plan"].allowed and not ar["milestone.forecast"].allowed
    assert "may not perform 'milestone.accept'" in ar[delivery.ACCEPT_FINAL].reason


def test_after_the_preliminary_acceptance_only_the_final_one_is_offered_and_the_service_agrees(world):
    mid = signed_contract(world)["m1"]
    world.do("fr", delivery.accept_milestone, mid, kind="preliminary", accepted_on=days(-3))
    now = offered(world, "fr", mid)
    assert not now[delivery.ACCEPT_PRELIMINARY].allowed and now[delivery.ACCEPT_FINAL].allowed
    why = now[delivery.ACCEPT_PRELIMINARY].reason
    assert why == "milestone 'Go-live' already has its preliminary acceptance"
    error = refused(world, GateError, "fr", delivery.accept_milestone, mid, kind="preliminary")
    assert str(error) == why


def test_a_finally_accepted_milestone_offers_no_acceptance_and_its_dates_are_fixed(world):
    mid = signed_contract(world)["m1"]
    world.do("fr", delivery.accept_milestone, mid, kind="final", accepted_on=days(-1))
    now = offered(world, "fr", mid)
    for action in (delivery.ACCEPT_PRELIMINARY, delivery.ACCEPT_FINAL):
        assert not now[action].allowed and "already finally accepted on" in now[action].reason
    assert not now["milestone.forecast"].allowed and "no longer change" in now["milestone.forecast"].reason
    assert now["milestone.plan"].allowed          # a rename is still possible
    error = refused(world, GateError, "fr", delivery.accept_milestone, mid, kind="final")
    assert str(error) == now[delivery.ACCEPT_FINAL].reason


def test_a_draft_contracts_milestone_is_not_accepted_yet(world):
    _, cid, mid = draft_with_terms(world)
    now = offered(world, "fr", mid)
    assert now["milestone.forecast"].allowed
    assert not now[delivery.ACCEPT_FINAL].allowed
    assert now[delivery.ACCEPT_FINAL].reason.endswith("milestones are accepted only while it is signed")
    error = refused(world, GateError, "fr", delivery.accept_milestone, mid, kind="final")
    assert str(error) == now[delivery.ACCEPT_FINAL].reason
