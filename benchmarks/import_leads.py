"""Lead import speed: 100,000 CSV rows (10% duplicates written differently, some names using GBK-only
characters, a few bad rows) into a fresh SQLite database, imported as a marketing user.

    .venv/bin/python benchmarks/import_leads.py [--rows 100000] [--url postgresql+psycopg://...]

Prints rows/s, the report's counts, and the import's memory: the peak resident size of the process that
imported (a child, so generating the file does not count) over what it held before the import began.
Goals: at least 5,000 rows/s on SQLite; memory growing with the rows kept for duplicate checks, not with the
file (`--rows 400000` writes a file of about 50 MB).
"""
from __future__ import annotations

import argparse
import csv
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.context import SYSTEM, unit_of_work  # noqa: E402
from core.db import migrate  # noqa: E402
from core.leads_import import import_leads  # noqa: E402
from core.services import users  # noqa: E402

GBK_ONLY = "堃喆珺镕祎昇玥赟琇彧"     # in GBK but not in GB2312: what breaks naive decoding
WORDS = ["华信", "东方", "博远", "新锐", "中科", "恒通", "天成", "瑞达", "Acme", "Nordic", "Pacific", "Summit"]
SUFFIXES = ["有限公司", "科技有限公司", "股份有限公司", "集团", "Co., Ltd.", "Ltd", "Inc."]
REGIONS = ["East", "North", "South", "West", "Central"]
INDUSTRIES = ["Energy", "Manufacturing", "Finance", "Retail", "Government", "Healthcare"]
SOURCES = ["website", "exhibition", "referral", "partner", "cold_call", "tender_notice", "campaign", "展会"]
HEADER = ["公司名称", "联系人", "手机", "Email", "来源", "Region", "行业", "预算", "Authority", "Need",
          "Timeline months", "需求描述", "备注"]


def _row(rng: random.Random, i: int) -> list[str]:
    word = rng.choice(WORDS)
    special = GBK_ONLY[i % len(GBK_ONLY)] if i % 20 == 0 else ""
    company = f"{word}{special}{i} {rng.choice(SUFFIXES)}"
    email = f"buyer{i}@example{i % 97}.cn" if i % 3 else ""
    return [company, rng.choice(["张伟", "李娜", "John Smith", "王芳"]), f"1{rng.randrange(3, 10)}{i:09d}",
            email, rng.choice(SOURCES), rng.choice(REGIONS), rng.choice(INDUSTRIES),
            str(rng.choice([0, 50_000, 150_000, 400_000, 2_000_000])),
            rng.choice(["decision_maker", "influencer", "user", "unknown"]),
            rng.choice(["urgent", "clear", "vague", "none"]), str(rng.choice([1, 3, 6, 9, 12, 24])),
            "ERP upgrade 需要升级ERP", "extra column, ignored"]


def _variant(rng: random.Random, row: list[str]) -> list[str]:
    """The same lead typed again: full-width or upper-case name, +86 on the phone, some fields empty."""
    dup = list(row)
    name, _, suffix = row[0].rpartition(" ")
    full_width = {c: c + 0xFEE0 for c in range(0x21, 0x7F)}
    dup[0] = rng.choice([name.upper() + " " + suffix, name.translate(full_width) + " " + suffix,
                         row[0].translate(full_width)])
    dup[2] = rng.choice(["+86 " + row[2], "0086-" + row[2], row[2][:3] + " " + row[2][3:7] + " " + row[2][7:]])
    dup[3] = row[3].upper()
    dup[1] = ""
    return dup


def write_csv(path: Path, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    rows: list[list[str]] = []
    n_dup = n // 10
    for i in range(n - n_dup):
        rows.append(_row(rng, i))
    for _ in range(n_dup):
        rows.append(_variant(rng, rows[rng.randrange(0, n - n_dup)]))
    rng.shuffle(rows)
    for k in range(0, n, 500):   # a few bad rows: they are reported, the rest imported
        rows[k][3], rows[k][2] = "not-an-email", ""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(rows)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # Linux reports KiB


def _import(url: str, csv_path: Path) -> None:
    """In its own process: import the file and print time and memory."""
    with unit_of_work(SYSTEM, "cli", url=url) as ctx:
        marketing = users.actor(ctx, "mkt")
    before = _peak_mb()
    start = time.perf_counter()
    with unit_of_work(marketing, "import", url=url) as ctx:
        report = import_leads(ctx, csv_path)
    seconds = time.perf_counter() - start   # includes the commit
    size = csv_path.stat().st_size / 1024 / 1024
    print(f"imported in {seconds:.2f}s: {report.total / seconds:,.0f} rows/s "
          f"(created {report.created:,}, merged {report.merged:,}, rejected {len(report.rejected):,}, "
          f"total {report.total:,})")
    grew = _peak_mb() - before
    print(f"memory: {before:.0f} MB before the import, peak {_peak_mb():.0f} MB: the import took {grew:.0f} MB "
          f"for a {size:.1f} MB file ({grew / size:.1f}x)")
    for name, value in [("rows", f"{report.total:,}"), ("file_mb", f"{size:.1f}"), ("seconds", f"{seconds:.1f}"),
                        ("rows_per_s", f"{report.total / seconds:,.0f}"), ("memory_mb", f"{grew:.0f}"),
                        ("memory_ratio", f"{grew / size:.1f}")]:
        print(f"figure import.{name} = {value}")   # read by tools/reliability.py


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--url", help="database URL (default: a fresh SQLite file in a temp dir)")
    ap.add_argument("--import-file", type=Path, help=argparse.SUPPRESS)   # the child's part
    args = ap.parse_args()
    if args.import_file:
        _import(args.url, args.import_file)
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="ltc-bench-"))
    url = args.url or f"sqlite:///{tmp / 'bench.db'}"
    csv_path = tmp / "leads.csv"
    t0 = time.perf_counter()
    write_csv(csv_path, args.rows)
    print(f"generated {args.rows:,} rows ({csv_path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f}s")
    migrate(url)
    with unit_of_work(SYSTEM, "cli", url=url) as ctx:
        users.create_user(ctx, "sales1", name="Sales one", roles=["ar"])
        users.create_user(ctx, "mkt", name="Marketing", roles=["marketing"])
    return subprocess.run([sys.executable, __file__, "--url", url, "--import-file", str(csv_path)]).returncode


if __name__ == "__main__":
    sys.exit(main())
