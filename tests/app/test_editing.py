"""Saving an edited table: rows matched by ID (not position), saved with the version the person saw, and a
stale save refused with a message naming who changed the record."""
import pandas as pd
from streamlit.testing.v1 import AppTest

from core.context import SYSTEM, unit_of_work
from core.models import User
from core.services import users
from tests.app.conftest import TIMEOUT


def _script():
    import streamlit as st

    from app import ui
    from core.services import users

    before = st.session_state["before"]
    after = st.session_state["after"]

    def save(ctx, user_id, version, changes):
        return users.update_user(ctx, user_id, version=version, name=changes["Name"])

    st.session_state["saved"] = ui.save_edits(before, after, save)


def _frame(demo_url):
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        rows = [ctx.session.get(User, i) for i in (1, 2, 3)]
        return pd.DataFrame([{"ID": u.id, "Version": u.version, "Name": u.name} for u in rows])


def _run(demo_url, before, after):
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        admin = users.actor(ctx, "admin")
    at = AppTest.from_function(_script, default_timeout=TIMEOUT)
    at.session_state["actor"] = admin
    at.session_state["before"], at.session_state["after"] = before, after
    return at.run()


def test_rows_matched_by_id_even_when_sorted(demo_url):
    before = _frame(demo_url)
    after = before.copy()
    after.loc[after["ID"] == 2, "Name"] = "Renamed"
    after = after.sort_values("ID", ascending=False).reset_index(drop=True)   # the person sorted the table
    at = _run(demo_url, before, after)
    assert at.session_state["saved"] == 1 and not at.error
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        assert ctx.session.get(User, 2).name == "Renamed"
        assert ctx.session.get(User, 3).name != "Renamed"


def test_stale_save_is_refused_naming_who_changed_it(demo_url):
    before = _frame(demo_url)
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:   # someone else saves user 2 meanwhile
        users.update_user(ctx, 2, name="Changed elsewhere")
    after = before.copy()
    after.loc[after["ID"] == 2, "Name"] = "Mine"
    at = _run(demo_url, before, after)
    assert at.session_state["saved"] == 0
    assert "stale" in at.error[0].value and "system" in at.error[0].value
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        assert ctx.session.get(User, 2).name == "Changed elsewhere"
