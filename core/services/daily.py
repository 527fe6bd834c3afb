"""The day's date-driven events (`ltc daily [--as-of DATE]`, run by cron once a day).

Safe to run twice, or late: every event is dated by the rule, not by the run, so running it after a gap
gives the same books as running it every day (a retention is released on its warranty's end, whenever the
run that releases it comes). Each release is audited with the source of the run (`cli` from cron).

- retention at warranty end: the warranty terms of every signed contract whose warranty ended on or before
  the day are released (dated the warranty's end), so finance can invoice them;
- holds past their review date: reported as of the day (My work shows each to its AR and to leaders).

Dunning levels need no job: they are read from days past due at every read of the Cash page and My work, so
they move by themselves each day.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlmodel import select

from core.context import Context
from core.enums import ContractStatus, Trigger
from core.models import Contract, PaymentTerm
from core.services import action
from core.services.contracts import not_future
from core.services.delivery import release_warranty_terms


@dataclass
class DailyReport:
    as_of: date
    released: list[tuple[str, date, list[int]]] = field(default_factory=list)   # (contract, warranty end, terms)
    holds_due: list[int] = field(default_factory=list)                          # opportunity ids

    def summary(self) -> str:
        lines = [f"ltc daily as of {self.as_of.isoformat()}: {len(self.released)} retention release(s), "
                 f"{len(self.holds_due)} hold(s) past review"]
        lines += [f"  released the retention of {number} (warranty ended {ended.isoformat()}): term(s) "
                  + ", ".join(str(t) for t in terms) for number, ended, terms in self.released]
        return "\n".join(lines)


def unreleased_retention(until: date):
    """(PaymentTerm, Contract) of every active warranty term not yet released on a signed contract, or a closed
    one (its retention was held), whose warranty ends by `until`: ltc daily's work, and My work's list ahead."""
    return (select(PaymentTerm, Contract).join(Contract, Contract.id == PaymentTerm.contract_id)
            .where(PaymentTerm.active == True, PaymentTerm.trigger == Trigger.WARRANTY,  # noqa: E712
                   PaymentTerm.released_on == None,  # noqa: E711
                   Contract.status.in_([ContractStatus.SIGNED, ContractStatus.CLOSED]),
                   Contract.warranty_ends_on <= until)
            .order_by(Contract.warranty_ends_on, Contract.id, PaymentTerm.id))


def retention_due(ctx: Context, as_of: date) -> list[Contract]:
    """The contracts whose warranty ended by `as_of` and that still hold an unreleased warranty term."""
    return list({c.id: c for _, c in ctx.session.exec(unreleased_retention(as_of)).all()}.values())


@action("daily.run")
def run_daily(ctx: Context, as_of=None) -> DailyReport:
    from core.services.opportunities import holds_past_review

    as_of = not_future(ctx, "as_of", as_of)
    report = DailyReport(as_of=as_of)
    for contract in retention_due(ctx, as_of):
        terms = release_warranty_terms(ctx, contract.id, as_of=as_of)
        report.released.append((contract.number, contract.warranty_ends_on, terms))
    report.holds_due = holds_past_review(ctx, as_of=as_of)
    return report
