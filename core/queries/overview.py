"""The landing page's figures."""
from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from core.context import Context
from core.models import Bid, Contract, Invoice, Lead, Opportunity, Payment
from core.services import action


def chain_counts(session: Session) -> dict[str, int]:
    """How many records each stage of the chain holds."""
    return {name: session.exec(select(func.count()).select_from(model)).one()
            for name, model in (("leads", Lead), ("opportunities", Opportunity), ("bids", Bid),
                                ("contracts", Contract), ("invoices", Invoice), ("payments", Payment))}


@action("work.view")
def overview_counts(ctx: Context) -> dict[str, int]:
    return chain_counts(ctx.session)
