"""docs/metrics.md is written from DEFINITIONS, so the docs and the page's help text say the same thing:
`python -m core.metrics.docs > docs/metrics.md`."""
from core.metrics.definitions import DEFINITIONS

HEADER = """# Leadership metrics (领导驾驶舱指标)

Computed by `core.metrics` (in SQL, for an as-of day and filters: period, region, industry, AR, customer),
shown on the cash-flow page and printed by `ltc metrics [--as-of DATE] [--json]`. Region, industry and AR
filter by the opportunity a record belongs to; payments by the customers of those opportunities.
Leaders see everything (`metrics.view`); finance sees the cash metrics (`metrics.cash`).
This file is generated from `core/metrics/definitions.py` (`python -m core.metrics.docs > docs/metrics.md`).
"""


def render() -> str:
    parts = [HEADER]
    for name, text in DEFINITIONS.items():
        parts.append(f"\n## {name}\n\n{text['en']}\n\n{text['zh']}\n")
    return "".join(parts)


if __name__ == "__main__":
    print(render(), end="")
