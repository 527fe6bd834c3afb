"""`ltc daily` (issue 12): the retention is released at the warranty's end, dated by the rule, so running the
day's events twice, or once after a gap of 40 days, gives the same books as running them every day."""
from datetime import timedelta

import pytest
from sqlmodel import func, select

from core.context import SYSTEM, unit_of_work
from core.db import migrate
from core.enums import Trigger
from core.errors import ValidationError
from core.models import AuditEvent, Contract, PaymentTerm
from core.services import delivery
from core.services.daily import run_daily
from tests.conftest import make_world
from tests.integration.money_fixtures import TODAY, days, signed_contract


def story(world) -> dict:
    """Two signed contracts, finally accepted: one warranty ended 25 days ago, one ends in 10 days."""
    ended = signed_contract(world, number="HT-ENDED", warranty_months=12, signed_on=days(-500))
    world.do("fr", delivery.accept_milestone, ended["m1"], kind="final",
             accepted_on=days(-25) - timedelta(days=365))   # 12 months before 25 days ago (no leap day in between)
    running = signed_contract(world, number="HT-RUNNING", warranty_months=6, signed_on=days(-400))
    world.do("fr", delivery.accept_milestone, running["m1"], kind="final", accepted_on=days(-170))   # ends in ~12 days
    return {"ended": ended["contract"], "running": running["contract"]}


def books(world) -> dict:
    """What the day's events change: each warranty term's release date, and one audit event per release."""
    def read(ctx):
        terms = ctx.session.exec(select(PaymentTerm.contract_id, PaymentTerm.name, PaymentTerm.released_on)
                                 .where(PaymentTerm.trigger == Trigger.WARRANTY).order_by(PaymentTerm.id)).all()
        releases = ctx.session.exec(select(func.count()).select_from(AuditEvent)
                                    .where(AuditEvent.action == "term.release")).one()
        ends = ctx.session.exec(select(Contract.number, Contract.warranty_ends_on).order_by(Contract.id)).all()
        return {"terms": [(ctx.session.get(Contract, c).number, n, on) for c, n, on in terms], "releases": releases,
                "ends": ends}
    return world.read(read)


def daily(world, as_of=None):
    with unit_of_work(SYSTEM, "cli", url=world.url) as ctx:
        return run_daily(ctx, as_of=as_of)


def test_the_retention_is_released_on_the_warranty_end_once(world):
    ids = story(world)
    ends = world.get(Contract, ids["ended"]).warranty_ends_on
    assert ends < TODAY
    first = daily(world)
    assert [(n, e) for n, e, _ in first.released] == [("HT-ENDED", ends)]
    after = books(world)
    assert [t for t in after["terms"] if t[0] == "HT-ENDED"] == [("HT-ENDED", "Retention 10%", ends)]
    assert [t[2] for t in after["terms"] if t[0] == "HT-RUNNING"] == [None]     # still under warranty
    assert daily(world).released == [] and books(world) == after                # twice: nothing more
    event = world.read(lambda ctx: ctx.session.exec(select(AuditEvent).where(
        AuditEvent.action == "term.release").order_by(AuditEvent.id.desc())).first())
    assert event.source == "cli" and event.user_login == "system"


def test_a_run_after_a_40_day_gap_gives_the_books_of_a_run_every_day(tmp_path):
    every_day, after_gap = (make_world(_db(tmp_path / name)) for name in ("every", "gap"))
    for w in (every_day, after_gap):
        story(w)
    for n in range(-40, 1):
        daily(every_day, days(n))
    daily(after_gap, days(-40))
    daily(after_gap)            # 40 days later, catching up
    daily(after_gap)            # and again the same day
    assert books(every_day) == books(after_gap)
    assert [t for t in books(every_day)["terms"] if t[2] is not None] == [
        ("HT-ENDED", "Retention 10%", every_day.get(Contract, 1).warranty_ends_on)]   # released once, on the end


def test_a_day_in_the_future_is_refused_and_changes_nothing(world):
    story(world)
    before = books(world)
    with pytest.raises(ValidationError, match="as_of: .* is in the future"):
        daily(world, days(1))
    assert books(world) == before


def _db(path) -> str:
    url = f"sqlite:///{path}"
    path.parent.mkdir(parents=True, exist_ok=True)
    migrate(url)
    return url


def test_my_work_shows_retention_falling_due_within_30_days(world):
    from core.queries.work import my_work
    ids = story(world)
    running = world.get(Contract, ids["running"])
    assert 0 < (running.warranty_ends_on - TODAY).days <= 30

    def due(login):
        return [(i["contract"], i["days_left"]) for i in world.do(login, my_work)["retention_due"]]
    ended = world.get(Contract, ids["ended"]).warranty_ends_on
    expected = [("HT-ENDED", (ended - TODAY).days), ("HT-RUNNING", (running.warranty_ends_on - TODAY).days)]
    assert due("finance") == expected and due("fr") == expected   # fr: the opportunities' FR
    assert due("ar") == [] and due("legal") == []
    daily(world)                                                   # released: now a term to invoice instead
    assert due("finance") == expected[1:]
    assert "Retention 10%" in [t["name"] for t in world.do("finance", my_work)["terms_to_invoice"]]


def test_a_warranty_end_set_by_hand_moves_the_release_and_keeps_its_reason(world):
    """Issue 12: a contract's warranty end comes from the last final acceptance plus its months, or is set."""
    from core.errors import GateError
    from core.queries.offers import offers
    from tests.integration.money_fixtures import refused

    ids = story(world)
    cid = ids["running"]
    draft = signed_contract(world, number="HT-NOT-ACCEPTED")["contract"]
    err = refused(world, GateError, "fr", delivery.set_warranty_end, draft, ends_on=days(-1), reason="agreed")
    assert "has no warranty end yet" in str(err)
    assert world.do("fr", lambda ctx: offers(ctx, "contract", draft))["warranty.set"].reason == str(err)
    refused(world, ValidationError, "fr", delivery.set_warranty_end, cid, ends_on=days(-1), reason=" ")
    refused(world, ValidationError, "fr", delivery.set_warranty_end, cid, ends_on=days(-401), reason="x",
            match="is before")
    # the customer agreed the warranty ran from the pilot: it ended three days ago, and the day's run releases it
    world.do("fr", delivery.set_warranty_end, cid, ends_on=days(-3), reason="warranty from the pilot, minutes 12")
    c = world.get(Contract, cid)
    assert (c.warranty_ends_on, c.warranty_note) == (days(-3), "warranty from the pilot, minutes 12")
    assert [(n, e) for n, e, _ in daily(world).released] == [("HT-ENDED", world.get(Contract, ids["ended"])
                                                              .warranty_ends_on), ("HT-RUNNING", days(-3))]
    refused(world, GateError, "fr", delivery.set_warranty_end, cid, ends_on=days(-2), reason="again",
            match="the retention is released")
