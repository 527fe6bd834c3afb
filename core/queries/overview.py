"""The landing page's figures: the records of each stage the person reaches (core.scope)."""
from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select

from core import scope
from core.context import Context
from core.models import Bid, Contract, Invoice, Lead, Opportunity, Payment
from core.services import action


def chain_counts(ctx: Context) -> dict[str, int]:
    """How many records of each stage of the chain the person reaches (the system: all)."""
    return {name: ctx.session.exec(scope.within(ctx, model, select(func.count()).select_from(model))).one()
            for name, model in (("leads", Lead), ("opportunities", Opportunity), ("bids", Bid),
                                ("contracts", Contract), ("invoices", Invoice), ("payments", Payment))}


@action("work.view")
def overview_counts(ctx: Context) -> dict[str, int]:
    return chain_counts(ctx)
