"""Read-only questions pages ask; they return plain data, never live ORM objects."""
from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from core.models import Bid, Contract, Invoice, Lead, Opportunity, Payment


def overview_counts(session: Session) -> dict[str, int]:
    """How many records each stage of the chain holds."""
    return {name: session.exec(select(func.count()).select_from(model)).one()
            for name, model in (("leads", Lead), ("opportunities", Opportunity), ("bids", Bid),
                                ("contracts", Contract), ("invoices", Invoice), ("payments", Payment))}
