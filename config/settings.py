"""Settings: environment first, then the TOML files in this folder (data more than code)."""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    lang: str


def get_settings() -> Settings:
    """Read the environment each call, so tests and the CLI can point at another database."""
    data_dir = Path(os.environ.get("LTC_DATA_DIR", "data")).resolve()
    url = os.environ.get("LTC_DATABASE_URL") or f"sqlite:///{data_dir / 'ltc.db'}"
    lang = os.environ.get("LTC_LANG", "en")
    if lang not in ("en", "zh"):
        raise ValueError(f"LTC_LANG must be 'en' or 'zh', not {lang!r}")
    return Settings(database_url=url, data_dir=data_dir, lang=lang)


@cache
def load(name: str) -> dict:
    """One TOML file of config/, e.g. load('permissions'). LTC_CONFIG_DIR may hold overrides."""
    override = os.environ.get("LTC_CONFIG_DIR")
    for folder in ([Path(override)] if override else []) + [CONFIG_DIR]:
        path = folder / f"{name}.toml"
        if path.exists():
            with path.open("rb") as fh:
                return tomllib.load(fh)
    raise FileNotFoundError(f"config file {name}.toml not found in {CONFIG_DIR}")
