"""Message catalogue: every label in English and Chinese, as TOML data, one file per page or area.

Each file holds tables `[key] en = "..." zh = "..."`; keys are unique across files (a test checks that
every key has both languages and every key the pages use exists).
"""
from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

FOLDER = Path(__file__).resolve().parent
LANGS = ("en", "zh")


@cache
def catalogue() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for path in sorted(FOLDER.glob("*.toml")):
        with path.open("rb") as fh:
            for key, texts in tomllib.load(fh).items():
                if key in out:
                    raise ValueError(f"message key {key!r} defined twice ({path.name})")
                out[key] = texts
    return out


def t(key: str, lang: str = "en", **kwargs) -> str:
    texts = catalogue().get(key)
    if texts is None:
        return key   # a missing key shows itself rather than breaking the page; a test forbids it
    text = texts.get(lang) or texts["en"]
    return text.format(**kwargs) if kwargs else text
