"""The values a field may take where core keeps a fixed list, by entity and field: the one list that the
service checks, a page offers and a sheet's drop-down shows (sync/mapping.py reads it from here, so a
sheet cannot refuse what the service accepts, as the Delivery sheet once refused the category 'software')."""
from __future__ import annotations

from core.enums import LeadStatus


def choices(entity: str, field: str) -> tuple[str, ...] | None:
    """The allowed values of entity.field, in the order to offer them; None when core keeps no list."""
    if (entity, field) == ("lead", "source"):
        from core.services.leads import lead_sources
        return lead_sources()
    if (entity, field) == ("lead", "status"):
        return tuple(s.value for s in LeadStatus)
    if (entity, field) == ("cost", "category"):
        from core.services.delivery import COST_CATEGORIES
        return COST_CATEGORIES
    return None
