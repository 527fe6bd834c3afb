"""What may this person do with this record now, and why not the rest: the pages', the sync's and the API's
one question, answered from each document's lifecycle (core.lifecycle) with the checks its services run."""
from __future__ import annotations

import importlib

from core import lifecycle, messages, permissions
from core.context import Context
from core.errors import PermissionDenied
from core.lifecycle import Offer
from core.services import action

# the kind of record -> (its model, the module whose import registers its lifecycle)
KINDS = {
    "bid": ("core.models:Bid", "core.services.bids"),
    "opportunity": ("core.models:Opportunity", "core.services.opportunities"),
    "milestone": ("core.models:Milestone", "core.services.delivery"),
    "contract": ("core.models:Contract", "core.services.contracts"),
    "change_order": ("core.models:ChangeOrder", "core.services.contracts"),
    "lead": ("core.models:Lead", "core.services.leads"),
    "term": ("core.models:PaymentTerm", "core.services.billing"),
    "invoice": ("core.models:Invoice", "core.services.billing"),
    "payment": ("core.models:Payment", "core.services.billing"),
}


# who may ask about a kind: the views that show it (an offer's reason names the record)
VIEWS = {
    "lead": ("lead.view",), "opportunity": ("opportunity.view",), "bid": ("contract.view",),
    "contract": ("contract.view", "delivery.view"), "change_order": ("contract.view", "delivery.view"),
    "milestone": ("delivery.view", "contract.view"), "term": ("billing.view", "delivery.view", "contract.view"),
    "invoice": ("billing.view",), "payment": ("billing.view",),
}


@action("work.view")
def allowed_actions(ctx: Context) -> frozenset[str]:
    """Every action the person may take now: their current roles', and the decisions a person away delegated
    to them (what a page offers; each service checks again)."""
    return frozenset(a for a in permissions.matrix() if ctx.may(a))


@action("work.view")
def offers(ctx: Context, kind: str, record_id: int) -> dict[str, Offer]:
    """{action: Offer} for the record; a record that does not exist is NotFound (core.context.Context.get).
    Asked by someone none of whose views show that kind of record: refused, revealing nothing of it."""
    roles = ctx.current_roles() or frozenset()
    if not any(permissions.allowed(roles, view) for view in VIEWS[kind]):
        raise PermissionDenied("permission: '{login}' may not see {kind} records", login=ctx.actor.login,
                               kind=messages.kind(kind))
    model_path, module = KINDS[kind]
    importlib.import_module(module)
    mod, name = model_path.split(":")
    model = getattr(importlib.import_module(mod), name)
    record = ctx.get(model, record_id, what=kind)
    return lifecycle.offers_for(ctx, kind, record)
