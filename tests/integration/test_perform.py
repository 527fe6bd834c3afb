"""core.context.perform passes every keyword but its own (origin, url, attempts, request_key) to the service:
a lead's `source=` reaches capture_lead, and the audit records where the change came from."""
from __future__ import annotations

from sqlmodel import select

from core.context import perform
from core.models import AuditEvent, Lead
from core.services import leads


def test_a_lead_captured_through_perform_keeps_its_source(world):
    lead_id = perform(world.users["marketing"], leads.capture_lead, company="Source Co", phone="13900000077",
                      source="exhibition", origin="sheet:leads", url=world.url)
    assert world.get(Lead, lead_id).source == "exhibition"
    audit = world.read(lambda ctx: ctx.session.exec(select(AuditEvent).where(
        AuditEvent.action == "lead.capture", AuditEvent.entity_id == lead_id)).one())
    assert audit.source == "sheet:leads"
