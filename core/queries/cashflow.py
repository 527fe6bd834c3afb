"""What the leadership cash-flow page needs besides core.metrics: the choices of its sidebar filters
(regions and industries of opportunities, their ARs, customers). The figures themselves come from core.metrics."""
from __future__ import annotations

from sqlmodel import select

from core import scope
from core.context import Context
from core.models import Account, Opportunity, User
from core.services import action


@action("metrics.cash")
def filter_options(ctx: Context) -> dict:
    """{regions: [..], industries: [..], ars: [{id, name}], customers: [{id, name}]}, each sorted."""
    mine = scope.on_deals(ctx, "billing")   # only what the person's figures count: their data scope's deals
    regions = ctx.session.exec(select(Opportunity.region).where(Opportunity.region != "", *mine).distinct()).all()
    industries = ctx.session.exec(select(Opportunity.industry).where(Opportunity.industry != "", *mine)
                                  .distinct()).all()
    ars = ctx.session.exec(select(User.id, User.name).join(Opportunity, Opportunity.ar_id == User.id).where(*mine)
                           .distinct()).all()
    customers = ctx.session.exec(scope.narrow(select(Account.id, Account.name), Account.id,
                                              scope.accounts(ctx))).all()
    return {"regions": sorted(regions), "industries": sorted(industries),
            "ars": [{"id": i, "name": n} for i, n in sorted(ars, key=lambda r: (r[1].lower(), r[0]))],
            "customers": [{"id": i, "name": n} for i, n in sorted(customers, key=lambda r: (r[1].lower(), r[0]))]}
