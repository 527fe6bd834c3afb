"""The pages: file, the view permission that opens it (config/permissions.toml), title key and icon.
A page whose view permission the person lacks is not even registered in the navigation."""
from __future__ import annotations

from dataclasses import dataclass

from core import permissions


@dataclass(frozen=True)
class PageSpec:
    path: str          # relative to app/
    view: str          # the permission that opens it
    title: str         # message key
    icon: str


PAGES = [
    PageSpec("pages/home.py", "work.view", "page.home", ":material/home:"),
    PageSpec("pages/work.py", "work.view", "page.work", ":material/checklist:"),
    PageSpec("pages/leads.py", "lead.view", "page.leads", ":material/filter_alt:"),
    PageSpec("pages/initiation.py", "opportunity.view", "page.initiation", ":material/view_kanban:"),
    PageSpec("pages/bids_contracts.py", "contract.view", "page.bids_contracts", ":material/gavel:"),
    PageSpec("pages/delivery.py", "delivery.view", "page.delivery", ":material/task_alt:"),
    PageSpec("pages/cash.py", "billing.view", "page.cash", ":material/payments:"),
    PageSpec("pages/cashflow.py", "metrics.cash", "page.cashflow", ":material/monitoring:"),
    PageSpec("pages/history.py", "audit.view", "page.history", ":material/history:"),
    PageSpec("pages/sync.py", "sync.view", "page.sync", ":material/sync:"),
    PageSpec("pages/admin.py", "user.manage", "page.admin", ":material/admin_panel_settings:"),
]


def pages_for(roles) -> list[PageSpec]:
    return [p for p in PAGES if permissions.allowed(roles, p.view)]
