"""Issue 11: an unexpected error reaches a person as an incident id, never as a traceback; the traceback is in
the incident log under that id (core/incidents.py), from the terminal and from the browser alike."""
from __future__ import annotations

import re

from core.incidents import log_path

INCIDENT = re.compile(r"incident ([0-9A-F]{8})")


def test_the_cli_tells_an_unexpected_error_by_its_incident_id(world, tmp_path, monkeypatch, capsys):
    from cli import main as cli

    def broken(args):
        raise RuntimeError("a defect deep inside")
    monkeypatch.setitem(cli.COMMANDS, "export", broken)
    assert cli.main(["export", "leads"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "a defect deep inside" not in err
    incident = INCIDENT.search(err).group(1)
    assert str(log_path()) in err
    logged = log_path().read_text(encoding="utf-8")
    assert f"incident {incident} in ltc export: RuntimeError: a defect deep inside" in logged
    assert "Traceback (most recent call last)" in logged


def test_a_page_tells_an_unexpected_error_by_its_incident_id(page, monkeypatch):
    from app.views import leads_inbox

    def broken(*args, **kwargs):
        raise ZeroDivisionError("inbox arithmetic")
    monkeypatch.setattr(leads_inbox, "show", broken)
    at = page("marketing", "screens/leads.py")
    assert not at.exception, at.exception                       # Streamlit shows no traceback
    said = " ".join(e.value for e in at.error)
    incident = INCIDENT.search(said).group(1)
    assert "inbox arithmetic" not in said
    logged = log_path().read_text(encoding="utf-8")
    assert f"incident {incident} in page leads: ZeroDivisionError: inbox arithmetic" in logged
