"""Record history as people read it: newest first, on the company clock without UTC offsets, actions in words,
the record itself one click away, and an address (?entity=<table>&id=<n>) opening one record's history."""
from sqlmodel import select

from app import fmt
from core.context import SYSTEM, unit_of_work
from core.models import AuditEvent
from tests.app.conftest import texts

PAGE = "screens/history.py"


def _open(page, entity: str, rid: int, lang: str = "en"):
    at = page("leader", PAGE, lang)
    at.query_params["entity"] = entity
    at.query_params["id"] = str(rid)
    return at.run()


def _events(demo_url, entity, rid):
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        return [(e.at, e.action) for e in ctx.session.exec(
            select(AuditEvent).where(AuditEvent.entity == entity, AuditEvent.entity_id == rid)).all()]


def test_one_records_history_opens_from_its_address_newest_first_in_local_time(page, demo_url):
    events = _events(demo_url, "invoice", 1)
    assert len(events) >= 2
    at = _open(page, "invoice", 1)
    assert not at.exception
    df = at.dataframe[0].value
    assert len(df) == len(events)
    shown = [fmt.moment(w) for w in df["When"]]
    assert shown == sorted(shown, reverse=True)
    newest = max(events)[0]
    assert df["When"].iloc[0].tzinfo is None                      # no UTC offset on screen
    assert shown[0] == fmt.moment(newest)                         # the company clock, not UTC
    assert "invoice.issue" not in set(df["Action"]) and "Invoice issued" in set(df["Action"])
    links = [p for p in at.get("page_link") if "invoice=1" in p.proto.query_string]
    assert links and links[0].proto.page == "cash"


def test_payment_terms_link_to_the_term_and_chinese_has_no_codes(page, demo_url):
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        rid = ctx.session.exec(select(AuditEvent.entity_id).where(AuditEvent.entity == "paymentterm")).first()
    at = _open(page, "paymentterm", rid, "zh")
    assert not at.exception
    df = at.dataframe[0].value
    assert not any("." in str(a) and str(a).isascii() for a in df["Action"])
    assert any(f"term={rid}" in p.proto.query_string for p in at.get("page_link"))
    assert "+00:00" not in texts(at)


def test_recent_activity_is_in_words_and_a_row_opens_that_records_history(page):
    at = page("leader", PAGE, "zh")
    assert not at.exception
    df = at.dataframe[0].value
    assert not any("." in str(a) and str(a).isascii() for a in df["Action"])
    shown = [fmt.moment(w) for w in df["When"]]
    assert shown == sorted(shown, reverse=True)
    first = at.dataframe[0].value.iloc[0]
    at.session_state["history-recent"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert at.query_params.get("entity") and at.query_params.get("id")
    assert at.session_state["history-id"] == int(first["Record ID"])


def test_what_changed_is_said_in_chinese_fields_and_values_in_words(page):
    at = _open(page, "invoice", 1, "zh")
    assert not at.exception
    changes = " ".join(at.dataframe[0].value["Changes"])
    for raw in ("due_on", "status", "issued", "partly_paid", "None", "amount:"):
        assert raw not in changes, (raw, changes[:300])
    assert "到期日" in changes and "状态" in changes


def _one_history():
    from app import records

    records.history("invoice", 1, key="h")


def test_every_pages_record_history_is_worded_too(demo_url):
    from streamlit.testing.v1 import AppTest

    from core.services import users
    from tests.app.conftest import TIMEOUT

    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        leader = users.actor(ctx, "leader")
    at = AppTest.from_function(_one_history, default_timeout=TIMEOUT)
    at.session_state["actor"], at.session_state["lang"] = leader, "zh"
    at.run()
    assert not at.exception
    df = at.dataframe[0].value
    changes = " ".join(df["Changes"])
    assert "状态" in changes and "status" not in changes and "partly_paid" not in changes
    assert not any("." in str(a) and str(a).isascii() for a in df["Action"])


def test_recent_activity_links_each_event_to_its_record(page):
    at = page("leader", PAGE)
    df = at.dataframe[0].value
    rows = df[df["Record"].str.startswith("Invoice ")]
    assert not rows.empty
    first = rows.iloc[0]
    assert first["Open"] == f"cash?invoice={int(first['Record ID'])}"


def test_rates_and_plans_in_a_history_are_said_as_people_read_them():
    """The walk read 'percent: — → 0.300000' and a change order's plan as raw JSON."""
    import pandas as pd

    from app import records

    df = pd.DataFrame([{"Changes": [("percent", None, "0.300000"), ("tax_rate", "0.060000", "0.130000"),
                                    ("new_terms_json", None, '[{"name": "Rest"}, {"name": "All"}]')]}])
    said = records.said(df)["Changes"][0]
    assert "30.0%" in said and "6.0%" in said and "13.0%" in said
    assert "a plan of 2 lines" in said and "{" not in said
