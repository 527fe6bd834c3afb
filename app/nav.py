"""The pages: file, the view permission that opens it (config/permissions.toml), title key and icon.
A page whose view permission the person lacks is not even registered in the navigation.

The page files live in app/screens/, not app/pages/: a folder named `pages` beside main.py puts Streamlit in
its legacy multipage mode, where a fresh visit to /initiation runs that file directly, before the frame's
sign-in and navigation (a pasted link then showed a bare page)."""
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
    PageSpec("screens/home.py", "work.view", "page.home", ":material/home:"),
    PageSpec("screens/work.py", "work.view", "page.work", ":material/checklist:"),
    PageSpec("screens/leads.py", "lead.view", "page.leads", ":material/filter_alt:"),
    PageSpec("screens/initiation.py", "opportunity.view", "page.initiation", ":material/view_kanban:"),
    PageSpec("screens/bids_contracts.py", "contract.view", "page.bids_contracts", ":material/gavel:"),
    PageSpec("screens/delivery.py", "delivery.view", "page.delivery", ":material/task_alt:"),
    PageSpec("screens/cash.py", "billing.view", "page.cash", ":material/payments:"),
    PageSpec("screens/cashflow.py", "metrics.cash", "page.cashflow", ":material/monitoring:"),
    PageSpec("screens/history.py", "audit.view", "page.history", ":material/history:"),
    PageSpec("screens/sync.py", "sync.view", "page.sync", ":material/sync:"),
    PageSpec("screens/admin.py", "user.manage", "page.admin", ":material/admin_panel_settings:"),
]


def pages_for(roles) -> list[PageSpec]:
    return [p for p in PAGES if permissions.allowed(roles, p.view)]
