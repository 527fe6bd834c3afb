"""Message catalogue: every label in English and Chinese, as TOML data, one file per page or area.

Each file holds tables `[key] en = "..." zh = "..."`; keys are unique across files (a test checks that
every key has both languages and every key the pages use exists). An English text that counts something
may add `en_one`, said when its count (`n` or `days`) is 1: "1 day left", not "1 days left".
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


COUNTS = ("n", "days")   # the figure an English text agrees with: `en_one` is said when it is 1


def t(key: str, lang: str = "en", **kwargs) -> str:
    texts = catalogue().get(key)
    if texts is None:
        return key   # a missing key shows itself rather than breaking the page; a test forbids it
    one = lang == "en" and "en_one" in texts and any(str(kwargs.get(c)) in ("1", "-1") for c in COUNTS)
    text = texts["en_one"] if one else texts.get(lang) or texts["en"]
    return text.format(**kwargs) if kwargs else text
