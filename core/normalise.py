"""Normalised forms used to recognise the same company, phone or e-mail however it was typed.

They are keys for duplicate detection and account matching, never shown to people:
'ＡＢＣ 科技有限公司', 'abc科技' and 'ABC科技 Co., Ltd.' all become 'abc科技'.
"""
from __future__ import annotations

import re
import unicodedata

# Latin legal forms, as whole words at the end of the name ('Costco' keeps its 'co').
_LATIN_SUFFIXES = frozenset({
    "co", "company", "ltd", "limited", "inc", "incorporated", "llc", "corp", "corporation", "gmbh", "plc",
})
# Chinese legal forms, longest first so 股份有限公司 is not cut as 有限公司 leaving 股份.
_CJK_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "集团", "公司")
_NOT_WORD = re.compile(r"[\W_]+")
_NOT_DIGIT = re.compile(r"\D+")


def company(name) -> str:
    """Full-width to half-width, lower case, no punctuation or spaces, legal suffixes removed."""
    s = unicodedata.normalize("NFKC", "" if name is None else str(name)).lower()
    words = _NOT_WORD.sub(" ", s).split()
    while len(words) > 1 and words[-1] in _LATIN_SUFFIXES:
        words.pop()
    out = "".join(words)
    stripped = True
    while stripped:
        stripped = False
        for suffix in _CJK_SUFFIXES:
            if out.endswith(suffix):
                if len(out) > len(suffix):   # a name that is only a legal form stays as it is
                    out, stripped = out[:-len(suffix)], True
                break
    return out


def phone(raw) -> str:
    """Digits only; a mainland mobile number loses its +86 / 0086 / 86 country prefix."""
    digits = _NOT_DIGIT.sub("", unicodedata.normalize("NFKC", "" if raw is None else str(raw)))
    if len(digits) == 15 and digits.startswith("0086") and digits[4] == "1":
        return digits[4:]
    if len(digits) == 13 and digits.startswith("86") and digits[2] == "1":
        return digits[2:]
    return digits


def email(raw) -> str:
    return unicodedata.normalize("NFKC", "" if raw is None else str(raw)).strip().lower()


def team(name) -> str:
    """A team's name as compared: 'East ', 'east' and full-width 'ｅａｓｔ' are one team."""
    return " ".join(unicodedata.normalize("NFKC", "" if name is None else str(name)).casefold().split())
