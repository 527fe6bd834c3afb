"""The filters every metric takes, and the SQL pieces that apply them.

Region, industry and AR are those of the opportunity a record belongs to; a customer is an account.
Nothing dated after `as_of` counts; period figures use [period_start, min(period_end, as_of)].
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

from sqlmodel import select

from core import scope
from core.models import Contract, Opportunity
from core.services import action

ZERO = Decimal("0.00")
RATIO = Decimal("0.0001")


def month_start(d: date, back: int = 0) -> date:
    """The first day of d's month, `back` months earlier."""
    m = d.year * 12 + d.month - 1 - back
    return date(m // 12, m % 12 + 1, 1)


@dataclass(frozen=True)
class Filters:
    as_of: date                       # nothing after it counts
    period_start: date | None = None  # default: first day of as_of's month 11 months back (12 months)
    period_end: date | None = None    # default: as_of
    region: str | None = None
    industry: str | None = None
    ar_id: int | None = None
    account_id: int | None = None
    # the people whose deals count (core.scope): set by `metric` from the person asking, never by the caller
    people: frozenset[int] | None = None

    @property
    def start(self) -> date:
        return self.period_start or month_start(self.as_of, 11)

    @property
    def end(self) -> date:
        """The period's last day, never after as_of."""
        return min(self.period_end or self.as_of, self.as_of)

    @property
    def days(self) -> int:
        return max((self.end - self.start).days + 1, 0)

    @property
    def scoped(self) -> bool:
        return self.people is not None or any(v not in (None, "") for v in (self.region, self.industry, self.ar_id,
                                                                           self.account_id))

    def months(self) -> list[str]:
        out, m = [], month_start(self.start)
        while m <= self.end:
            out.append(m.strftime("%Y-%m"))
            m = month_start(m, -1)
        return out


def metric(permission: str, entity: str = "billing"):
    """A metric guarded by `permission` that counts only the deals the person reaches (a sales manager's figures
    are their teams'): the Filters it gets are narrowed to the person's data scope on `entity`, whatever the
    caller passed."""
    def wrap(fn):
        @action(permission)
        @functools.wraps(fn)
        def inner(ctx, f: Filters, *args, **kwargs):
            return fn(ctx, replace(f, people=scope.people(ctx, entity)), *args, **kwargs)
        return inner
    return wrap


def end_of(day: date) -> datetime:
    """The first instant after `day` (UTC): timestamps before it happened on or before that day."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=timezone.utc)


def start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


def opp_where(f: Filters) -> list:
    """WHERE clauses on Opportunity for the filters."""
    w = []
    if f.region:
        w.append(Opportunity.region == f.region)
    if f.industry:
        w.append(Opportunity.industry == f.industry)
    if f.ar_id is not None:
        w.append(Opportunity.ar_id == f.ar_id)
    if f.account_id is not None:
        w.append(Opportunity.account_id == f.account_id)
    if f.people is not None:
        w.append(scope.on_deal(f.people))
    return w


def contract_ids(f: Filters):
    """A subquery of the contracts in scope, or None when no filter applies."""
    if not f.scoped:
        return None
    return select(Contract.id).join(Opportunity, Opportunity.id == Contract.opportunity_id).where(*opp_where(f))


def account_ids(f: Filters):
    """A subquery of the accounts in scope (for payments, which belong to an account), or None."""
    if not f.scoped:
        return None
    return select(Opportunity.account_id).where(*opp_where(f))


def in_scope(q, column, sub):
    return q if sub is None else q.where(column.in_(sub))


def money(v) -> Decimal:
    return ZERO if v is None else Decimal(v).quantize(ZERO)


def ratio(num, den) -> Decimal | None:
    """num ÷ den to 4 places, None when den is zero."""
    num, den = Decimal(num), Decimal(den)
    return (num / den).quantize(RATIO, ROUND_HALF_UP) if den else None
