"""What may this person do with this record now, and why not the rest: the pages', the sync's and the API's
one question, answered from each document's lifecycle (core.lifecycle) with the checks its services run."""
from __future__ import annotations

import importlib

from core import lifecycle
from core.context import Context
from core.lifecycle import Offer

# the kind of record -> (its model, the module whose import registers its lifecycle)
KINDS = {
    "bid": ("core.models:Bid", "core.services.bids"),
    "contract": ("core.models:Contract", "core.services.contracts"),
    "change_order": ("core.models:ChangeOrder", "core.services.contracts"),
    "opportunity": ("core.models:Opportunity", "core.services.opportunities"),
    "lead": ("core.models:Lead", "core.services.leads"),
    "term": ("core.models:PaymentTerm", "core.services.billing"),
    "invoice": ("core.models:Invoice", "core.services.billing"),
    "payment": ("core.models:Payment", "core.services.billing"),
}


def offers(ctx: Context, kind: str, record_id: int) -> dict[str, Offer]:
    """{action: Offer} for the record; a record that does not exist is NotFound (core.context.Context.get)."""
    model_path, module = KINDS[kind]
    importlib.import_module(module)
    mod, name = model_path.split(":")
    model = getattr(importlib.import_module(mod), name)
    record = ctx.get(model, record_id, what=kind)
    return lifecycle.offers_for(ctx, kind, record)
