"""Lead triage's shared words: how filters and forms name owners, statuses, grades, sources and the rest."""
from __future__ import annotations

from app import tables, ui
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


# codes of core's enums read through the one values catalogue; lead sources are configuration (leads.source.*)
ENUM_PREFIXES = ("leads.status", "leads.grade", "leads.authority", "leads.need")


def label_of(prefix: str):
    """A stored code in the person's language; ALL as 'All'."""
    return lambda v: ui.t("all") if v == ALL else coded(prefix, v)


def coded(prefix: str, v) -> str:
    if v in (None, ""):
        return ""
    return tables.value(v) if prefix in ENUM_PREFIXES else ui.t(f"{prefix}.{v}")
