"""Write docs/reliability.md from a real run: every figure the report quotes comes from this run, and is printed.

    .venv/bin/python tools/reliability.py            # about 10 minutes: the proofs, two benchmarks, the suite

It runs the proofs (tests that call tests/figures.py's `figure`, collected through LTC_FIGURES), the backup and
import benchmarks (their `figure <name> = <value>` lines) and the whole test suite (its count and time), then
fills docs/reliability.template.md's `{{name}}` places. A figure measured several times (one per test) is summed;
a place with no figure stops the script and names it, so the report never quotes a figure this run did not
measure. PostgreSQL runs in its own schema (ltc_report), so a test run at the same time is not disturbed.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE, REPORT = ROOT / "docs" / "reliability.template.md", ROOT / "docs" / "reliability.md"
PY = str(ROOT / ".venv" / "bin" / "python")
PYTEST = [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "auto"]
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dltc_report"
PROOFS = ["tests/integration/test_concurrency.py", "tests/sync/test_workers.py",
          "tests/integration/test_bad_input.py", "tests/sync/test_bad_cells.py", "tests/integration/test_security.py",
          "tests/integration/test_permissions.py", "tests/unit/test_uploads.py", "tests/integration/test_backup.py",
          "tests/integration/test_hostile_files.py", "tests/sync/test_text_columns.py",
          "tests/integration/test_users.py", "tests/integration/test_demo.py"]
RUNS = {   # name -> the command; each one's figures and its time (run.<name>.seconds) go into the report
    "proofs": PYTEST + PROOFS,
    "backup": [PY, "benchmarks/backup.py"],
    "import": [PY, "benchmarks/import_leads.py", "--rows", "400000"],
    # the suite but the check that this report is the template filled in: that holds once this run has written it
    "suite": PYTEST + ["--deselect",
                       "tests/unit/test_reliability_report.py::test_the_report_is_the_template_filled_in"],
}
FIGURE_LINE = re.compile(r"^figure (\S+) = (.*)$", re.M)
PASSED = re.compile(r"(\d+) passed(?:, (\d+) \w+)*.* in ([\d.]+)s")
PLACE = re.compile(r"\{\{\s*([\w.]+)\s*\}\}")


def _add(figures: dict, name: str, value) -> None:
    if name in figures and isinstance(value, (int, float)) and isinstance(figures[name], (int, float)):
        figures[name] += value
    else:
        figures[name] = value


def run(name: str, cmd: list[str], figures: dict) -> None:
    with tempfile.NamedTemporaryFile(prefix="ltc-figures-", suffix=".jsonl", delete=False) as fh:
        sink = Path(fh.name)
    env = {**os.environ, "LTC_TEST_PG_URL": PG}
    if name != "suite":   # the suite runs the proofs again: their figures would count twice
        env["LTC_FIGURES"] = str(sink)
    env.pop("LTC_TEST_PG", None)   # the report covers PostgreSQL too
    print(f"$ {' '.join(cmd[1:] if cmd[0] == PY else cmd)}", flush=True)
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"{name} failed (exit {done.returncode}): the report is written only from a green run")
    for line in sink.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        _add(figures, item["name"], item["value"])
    sink.unlink()
    for key, value in FIGURE_LINE.findall(done.stdout):
        _add(figures, key, value.strip())
    if name in ("proofs", "suite"):
        found = PASSED.search(done.stdout.strip().splitlines()[-1])
        if found:
            figures[f"{name}.passed"] = f"{int(found.group(1)):,}"
            figures[f"{name}.pytest_time"] = _minutes(float(found.group(3)))
    figures[f"run.{name}.seconds"] = f"{seconds:.0f}"
    figures[f"run.{name}.time"] = _minutes(seconds)


def _minutes(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60} min {whole % 60} s" if whole >= 60 else f"{seconds:.1f} s"


def render(template: str, figures: dict) -> str:
    missing = sorted({m for m in PLACE.findall(template) if m not in figures})
    if missing:
        raise SystemExit("no figure measured for: " + ", ".join(missing))

    def shown(m: re.Match) -> str:
        value = figures[m.group(1)]
        return f"{value:,}" if isinstance(value, int) else str(value)
    return PLACE.sub(shown, template)


def main() -> int:
    figures: dict = {"date": date.today().isoformat(), "cores": os.cpu_count(),
                     "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)}
    for name, cmd in RUNS.items():
        run(name, cmd, figures)
    template = TEMPLATE.read_text(encoding="utf-8")
    REPORT.write_text(render(template, figures), encoding="utf-8")
    used = sorted(set(PLACE.findall(template)))
    print(f"\n{REPORT.relative_to(ROOT)} written with {len(used)} figures from this run:")
    for name in used:
        print(f"  {name} = {figures[name]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
