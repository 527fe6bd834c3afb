"""What core offers a person on a record now (core.queries.offers): the same checks the services run, so an
offered action succeeds and a refused one is refused by the service with the reason the offer gave."""
from __future__ import annotations

import pytest

from core.errors import GateError, NotFound
from core.queries.offers import offers
from core.services import bids
from tests.integration.test_bids import approved_bid, draft_bid


def offered(world, login, kind, record_id):
    with_actor = world.users[login]
    from core.context import unit_of_work

    with unit_of_work(with_actor, "test", url=world.url) as ctx:
        return offers(ctx, kind, record_id)


def test_a_draft_bid_offers_atb_and_refuses_submit_with_the_services_reason(world):
    _, bid = draft_bid(world)
    mine = offered(world, "sr", "bid", bid)
    assert mine["bid.update"].allowed and mine["atb.request"].allowed
    assert not mine["bid.submit"].allowed
    assert "is not approved to bid (request ATB first)" in mine["bid.submit"].reason
    with pytest.raises(GateError) as refused:
        world.do("sr", bids.submit_bid, bid, quoted_price="950000")
    assert str(refused.value) == mine["bid.submit"].reason
    # the leader decides ATB, but there is nothing pending yet; sr may not decide at all
    assert not offered(world, "leader", "bid", bid)["atb.decide"].allowed
    assert "has no pending ATB request" in offered(world, "leader", "bid", bid)["atb.decide"].reason
    assert "may not perform 'atb.decide'" in mine["atb.decide"].reason


def test_offers_follow_the_record_through_its_lifecycle(world):
    _, bid = approved_bid(world)
    now = offered(world, "ar", "bid", bid)
    assert now["bid.submit"].allowed and not now["bid.result"].allowed
    world.do("ar", bids.submit_bid, bid, quoted_price="950000")
    now = offered(world, "ar", "bid", bid)
    assert now["bid.result"].allowed
    assert not now["bid.update"].allowed and "a bid can be edited only while it is draft or atb_pending or approved" in \
        now["bid.update"].reason
    assert {o for o, v in now.items() if v.allowed} == {"bid.result"}


def test_offers_for_a_record_that_does_not_exist(world):
    with pytest.raises(NotFound):
        offered(world, "ar", "bid", 999_999)


def test_offers_are_asked_only_by_someone_who_may_see_that_kind(world):
    from core.errors import PermissionDenied

    _, bid = draft_bid(world)
    with pytest.raises(PermissionDenied, match="may not see bid records"):
        offered(world, "marketing", "bid", bid)
