"""Figures a test measures, for docs/reliability.md: `figure("concurrency.issue.ok", 21)` prints the figure and,
when LTC_FIGURES names a file, appends it there as a JSON line. tools/reliability.py runs the tests with it and
writes the report from what they measured, so the report quotes a real run and nothing else."""
from __future__ import annotations

import json
import os


def figure(name: str, value) -> None:
    print(f"figure {name} = {value}")
    path = os.environ.get("LTC_FIGURES")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"name": name, "value": value}, ensure_ascii=False) + "\n")
