"""Shared column helpers and the mixins every table uses."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import Table
from sqlalchemy.orm import declared_attr
from sqlmodel import Field

from core.types import EnumText, Money, Ratio


def utcnow() -> datetime:
    """Aware UTC: SQLModel stores timezone-aware timestamps on both databases."""
    return datetime.now(timezone.utc)


def money_field(default: Decimal | None = Decimal("0.00"), **kw: Any) -> Any:
    return Field(default=default, sa_type=Money, **kw)


def ratio_field(default: Decimal | None = None, **kw: Any) -> Any:
    return Field(default=default, sa_type=Ratio, **kw)


def enum_field(enum_cls: type[StrEnum], default: StrEnum | None = None, **kw: Any) -> Any:
    return Field(default=default, sa_type=EnumText(enum_cls), **kw)


class Versioned:
    """Rows people edit: SQLAlchemy bumps `version` on every UPDATE and refuses a stale one."""

    if TYPE_CHECKING:
        __table__: ClassVar[Table]   # set by SQLAlchemy on the table class this is mixed into

    @declared_attr.directive
    def __mapper_args__(cls) -> dict:
        return {"version_id_col": cls.__table__.c.version}
