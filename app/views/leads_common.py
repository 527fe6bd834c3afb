"""Lead triage's shared words: how filters and forms name owners, statuses, grades, sources and the rest."""
from __future__ import annotations

from app import ui
from core.queries.leads import NO_OWNER

ALL = "*"


def owner_label(names: dict[str, str]):
    """An owner (a login in the form's options) shown by the person's name."""
    def label(v: str) -> str:
        if v == ALL:
            return ui.t("all")
        if v == NO_OWNER:
            return ui.t("leads.unassigned")
        return names.get(v) or v
    return label


def label_of(prefix: str):
    """A stored code in the person's language (`<prefix>.<code>`); ALL as 'All'."""
    return lambda v: ui.t("all") if v == ALL else ui.t(f"{prefix}.{v}")


def coded(prefix: str, v) -> str:
    return "" if v in (None, "") else ui.t(f"{prefix}.{v}")
