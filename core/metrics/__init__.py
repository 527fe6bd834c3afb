"""Leadership metrics (issue 5): funnel, win rates, monthly cash, ageing and drill-downs, computed in SQL for
an as-of day and filters. Every function is fn(ctx, f: Filters) and guarded by metrics.view or metrics.cash."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from core.context import Context
from core.errors import PermissionDenied
from core.metrics.cash import ageing, customer_invoices, monthly, overdue_customers, receivables
from core.metrics.definitions import DEFINITIONS
from core.metrics.filters import metric, Filters
from core.metrics.forecast import collection, forecast
from core.metrics.funnel import funnel, win_rates
from core.metrics.projects import projects
from core.metrics.stages import stages

__all__ = ["Filters", "DEFINITIONS", "funnel", "win_rates", "monthly", "ageing", "overdue_customers",
           "customer_invoices", "forecast", "collection", "stages", "projects", "receivables", "metrics_summary",
           "json_safe"]


def json_safe(value):
    """Decimals as strings, dates as ISO text, recursively."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


@metric("metrics.cash")
def metrics_summary(ctx: Context, f: Filters) -> dict:
    """Everything in one JSON-safe dict; the sales parts only for those with metrics.view."""
    out: dict = {"as_of": f.as_of, "period_start": f.start, "period_end": f.end}
    try:
        out["funnel"] = funnel(ctx, f)
        out["win_rates"] = win_rates(ctx, f)
        out["stages"] = stages(ctx, f)
        out["projects"] = projects(ctx, f)
    except PermissionDenied:
        pass
    out["monthly"] = monthly(ctx, f)
    out["ageing"] = ageing(ctx, f)
    out["forecast"] = forecast(ctx, f)
    out["collection"] = collection(ctx, f)
    out["overdue_customers"] = overdue_customers(ctx, f)
    return json_safe(out)
