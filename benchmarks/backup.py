"""Backup and restore of a SQLite database the size of the demo at scale 1 and 10 (`ltc demo --scale N`), timed
in-process (median of 3; the `ltc` command adds Python's start-up).

    .venv/bin/python benchmarks/backup.py [--scales 1 10]

Prints one `figure <name> = <value>` line per figure (tools/reliability.py reads them) and a table.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cli.demo import load_demo  # noqa: E402
from core import backup  # noqa: E402
from core.db import get_engine, migrate  # noqa: E402


def _median(fn, n: int = 3) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scales", type=float, nargs="+", default=[1, 10])
    args = ap.parse_args()
    print("| database | size | backup | restore (checks + safety copy + copy in) |\n|---|---|---|---|")
    for scale in args.scales:
        folder = Path(tempfile.mkdtemp(prefix="ltc-backup-bench-"))
        db = folder / "ltc.db"
        url = f"sqlite:///{db}"
        migrate(url)
        load_demo(seed=1, scale=scale, url=url)
        get_engine(url).dispose()
        copy = folder / "copy.db"
        took_backup = _median(lambda: backup.backup(url, copy, force=True))
        took_restore = _median(lambda: backup.restore(url, copy, yes=True))
        size = db.stat().st_size
        pages = size // 4096
        key = f"backup.scale{scale:g}"
        print(f"figure {key}.mb = {size / 1e6:.2f}")
        print(f"figure {key}.pages = {pages:,}")
        print(f"figure {key}.backup_s = {took_backup:.2f}")
        print(f"figure {key}.restore_s = {took_restore:.2f}")
        print(f"| demo, scale {scale:g} | {size / 1e6:.2f} MB ({pages:,} pages) | {took_backup:.2f} s | "
              f"{took_restore:.2f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
