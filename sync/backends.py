"""Which backend the sync uses: LTC_SHEETS_BACKEND = xlsx (default) | gsheets | off."""
from __future__ import annotations

from config.settings import get_settings


def backend_name() -> str:
    return get_settings().sheets_backend


def make_backend(name: str | None = None, *, url=None):
    """A fresh backend (its request counter starts at zero); None when the sync is off."""
    name = name or backend_name()
    if name == "off":
        return None
    if name == "xlsx":
        from sync.xlsx import XlsxBackend
        return XlsxBackend()
    from sync.gsheets import GSheetsBackend, key_from
    return GSheetsBackend(keys={k: key_from(v) for k, v in known_locations("gsheets", url=url).items()})


def known_locations(backend: str, *, url=None) -> dict[str, str]:
    """Where `ltc sheets init` put each department's spreadsheet (kept in the database)."""
    from sqlmodel import select

    from core.context import SYSTEM, unit_of_work
    from core.models import Setting

    prefix = f"sheets.{backend}."
    with unit_of_work(SYSTEM, "sync", url=url) as ctx:
        rows = ctx.session.exec(select(Setting).where(Setting.key.startswith(prefix))).all()
        return {r.key[len(prefix):]: r.value for r in rows}
