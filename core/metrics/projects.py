"""Per signed contract, the four calculations (四算) — estimate, budget, actual, final — with estimate accuracy
and budget execution. The same figures as core.calculations.four_calculations, loaded for all contracts at once
with grouped queries (newest baseline per kind, invoiced and cost sums per contract)."""
from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select

from core.calculations import figures
from core.context import Context
from core.enums import Calculation, ContractStatus
from core.metrics.filters import metric, Filters, contract_ids, in_scope, money, ratio
from core.models import Baseline, Contract, CostEntry, Invoice


@metric("metrics.view", "opportunity")
def projects(ctx: Context, f: Filters) -> list[dict]:
    """[{contract_id, number, name, estimate, budget, actual, final, estimate_accuracy, budget_execution}]
    for contracts signed by as_of; actual revenue = invoiced by as_of, actual cost = costs spent by as_of.
    estimate_accuracy = (final, else actual) margin ÷ estimate margin; budget_execution = actual cost ÷ budget
    cost. Baselines are the newest of their kind (the current ones)."""
    q = in_scope(select(Contract.id, Contract.number, Contract.name, Contract.opportunity_id)
                 .where(Contract.status.in_([ContractStatus.SIGNED, ContractStatus.CLOSED]),
                        Contract.signed_on <= f.as_of), Contract.id, contract_ids(f)).order_by(Contract.number)
    contracts = ctx.session.exec(q).all()
    if not contracts:
        return []
    ids = [c[0] for c in contracts]
    opps = [c[3] for c in contracts]
    newest_estimate = (select(func.max(Baseline.id)).where(Baseline.kind == Calculation.ESTIMATE,
                                                          Baseline.opportunity_id.in_(opps))
                       .group_by(Baseline.opportunity_id))
    newest_other = (select(func.max(Baseline.id)).where(Baseline.kind.in_([Calculation.BUDGET, Calculation.FINAL]),
                                                       Baseline.contract_id.in_(ids))
                    .group_by(Baseline.contract_id, Baseline.kind))
    estimate, per_contract = {}, {}
    for b in ctx.session.exec(select(Baseline).where(Baseline.id.in_(newest_estimate))).all():
        estimate[b.opportunity_id] = b
    for b in ctx.session.exec(select(Baseline).where(Baseline.id.in_(newest_other))).all():
        per_contract[(b.contract_id, b.kind)] = b
    invoiced = dict(ctx.session.exec(select(Invoice.contract_id, func.sum(Invoice.amount))
                                     .where(Invoice.contract_id.in_(ids), Invoice.issued_on <= f.as_of)
                                     .group_by(Invoice.contract_id)).all())
    costs = dict(ctx.session.exec(select(CostEntry.contract_id, func.sum(CostEntry.amount))
                                  .where(CostEntry.contract_id.in_(ids), CostEntry.spent_on <= f.as_of)
                                  .group_by(CostEntry.contract_id)).all())
    out = []
    for cid, number, name, opp in contracts:
        e = estimate.get(opp)
        calc = {"estimate": figures(e.revenue, e.cost) if e else None}
        for kind in (Calculation.BUDGET, Calculation.FINAL):
            b = per_contract.get((cid, kind))
            calc[kind.value] = figures(b.revenue, b.cost) if b else None
        calc["actual"] = figures(money(invoiced.get(cid)), money(costs.get(cid)))
        outcome = calc["final"] or calc["actual"]
        out.append({"contract_id": cid, "number": number, "name": name,
                    **{k: calc[k] for k in ("estimate", "budget", "actual", "final")},
                    "estimate_accuracy": ratio(outcome["margin"], calc["estimate"]["margin"])
                    if calc["estimate"] else None,
                    "budget_execution": ratio(calc["actual"]["cost"], calc["budget"]["cost"])
                    if calc["budget"] else None})
    return out
