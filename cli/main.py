"""`ltc`: the command line, the one place that wires core, sync and app together."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from config.settings import SettingsError, get_settings
from core.errors import LtcError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ltc", description="Lead to Cash (线索到回款) back office")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("init", help="create or upgrade the database (applies migrations); safe to run again")

    d = sub.add_parser("demo", help="load the demo story (about 18 months up to today) through the services")
    d.add_argument("--seed", type=int, default=1, help="same seed, same data (default 1)")
    d.add_argument("--scale", type=_positive_float, default=1.0, help="multiply every volume (benchmarks)")
    d.add_argument("--reset", action="store_true", help="wipe a database that already holds data first")

    imp = sub.add_parser("import", help="import records from a file")
    imp_sub = imp.add_subparsers(dest="entity", required=True, metavar="ENTITY")
    il = imp_sub.add_parser("leads", help="leads from CSV (UTF-8, UTF-8 with BOM, GBK) or XLSX")
    il.add_argument("file", type=Path)
    il.add_argument("--dry-run", action="store_true", help="check and report, write nothing")
    il.add_argument("--as", dest="as_login", default=None, help="act as this user (default: the system)")

    e = sub.add_parser("export", help="export an entity")
    from core.exports import ENTITIES
    e.add_argument("entity", choices=sorted(ENTITIES))
    e.add_argument("--format", choices=["csv", "json"], default="csv")
    e.add_argument("--out", type=Path, default=None, help="file to write (default: standard output)")
    e.add_argument("--as", dest="as_login", default=None,
                   help="export what this user may see (their data scope); default: the system, everything")

    u = sub.add_parser("users", help="manage users")
    u_sub = u.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    ua = u_sub.add_parser("add", help="add a user")
    ua.add_argument("login")
    ua.add_argument("--role", action="append", required=True, help="repeat for several roles")
    ua.add_argument("--name", default="")
    ua.add_argument("--email", default="")
    ua.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    ua.add_argument("--team", action="append", default=[], help="a team the user belongs to; repeat for several")
    us = u_sub.add_parser("set", help="change a user's teams or roles")
    us.add_argument("login")
    us.add_argument("--team", action="append", default=None,
                    help="the user's teams from now on (repeat for several; --team '' for none)")
    us.add_argument("--role", action="append", default=None, help="the user's roles from now on (repeat)")
    u_sub.add_parser("list", help="every user with roles and teams")

    dg = sub.add_parser("delegate", help="a person away names who takes their approval steps, for dates")
    dg.add_argument("login", help="the person away")
    dg.add_argument("--to", dest="delegate", required=True, help="the delegate (a login)")
    dg.add_argument("--from", dest="starts_on", type=_iso_date, required=True, help="first day, YYYY-MM-DD")
    dg.add_argument("--until", dest="ends_on", type=_iso_date, required=True, help="last day, YYYY-MM-DD")
    dg.add_argument("--reason", default="")

    t = sub.add_parser("teams", help="teams (a sales region, a delivery department): manager and members")
    t_sub = t.add_subparsers(dest="teams_command", required=True, metavar="ACTION")
    ta = t_sub.add_parser("add", help="add a team")
    ta.add_argument("name")
    ta.add_argument("--manager", default=None, help="the team's manager (a login)")
    tm = t_sub.add_parser("set", help="rename a team or change its manager")
    tm.add_argument("name")
    tm.add_argument("--manager", default=None, help="the new manager (a login; '' for none)")
    tm.add_argument("--rename", default=None, help="the team's new name")
    t_sub.add_parser("list", help="every team with its manager and members")

    sh = sub.add_parser("sheets", help="department spreadsheets (LTC_SHEETS_BACKEND: xlsx, gsheets, off)")
    sh_sub = sh.add_subparsers(dest="sheets_command", required=True, metavar="ACTION")
    si = sh_sub.add_parser("init", help="create missing spreadsheets, tabs and headers; safe to run again")
    si.add_argument("--lang", choices=["en", "zh"], default=None, help="header language (default LTC_LANG)")

    sy = sub.add_parser("sync", help="two-way sync of the department spreadsheets with the database")
    when = sy.add_mutually_exclusive_group(required=True)
    when.add_argument("--once", action="store_true", help="one cycle of every spreadsheet")
    when.add_argument("--every", type=_positive_seconds, metavar="SECONDS", help="a cycle every SECONDS, until stopped")
    sy.add_argument("--json", action="store_true", help="print a JSON summary per cycle")
    sy.add_argument("--only", default=None, help="one spreadsheet (marketing, sales, contracts, delivery, finance)")

    m = sub.add_parser("metrics", help="the leadership metrics (the cash-flow page's figures) as of a day")
    m.add_argument("--as-of", dest="as_of", type=_iso_date, default=None, help="YYYY-MM-DD (default: today)")
    m.add_argument("--json", action="store_true", help="print JSON (Decimals as strings) instead of text")

    dy = sub.add_parser("daily", help="the day's date-driven events (retention at warranty end); safe to run "
                                      "twice or late: cron it once a day")
    dy.add_argument("--as-of", dest="as_of", type=_iso_date, default=None, help="YYYY-MM-DD (default: today)")

    c = sub.add_parser("close", help="a project's closure (项目决算与复盘): show what blocks it, record the final "
                                     "accounts, ask to close, or decide as a leader")
    c.add_argument("contract", metavar="CONTRACT", help="the contract's number")
    c.add_argument("--as", dest="as_login", required=True,
                   help="act as this user (their roles decide what they may do)")
    step = c.add_mutually_exclusive_group()
    step.add_argument("--final-accounts", action="store_true", help="record the final accounts (finance)")
    step.add_argument("--request", action="store_true", help="write the review and ask a leader to close (FR)")
    step.add_argument("--approve", action="store_true", help="approve the closure asked for (a leader)")
    step.add_argument("--reject", action="store_true", help="reject the closure asked for (a leader)")
    c.add_argument("--revenue", default=None,
                   help="final revenue (default: what was invoiced plus the retention still to invoice)")
    c.add_argument("--cost", default=None, help="final cost (default: the sum of the cost entries)")
    c.add_argument("--note", default="", help="a note on the final accounts")
    c.add_argument("--went-well", dest="went_well", default="", help="the review: what went well")
    c.add_argument("--went-badly", dest="went_badly", default="", help="the review: what went badly")
    c.add_argument("--lessons", default="", help="the review: lessons to keep")
    c.add_argument("--on", dest="closed_on", type=_iso_date, default=None,
                   help="closing day YYYY-MM-DD (default: today)")
    c.add_argument("--rationale", default="", help="the leader's reason for the decision")

    b = sub.add_parser("backup", help="copy the SQLite database to PATH (safe while the app runs)")
    b.add_argument("path", type=Path, metavar="PATH")
    b.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    r = sub.add_parser("restore", help="replace the database with the backup at PATH (keeps a safety copy)")
    r.add_argument("path", type=Path, metavar="PATH")
    r.add_argument("--yes", action="store_true", help="do not ask for confirmation (needed when not on a terminal)")

    a = sub.add_parser("app", help="start the web app (applies streamlit_config.toml)")
    a.add_argument("--demo-if-empty", action="store_true", help="init, and load demo data when the database is empty")
    a.add_argument("--port", type=_port, default=None)
    return p


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value <= 1000:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0 and at most 1000")
    return value


def _positive_seconds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of seconds") from None
    if not 5 <= value <= 86400:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 5 and 86400 seconds")
    return value


def _iso_date(text: str):
    from datetime import date

    from core import validate

    try:
        return validate.day("date", date.fromisoformat(text))   # core's range: 0001-01-01 overflowed the metrics
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None
    except LtcError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (a whole number from 1 to 65535)")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from sqlalchemy.exc import DBAPIError

    try:
        code = COMMANDS[args.command](args) or 0
        sys.stdout.flush()   # a closed pipe shows here, in the handler below, not as an error at exit
        return code
    except (LtcError, SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except DBAPIError as exc:   # say what to do instead of a traceback
        said = str(exc.orig)
        if any(sign in said for sign in ("no such table", "does not exist", "no such column", "UndefinedTable")):
            print(f"error: database: {said}; a new or older database needs `ltc init` first", file=sys.stderr)
        else:   # not reachable, refused, wrong password: `ltc init` would not help
            print(f"error: database: cannot use it: {said}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:   # the reader went away (`ltc export leads | head`): stop quietly, like other tools
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())   # no second error when Python flushes
        return 141
    except Exception as exc:   # a defect: its traceback goes to the incident log, the person gets its id
        from core.incidents import log_path, report

        incident = report(exc, f"ltc {args.command}")
        print(f"error: an unexpected problem stopped `ltc {args.command}` (incident {incident}); its unfinished "
              f"work was rolled back. The details are in {log_path()}: send the incident id to support",
              file=sys.stderr)
        return 1


def cmd_init(args) -> int:
    from core.db import migrate

    settings = get_settings()
    migrate(settings.database_url)
    print(f"database ready: {_safe_url(settings.database_url)}")
    return 0


def cmd_demo(args) -> int:
    from cli.demo import load_demo
    from core.db import migrate

    migrate()
    summary = load_demo(seed=args.seed, scale=args.scale, reset=args.reset, progress=_print_progress)
    print("demo loaded: " + ", ".join(f"{k} {v}" for k, v in summary.items()))
    return 0


def cmd_import(args) -> int:
    if not args.file.is_file():
        print(f"error: file: {args.file} does not exist or is not a file", file=sys.stderr)
        return 1
    from core.context import unit_of_work
    from core.db import migrate
    from core.leads_import import import_leads

    migrate()
    with unit_of_work(_acting(args.as_login), "import") as ctx:
        report = import_leads(ctx, args.file, dry_run=args.dry_run, progress=_print_progress)
    print(report.summary() if hasattr(report, "summary") else report)
    return 0


def _acting(login: str | None):
    """The person a command acts as (--as LOGIN), or the system when none is named."""
    from core.context import SYSTEM, unit_of_work
    from core.services import users

    if not login:
        return SYSTEM
    with unit_of_work(SYSTEM, "cli") as ctx:
        return users.actor(ctx, login)


def cmd_export(args) -> int:
    from core.context import unit_of_work
    from core.exports import export_rows, to_csv, to_json

    with unit_of_work(_acting(args.as_login), "cli") as ctx:
        columns, rows = export_rows(ctx, args.entity)
    text = (to_csv if args.format == "csv" else to_json)(columns, rows)
    if args.out:
        try:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(text, encoding="utf-8")
        except OSError as exc:   # a folder, a read-only place, a path under /proc: say so, write nothing
            print(f"error: --out {args.out}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        print(f"{len(rows)} {args.entity} written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_users(args) -> int:
    from core.context import SYSTEM, unit_of_work
    from core.db import migrate
    from core.errors import NotFound
    from core.services import teams, users

    migrate()
    if args.users_command == "list":
        from core.queries.admin import list_users

        with unit_of_work(SYSTEM, "cli") as ctx:
            for row in list_users(ctx).to_dict("records"):
                print(f"{row['Login']:16} {row['Roles']:24} {row['Teams'] or '-':30} "
                      f"{'active' if row['Active'] else 'inactive'}")
        return 0
    if args.users_command == "set":
        with unit_of_work(SYSTEM, "cli") as ctx:
            user = users.by_login(ctx, args.login)
            if user is None:
                raise NotFound("user '{login}' not found", login=args.login)
            if args.role is not None:
                users.update_user(ctx, user.id, roles=args.role)
            if args.team is not None:
                teams.set_teams(ctx, user.id, [t for t in args.team if t.strip()])
            shown = teams.teams_of(ctx, user.id or 0)
            print(f"user '{user.login}': roles {user.roles.replace(',', ', ')}; teams {', '.join(shown) or 'none'}")
        return 0
    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    with unit_of_work(SYSTEM, "cli") as ctx:   # the user and their teams in one unit: all or nothing
        user_id = users.create_user(ctx, args.login, name=args.name, email=args.email, roles=args.role,
                                    password=password)
        if args.team:
            teams.set_teams(ctx, user_id, args.team)
    joined = f"; teams {', '.join(args.team)}" if args.team else ""
    print(f"user '{args.login}' added with roles {', '.join(sorted(set(args.role)))}{joined}")
    return 0


def cmd_delegate(args) -> int:
    from core.context import SYSTEM, unit_of_work
    from core.db import migrate
    from core.services import delegations

    migrate()
    with unit_of_work(SYSTEM, "cli") as ctx:
        delegations.name_delegate(ctx, args.delegate, starts_on=args.starts_on, ends_on=args.ends_on,
                                  reason=args.reason, for_login=args.login)
    print(f"{args.delegate} takes {args.login}'s approval steps from {args.starts_on} to {args.ends_on}")
    return 0


def cmd_teams(args) -> int:
    from core.context import SYSTEM, unit_of_work
    from core.db import migrate
    from core.services import teams

    migrate()
    with unit_of_work(SYSTEM, "cli") as ctx:
        if args.teams_command == "add":
            teams.create_team(ctx, args.name, manager_login=args.manager)
            print(f"team '{args.name}' added" + (f", managed by {args.manager}" if args.manager else ""))
        elif args.teams_command == "set":
            team = teams.by_name(ctx, args.name)
            teams.update_team(ctx, team.id, name=args.rename, manager_login=args.manager)
            print(f"team '{args.rename or team.name}' changed")
        else:
            for row in teams.team_rows(ctx):
                print(f"{row['name']:20} manager {row['manager'] or '-':12} members {', '.join(row['members']) or '-'}")
    return 0


def cmd_sheets(args) -> int:
    from core.db import migrate
    from sync.service import init_sheets

    migrate()
    for key, where in init_sheets(lang=args.lang):
        print(f"{key:10} {where}")
    print("next: `ltc sync --once` fills the sheets and brings their edits in")
    return 0


def cmd_sync(args) -> int:
    import json
    import time

    from core.db import migrate
    from sync.backends import backend_name
    from sync.service import sheet_by_key, sync_all

    if args.only:
        sheet_by_key(args.only)
    get_settings()   # a bad LTC_SYNC_LOCK_TTL (or any bad variable) is refused before any cycle
    if backend_name() == "off":
        print("LTC_SHEETS_BACKEND is 'off': nothing to sync", file=sys.stderr)
        return 0
    migrate()
    while True:
        reports = sync_all(only=args.only)
        for r in reports:
            if args.json:
                print(json.dumps(r.as_dict(), ensure_ascii=False, default=str))
            else:
                t = r.as_dict()["totals"]
                print(f"{r.spreadsheet:10} {r.status:8} requests {r.requests}  applied {t['applied']}  written "
                      f"{t['written']}  created {t['created']}  appended {t['appended']}  conflicts {t['conflicts']}"
                      f"  rejected {t['rejected']}" + (f"  -- {r.message}" if r.message else ""), flush=True)
        if args.once:
            return 1 if any(r.status in ("failed", "stopped") for r in reports) else 0
        time.sleep(args.every)


def cmd_app(args) -> int:
    from cli.launcher import run_app

    return run_app(demo_if_empty=args.demo_if_empty, port=args.port)


def cmd_metrics(args) -> int:
    import json

    from core.context import SYSTEM, unit_of_work
    from core.metrics import Filters, metrics_summary

    with unit_of_work(SYSTEM, "cli") as ctx:
        as_of = args.as_of or ctx.today()
        if as_of > ctx.today():
            print(f"error: as_of: {as_of.isoformat()} is in the future", file=sys.stderr)
            return 1
        summary = metrics_summary(ctx, Filters(as_of=as_of))
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return 0
    print(f"Metrics as of {summary['as_of']} (period {summary['period_start']} to {summary['period_end']})")
    if "funnel" in summary:
        print("\nFunnel: " + "  ".join(f"{s['step']} {s['count']}" + (f" ({s['conversion']})" if s["conversion"]
                                                                       else "") for s in summary["funnel"]))
        w = summary["win_rates"]
        print(f"Win rate: {w['win_rate_count']} by count, {w['win_rate_value']} by value; bid hit rate "
              f"{w['bid_hit_rate']}; weighted pipeline {w['weighted_pipeline']}")
    print("\nMonth    " + "".join(f"{c:>16}" for c in ("bookings", "accepted", "invoiced", "collected")))
    for r in summary["monthly"]:
        print(f"{r['month']:9}" + "".join(f"{r[c]:>16}" for c in ("bookings", "accepted", "invoiced", "collected")))
    a = summary["ageing"]
    print(f"\nReceivables {a['total_outstanding']}: current {a['current']}, "
          + ", ".join(f"{k} {v}" for k, v in a["buckets"].items()))
    print(f"Overdue share {a['overdue_share']}; DSO {a['dso']} days; CEI {a['cei']}; unbilled {a['unbilled']}; "
          f"acceptance to invoice {a['acceptance_to_invoice_days']} days")
    for key, title in (("forecast", "Forecast"),):
        if key in summary:
            print(f"\n{title} (month, contracted, pipeline):")
            for r in summary[key]:
                print(f"  {r['month']}  {r['contracted']:>16}  {r['pipeline']:>16}")
    if "collection" in summary:
        c = summary["collection"]
        print(f"Collection plan attainment {c['plan_attainment']}; contract to cash {c['contract_to_cash_days']} days")
    if summary.get("stages"):
        st = summary["stages"]
        print("\nDays in stage (median / worst): " + ", ".join(f"{d['stage']} {d['median']} / {d['worst']}"
                                                          for d in st["durations"]))
        print("Gate waits (median / worst days, pending): " + ", ".join(
            f"{g['kind']} {g['median']} / {g['worst']}, {g['pending']}" for g in st["gates"]))
        for r in st["stuck"][:5]:
            print(f"  stuck: {r['name']} in {r['stage']} for {r['days']} days (owner {r['owner'] or '-'})")
        for h in st["holds_past_review"]:
            print(f"  hold past review: {h['name']} by {h['days_past']} days (owner {h['owner'] or '-'})")
    if summary.get("projects"):
        print("\nProject (estimate accuracy, budget execution): " + ", ".join(
            f"{p['number']} {p['estimate_accuracy']} {p['budget_execution']}" for p in summary["projects"][:10]))
    if summary["overdue_customers"]:
        print("\nTop overdue customers:")
        for c in summary["overdue_customers"]:
            print(f"  {c['customer']}: overdue {c['overdue']} of {c['total']}")
    return 0


def cmd_daily(args) -> int:
    from core.context import SYSTEM, unit_of_work
    from core.services.daily import run_daily

    with unit_of_work(SYSTEM, "cli") as ctx:
        report = run_daily(ctx, as_of=args.as_of)
    print(report.summary())
    return 0


def cmd_close(args) -> int:
    from core.context import unit_of_work
    from core.queries import delivery as q
    from core.services import closure, contracts

    actor = _acting(args.as_login)
    with unit_of_work(actor, "cli") as ctx:
        cid = contracts.id_by_number(ctx, args.contract)
        if args.final_accounts:
            closure.record_final_accounts(ctx, cid, revenue=args.revenue, cost=args.cost, note=args.note)
            done = "final accounts recorded"
        elif args.request:
            closure.request_closure(ctx, cid, went_well=args.went_well, went_badly=args.went_badly,
                                    lessons=args.lessons, closed_on=args.closed_on)
            done = "closure requested: a leader decides"
        elif args.approve or args.reject:
            closure.decide_closure(ctx, cid, "approve" if args.approve else "reject", rationale=args.rationale)
            done = "closed" if args.approve else "closure rejected"
        else:
            done = ""
    with unit_of_work(actor, "cli") as ctx:
        state = q.closure(ctx, cid)
    if done:
        print(f"{args.contract}: {done}")
    if state["closed_on"]:
        print(f"{args.contract}: closed on {state['closed_on'].isoformat()}")
    for name in state["held"]:
        print(f"held until the warranty ends on {state['warranty_ends_on']}: {name}")
    for text in state["blockers"]:
        print(f"blocks closing: {text}")
    if state["decision"]:
        d = state["decision"]
        print(f"closure decision: {d['decision']} ({d['by'] or 'pending'}) {d['rationale']}".rstrip())
    return 0


def cmd_backup(args) -> int:
    from core.backup import backup

    report = backup(get_settings().database_url, args.path, force=args.force, progress=_print_progress)
    print(f"backup written to {report.path} ({report.bytes:,} bytes, integrity ok, {report.seconds:.1f} s)")
    return 0


def cmd_restore(args) -> int:
    from core.backup import restore

    def ask(path, db) -> bool:
        return input(f"Replace every record in {db} with the backup {path}? [y/N] ").strip().lower() in ("y", "yes")

    report = restore(get_settings().database_url, args.path, yes=args.yes,
                     confirm=ask if sys.stdin.isatty() else None, progress=_print_progress)
    if report.safety_copy:
        print(f"safety copy of the previous database: {report.safety_copy}")
    migrated = f", migrated from schema {report.migrated_from}" if report.migrated_from else ""
    print(f"database {report.database} restored from {args.path} (schema {report.revision}{migrated})")
    return 0


def _print_progress(done: int, total: int) -> None:
    """One line on the terminal, rewritten in place, finished with a newline at 100%."""
    if total:
        end = "\n" if done >= total else ""
        print(f"\r{done:,}/{total:,} ({done * 100 // total}%)", end=end, file=sys.stderr, flush=True)


def _safe_url(url: str) -> str:
    """The URL without a password, for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


COMMANDS = {"init": cmd_init, "demo": cmd_demo, "import": cmd_import, "export": cmd_export,
            "users": cmd_users, "teams": cmd_teams, "delegate": cmd_delegate, "sheets": cmd_sheets, "sync": cmd_sync,
            "app": cmd_app,
            "metrics": cmd_metrics, "daily": cmd_daily, "close": cmd_close, "backup": cmd_backup,
            "restore": cmd_restore}

if __name__ == "__main__":
    sys.exit(main())
