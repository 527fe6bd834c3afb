"""The ageing buckets and dunning levels of config/finance.toml: bands of days past due, checked to follow each
other with no gap and to end open-ended. Read by the cash page's queries and by the metrics (no pandas here)."""
from __future__ import annotations

from config.settings import load
from core.messages import Text

# dunning (催款) levels by days past due: [level, first day, last day], the last open-ended (-1);
# config/finance.toml may override them with `dunning_levels`
DUNNING_LEVELS = [[1, 1, 30], [2, 31, 60], [3, 61, 90], [4, 91, -1]]


def _bands(rows, what: str) -> list[tuple]:
    """[(name, first, last or None)], checked to follow each other with no gap; the last is open-ended."""
    out, expected = [], None
    for i, (name, first, last) in enumerate(rows):
        first, last = int(first), int(last)
        if expected is not None and first != expected:
            raise ValueError(Text("{what}: band {name!r} starts at day {first}, expected {expected} (no gaps)",
                                  what=what, name=name, first=first, expected=expected))
        open_ended = last < 0
        if open_ended and i != len(rows) - 1:
            raise ValueError(Text("{what}: only the last band may be open-ended ({name!r} is not last)", what=what,
                                  name=name))
        if not open_ended and last < first:
            raise ValueError(Text("{what}: band {name!r} ends before it starts", what=what, name=name))
        out.append((str(name), first, None if open_ended else last))
        expected = None if open_ended else last + 1
    if not out or out[-1][2] is not None:
        raise ValueError(Text("{what}: the last band must be open-ended (last day -1)", what=what))
    return out


def ageing_buckets() -> list[tuple[str, int, int | None]]:
    """The ageing buckets of config/finance.toml: [(label, first day past due, last day or None)]."""
    return _bands(load("finance")["ageing_buckets"], "ageing_buckets")


def dunning_levels() -> list[tuple[str, int, int | None]]:
    return _bands(load("finance").get("dunning_levels", DUNNING_LEVELS), "dunning_levels")
