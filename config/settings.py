"""Settings: the environment, read here and nowhere else, then the TOML files in this folder (data more than code).

Every variable is one field below, named by its alias. A bad value is refused by ``get_settings()`` with a
SettingsError naming the variable and the reason, so every entry point (CLI, app, sync worker) stops at
its first use of the settings rather than half-working.
"""
from __future__ import annotations

import os
import tomllib
from functools import cache, lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

CONFIG_DIR = Path(__file__).resolve().parent
LANGS = ("en", "zh")
SHEETS_BACKENDS = ("xlsx", "gsheets", "off")


class SettingsError(ValueError):
    """A bad environment variable; ``field`` is its name. A ValueError, as a bad LTC_LANG always was."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.field = field


def _whole(name: str, value: Any, unit: str, lo: int, hi: int) -> int:
    """A variable holding a whole number of `unit` from lo to hi, or the refusal naming it."""
    raw = str(value).strip()
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        raise ValueError(f"{name}: {raw!r} is not a whole number of {unit} from {lo} to {hi}")
    return int(raw)


class Settings(BaseSettings):
    # case_sensitive: the names are exactly the ones documented in the README; env_ignore_empty: an empty
    # variable means "use the default", as `os.environ.get(...) or default` did.
    model_config = SettingsConfigDict(case_sensitive=True, env_ignore_empty=True, frozen=True, extra="ignore")

    data_dir: Path = Field(Path("data"), validation_alias="LTC_DATA_DIR", validate_default=True)
    # fields are validated in this order, so the validators of the next two can use data_dir
    database_url: str = Field("", validation_alias="LTC_DATABASE_URL", validate_default=True)
    workbook_dir: Path = Field(None, validation_alias="LTC_WORKBOOK_DIR", validate_default=True)
    lang: Literal["en", "zh"] = Field("en", validation_alias="LTC_LANG")
    sheets_backend: Literal["xlsx", "gsheets", "off"] = Field("xlsx", validation_alias="LTC_SHEETS_BACKEND")
    sheets_share_with: Annotated[tuple[str, ...], NoDecode] = Field((), validation_alias="LTC_SHEETS_SHARE_WITH")
    sync_lock_ttl: int = Field(600, validation_alias="LTC_SYNC_LOCK_TTL")         # seconds, longer than any cycle
    sync_backoff_base: float = Field(0.5, validation_alias="LTC_SYNC_BACKOFF_BASE")   # seconds, first retry wait
    session_hours: int = Field(12, validation_alias="LTC_SESSION_HOURS")   # a web sign-in lasts this long
    # Google's own names. The emulator's host:port is checked where it is used (sync/gsheets_client.py),
    # so a typo there concerns only the Google Sheets backend.
    sheets_emulator_host: str = Field("", validation_alias="SHEETS_EMULATOR_HOST")
    google_credentials: str = Field("", validation_alias="GOOGLE_APPLICATION_CREDENTIALS")

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.resolve()

    @field_validator("database_url")
    @classmethod
    def _sqlite_in_data_dir(cls, value: str, info: ValidationInfo) -> str:
        if not value:
            return f"sqlite:///{info.data['data_dir'] / 'ltc.db'}"
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError:
            backend = ""
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"LTC_DATABASE_URL: {value[:60]!r} is not a SQLite or PostgreSQL URL "
                             "(sqlite:///path.db or postgresql+psycopg://user@host/db)")
        return value

    @field_validator("workbook_dir", mode="before")
    @classmethod
    def _sheets_in_data_dir(cls, value: Any, info: ValidationInfo) -> Any:
        return info.data["data_dir"] / "sheets" if value is None else value

    @field_validator("lang", mode="before")
    @classmethod
    def _lang(cls, value: Any) -> Any:
        if value not in LANGS:
            raise ValueError(f"LTC_LANG must be 'en' or 'zh', not {value!r}")
        return value

    @field_validator("sheets_backend", mode="before")
    @classmethod
    def _backend(cls, value: Any) -> Any:
        name = str(value).strip().lower() or "xlsx"
        if name not in SHEETS_BACKENDS:
            raise ValueError(f"LTC_SHEETS_BACKEND: {name!r} is not one of {', '.join(SHEETS_BACKENDS)}")
        return name

    @field_validator("sheets_share_with", mode="before")
    @classmethod
    def _addresses(cls, value: Any) -> Any:
        return tuple(a.strip() for a in value.split(",") if a.strip()) if isinstance(value, str) else value

    @field_validator("sync_lock_ttl", mode="before")
    @classmethod
    def _seconds(cls, value: Any) -> Any:
        return _whole("LTC_SYNC_LOCK_TTL", value, "seconds", 1, 86400)

    @field_validator("session_hours", mode="before")
    @classmethod
    def _hours(cls, value: Any) -> Any:
        return _whole("LTC_SESSION_HOURS", value, "hours", 1, 720)

    @field_validator("sync_backoff_base", mode="before")
    @classmethod
    def _backoff(cls, value: Any) -> Any:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            seconds = 0.0
        if not 0 < seconds <= 30:
            raise ValueError(f"LTC_SYNC_BACKOFF_BASE: {value!r} is not a number of seconds above 0 and at most 30")
        return seconds


# The variables Settings reads; their values key the cache below.
NAMES = tuple(str(f.validation_alias) for f in Settings.model_fields.values())


def get_settings() -> Settings:
    """Read the environment each call, so tests and the CLI can point at another database. Cheap: the
    environment is only parsed again when one of NAMES (or the working folder, which a relative
    LTC_DATA_DIR resolves against) changed; every unit of work calls this."""
    return _settings((os.getcwd(), *(os.environ.get(name) for name in NAMES)))


@lru_cache(maxsize=8)
def _settings(_key: tuple[str | None, ...]) -> Settings:
    # _key only keys the cache; Settings() reads the same variables itself. A refusal is not cached.
    try:
        return Settings()
    except pydantic.ValidationError as exc:
        errors = exc.errors()
        names = [str(e["loc"][0]) for e in errors]
        reasons = [str(e["ctx"]["error"]) if "error" in e.get("ctx", {}) else f"{n}: {e['input']!r}: {e['msg']}"
                   for n, e in zip(names, errors)]
        raise SettingsError("; ".join(reasons), field=names[0]) from None


@cache
def load(name: str) -> dict:
    """One TOML file of config/, e.g. load('permissions'). LTC_CONFIG_DIR may hold overrides.

    Read directly, not through get_settings(): this runs at import time (core.permissions) and is cached,
    so an unrelated bad variable must not break an import; the error then comes from get_settings()."""
    override = os.environ.get("LTC_CONFIG_DIR")
    for folder in ([Path(override)] if override else []) + [CONFIG_DIR]:
        path = folder / f"{name}.toml"
        if path.exists():
            with path.open("rb") as fh:
                return tomllib.load(fh)
    raise FileNotFoundError(f"config file {name}.toml not found in {CONFIG_DIR}")
