"""The `ltc` command line, run as a user would: a real process, a real database file."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

LTC = [sys.executable, "-m", "cli.main"]
ROOT = Path(__file__).resolve().parents[2]


def run(args, env, stdin=None):
    return subprocess.run(LTC + args, env=env, input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=600)


@pytest.fixture
def env(tmp_path):
    e = dict(os.environ, LTC_DATABASE_URL=f"sqlite:///{tmp_path / 'ltc.db'}", LTC_DATA_DIR=str(tmp_path))
    return e


def test_init_is_repeatable(env):
    assert run(["init"], env).returncode == 0
    second = run(["init"], env)
    assert second.returncode == 0 and "database ready" in second.stdout


def test_users_add_with_password_from_stdin_then_duplicate_refused(env):
    ok = run(["users", "add", "fiona", "--role", "finance", "--role", "ar", "--password-stdin"], env,
             stdin="long-enough-pw\n")
    assert ok.returncode == 0, ok.stderr
    again = run(["users", "add", "fiona", "--role", "finance"], env)
    assert again.returncode == 1 and "already taken" in again.stderr
    bad = run(["users", "add", "zed", "--role", "wizard"], env)
    assert bad.returncode == 1 and "roles: unknown role" in bad.stderr
    out = run(["export", "audit", "--format", "json"], env)
    events = json.loads(out.stdout)
    assert [e["action"] for e in events] == ["user.create"] and events[0]["source"] == "cli"
    assert "long-enough-pw" not in out.stdout


def test_bad_arguments_exit_non_zero_with_a_message(env):
    r = run(["export", "unicorns"], env)
    assert r.returncode == 2 and "invalid choice" in r.stderr
    r = run(["demo", "--scale", "-3"], env)
    assert r.returncode == 2 and "--scale" in r.stderr
    r = run(["import", "leads", "/no/such/file.csv"], env)
    assert r.returncode == 1 and "does not exist" in r.stderr


def test_a_bad_environment_variable_is_refused_by_name(env):
    r = run(["init"], {**env, "LTC_SHEETS_BACKEND": "excel"})
    assert r.returncode == 1
    assert r.stderr.strip() == "error: LTC_SHEETS_BACKEND: 'excel' is not one of xlsx, gsheets, off"


def test_output_piped_into_a_reader_that_stops_early_ends_quietly(env, monkeypatch, capsys):
    """`ltc metrics | head -1`: the reader is gone; the command stops quietly (exit 141 like a shell's SIGPIPE),
    no traceback. A real pipe whose reading end is closed, so every write fails with EPIPE."""
    from cli.main import main

    assert run(["init"], env).returncode == 0
    for k in ("LTC_DATABASE_URL", "LTC_DATA_DIR"):
        monkeypatch.setenv(k, env[k])
    read_end, write_end = os.pipe()
    os.close(read_end)
    saved = os.dup(1)
    try:
        with capsys.disabled(), open(write_end, "w") as pipe:
            monkeypatch.setattr(sys, "stdout", pipe)
            code = main(["metrics"])
            monkeypatch.undo()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    assert code == 141


def test_a_database_nobody_initialised_gets_a_message_not_a_traceback(env):
    out = run(["metrics"], env)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.startswith("error: database: no such table") and "ltc init" in out.stderr


@pytest.mark.parametrize("args, said", [
    (["metrics", "--as-of", "0001-01-01"], "not a plausible date (from 1900 to 2199)"),   # was a ValueError
    (["metrics", "--as-of", "0001-12-31"], "not a plausible date"),                      # was an OverflowError
    (["app", "--port", "99999"], "'99999' is not a port"),                                 # was an OverflowError
])
def test_a_bad_flag_gets_a_message_not_a_traceback(env, args, said):
    r = run(args, env)
    assert r.returncode == 2 and said in r.stderr and "Traceback" not in r.stderr


def test_export_to_a_place_it_cannot_write_says_so(env, tmp_path):
    assert run(["init"], env).returncode == 0
    for out, said in ((tmp_path, "Is a directory"), (Path("/proc/x/y.csv"), "No such file or directory")):
        r = run(["export", "leads", "--out", str(out)], env)
        assert r.returncode == 1 and r.stderr.strip() == f"error: --out {out}: {said}", r.stderr


def test_a_database_url_of_another_kind_or_out_of_reach_is_said_as_such(env):
    r = run(["metrics"], {**env, "LTC_DATABASE_URL": "foo://bar"})
    assert r.returncode == 1 and r.stderr.startswith("error: LTC_DATABASE_URL: 'foo://bar' is not a SQLite or")
    r = run(["metrics"], {**env, "LTC_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/x"})
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("error: database: cannot use it:") and "ltc init" not in r.stderr   # init won't help


def test_the_app_never_shows_a_traceback_in_the_browser():
    """Streamlit shows a crash's traceback (code, paths) by default; the launcher's flags say only its kind."""
    from cli.launcher import streamlit_flags

    assert "--client.showErrorDetails=none" in streamlit_flags()


def test_daily_runs_twice_with_the_same_books_and_refuses_a_future_day(env, tmp_path):
    """`ltc daily` (issue 12) releases a retention whose warranty ended, once, audited as the system from cli."""
    from datetime import timedelta

    from core import clock
    from core.context import SYSTEM, unit_of_work
    from sqlmodel import select

    from core.models import AuditEvent, Contract, PaymentTerm
    from core.services import delivery
    from tests.conftest import make_world
    from tests.integration.money_fixtures import days, signed_contract

    assert run(["init"], env).returncode == 0
    world = make_world(env["LTC_DATABASE_URL"])
    ids = signed_contract(world, signed_on=days(-500))
    world.do("fr", delivery.accept_milestone, ids["m1"], kind="final", accepted_on=days(-30) - timedelta(days=365))
    first = run(["daily"], env)
    assert first.returncode == 0, first.stderr
    assert f"ltc daily as of {clock.today().isoformat()}: 1 retention release(s)" in first.stdout
    assert "released the retention of HT-2026-0001" in first.stdout
    second = run(["daily"], env)
    assert second.returncode == 0 and ": 0 retention release(s)" in second.stdout
    future = run(["daily", "--as-of", (clock.today() + timedelta(days=1)).isoformat()], env)
    assert future.returncode == 1 and "as_of:" in future.stderr and "is in the future" in future.stderr
    with unit_of_work(SYSTEM, "test", url=env["LTC_DATABASE_URL"]) as ctx:
        ends = ctx.session.get(Contract, ids["contract"]).warranty_ends_on
        assert ctx.session.get(PaymentTerm, ids["retention"]).released_on == ends
        last = ctx.session.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert (last.action, last.source, last.user_login) == ("term.release", "cli", "system")


def test_close_shows_the_blockers_then_finance_fr_and_a_leader_close_the_project(env):
    """`ltc close CONTRACT --as LOGIN` (issue 12): scripts reach the closure as the people who do it."""
    from core.context import SYSTEM, unit_of_work
    from core.models import Contract, PaymentTerm
    from core.services import billing, delivery
    from tests.conftest import make_world
    from tests.integration.money_fixtures import days, signed_contract

    assert run(["init"], env).returncode == 0
    world = make_world(env["LTC_DATABASE_URL"])
    ids = signed_contract(world, signed_on=days(-800))
    number = world.get(Contract, ids["contract"]).number
    world.do("fr", delivery.accept_milestone, ids["m1"], kind="final", accepted_on=days(-500))
    world.do("finance", delivery.release_warranty_terms, ids["contract"])
    for term in ("advance", "final"):
        world.do("finance", billing.issue_invoice, ids[term], amount=world.get(PaymentTerm, ids[term]).amount)
    shown = run(["close", number, "--as", "fr"], env)
    assert shown.returncode == 0, shown.stderr
    assert "blocks closing: 900,000.00 outstanding on invoice(s)" in shown.stdout
    assert "blocks closing: term 'Retention 10%' has 100,000.00 not invoiced (released on" in shown.stdout
    world.do("finance", billing.issue_invoice, ids["retention"], amount="100000")
    world.do("finance", billing.record_payment, account_id=ids["account"], amount="1000000", reference="B-ALL")

    early = run(["close", number, "--as", "fr", "--request", "--went-well", "a", "--went-badly", "b"], env)
    assert early.returncode == 1 and "has no final accounts" in early.stderr
    assert run(["close", number, "--as", "finance", "--final-accounts"], env).returncode == 0
    asked = run(["close", number, "--as", "fr", "--request", "--went-well", "on-site team", "--went-badly",
                 "late acceptance", "--lessons", "accept site by site"], env)
    assert asked.returncode == 0 and "closure requested: a leader decides" in asked.stdout, asked.stderr
    mine = run(["close", number, "--as", "fr", "--approve", "--rationale", "mine"], env)
    assert mine.returncode == 1 and "may not perform 'closure.decide'" in mine.stderr
    done = run(["close", number, "--as", "leader", "--approve", "--rationale", "books agree"], env)
    assert done.returncode == 0 and f"{number}: closed on {days(0).isoformat()}" in done.stdout, done.stderr
    with unit_of_work(SYSTEM, "test", url=env["LTC_DATABASE_URL"]) as ctx:
        assert ctx.session.get(Contract, ids["contract"]).status.value == "closed"
    missing = run(["close", "HT-NONE", "--as", "leader"], env)
    assert missing.returncode == 1 and "contract: no contract numbered 'HT-NONE'" in missing.stderr


def test_stopping_ltc_app_stops_the_server(env):
    """`ltc app` becomes the Streamlit server (a browser walk found the server still on its port after the
    `ltc app` process was stopped), started with one port flag: the one asked for."""
    import signal
    import socket
    import urllib.request

    from tests.conftest import app_started

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(LTC + ["app", "--port", str(port)], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        assert app_started(f"http://127.0.0.1:{port}"), "the app did not start"
        with open(f"/proc/{proc.pid}/cmdline", "rb") as f:
            args = f.read().split(b"\0")
        assert b"streamlit" in args and [a for a in args if a.startswith(b"--server.port=")] == [
            f"--server.port={port}".encode()]
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_teams_users_delegates_and_a_scoped_export_from_the_command_line(env):
    assert run(["init"], env).returncode == 0
    for login, roles in (("boss", ["manager"]), ("amy", ["ar"]), ("bob", ["ar"])):
        assert run(["users", "add", login, *sum((["--role", r] for r in roles), [])], env).returncode == 0
    added = run(["teams", "add", "East", "--manager", "boss"], env)
    assert added.returncode == 0 and "team 'East' added, managed by boss" in added.stdout
    again = run(["teams", "add", " east "], env)
    assert again.returncode == 1 and "a team 'east' exists already" in again.stderr
    assert run(["users", "set", "amy", "--team", "East"], env).returncode == 0
    nobody = run(["users", "set", "bob", "--team", "West"], env)
    assert nobody.returncode == 1 and "no team 'West' (teams: East)" in nobody.stderr
    listed = run(["users", "list"], env).stdout
    assert any(line.split()[:3] == ["amy", "ar", "East"] for line in listed.splitlines())
    assert "manager boss" in run(["teams", "list"], env).stdout and "members amy" in run(["teams", "list"], env).stdout
    bad = run(["delegate", "boss", "--to", "amy", "--from", "2026-01-05", "--until", "2026-01-01"], env)
    assert bad.returncode == 1 and "ends_on" in bad.stderr
    mine = run(["export", "opportunities", "--format", "json", "--as", "boss"], env)
    assert mine.returncode == 0 and json.loads(mine.stdout) == []   # nothing in the team's scope yet
    refused = run(["export", "audit", "--as", "boss"], env)         # the trail spans everyone's records
    assert refused.returncode == 1 and "audit.view" in refused.stderr
