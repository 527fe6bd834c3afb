"""The lead's lifecycle as data (core.services.leads.LIFECYCLE): what core offers on a lead is what its
services allow, and a refused offer gives the same reason the service refuses with."""
import pytest

from core.errors import GateError
from core.queries.offers import offers
from core.services import leads


def capture(world, **kw):
    fields = dict(company="Lifecycle Test Co", phone="13800000077", source="website", owner="ar")
    fields.update(kw)
    return world.do("marketing", lambda ctx: leads.capture_lead(ctx, **fields))


def offered(world, who, lead_id):
    return world.do(who, offers, "lead", lead_id)


def test_an_assigned_lead_may_be_qualified_not_converted(world):
    lid = capture(world)
    got = offered(world, "ar", lid)
    assert got["lead.qualify"].allowed and got["lead.disqualify"].allowed and got["lead.update"].allowed
    assert not got["lead.convert"].allowed
    assert got["lead.convert"].reason == (f"convert: only a qualified lead converts to an opportunity; "
                                          f"lead {lid} is assigned")
    with pytest.raises(GateError) as exc:
        world.do("ar", leads.convert_lead, lid)
    assert str(exc.value) == got["lead.convert"].reason


def test_a_qualified_lead_converts_once_and_then_offers_nothing(world):
    lid = capture(world)
    world.do("ar", leads.qualify_lead, lid)
    got = offered(world, "ar", lid)
    assert got["lead.convert"].allowed and not got["lead.qualify"].allowed
    assert got["lead.qualify"].reason == f"lead {lid} is already qualified"
    world.do("ar", leads.convert_lead, lid)
    after = offered(world, "ar", lid)
    assert not any(o.allowed for o in after.values())
    assert after["lead.qualify"].reason == f"lead {lid} is converted: a converted lead cannot be qualified"
    with pytest.raises(GateError, match="a converted lead cannot be edited"):
        world.do("ar", leads.update_lead, lid, contact="x")


def test_roles_without_the_action_are_refused_in_the_offer(world):
    lid = capture(world)
    got = offered(world, "marketing", lid)
    assert not got["lead.convert"].allowed and "may not perform 'lead.convert'" in got["lead.convert"].reason


def test_a_lead_without_an_active_ar_owner_cannot_convert(world):
    lid = capture(world, owner=None, region="Nowhere")
    world.do("marketing", leads.qualify_lead, lid)
    world.do("marketing", lambda ctx: setattr(ctx.session.get(leads.Lead, lid), "owner_id", None))
    got = offered(world, "leader", lid)   # a lead with no owner is in no AR's scope; the leader sees it
    assert not got["lead.convert"].allowed and "needs an active ar owner" in got["lead.convert"].reason


def test_capture_refuses_every_bad_field_at_once(world):
    from core.validate import ValidationErrors
    with pytest.raises(ValidationErrors) as exc:
        world.do("marketing", leads.capture_lead, company="", phone="12", budget="lots", owner="nobody")
    assert [e.field for e in exc.value.errors] == ["company", "phone", "budget", "owner"]
