"""Forms that act once. Each form shown carries a one-time key: its widgets are keyed by it and it goes to the
core service as the request key, so a double click, a browser retry or a rerun records one payment (core keeps
the key). After a success the form is shown anew, empty, under a new key: a late second click on the old
form has nothing left to submit. The message appears at the form and survives the rerun."""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import streamlit as st

from app import ui


class Once:
    """One showing of a form: `key(name)` keys its widgets, `submit(...)` runs its service once."""

    def __init__(self, name: str):
        self.name = name
        self.token = st.session_state.setdefault(f"once-{name}", uuid.uuid4().hex)

    def key(self, field: str) -> str:
        return f"{self.name}-{field}-{self.token[:8]}"

    def submit(self, fn: Callable, *args, success: str | Callable[[Any], str] | None = None,
               where: str | None = None, **kwargs) -> Any:
        """Run the service once for this showing; its messages go to the form (or to `where`, a place that
        outlives it, e.g. a record's heading when the success makes the form disappear)."""
        result = ui.act(fn, *args, success=success, where=where or self.name, request_key=self.token, **kwargs)
        if result:
            renew(self.name)
        return result


def renew(name: str) -> None:
    """Forget the form's key: the next run shows it empty under a new one."""
    st.session_state.pop(f"once-{name}", None)


@contextmanager
def once_form(name: str, title: str | None = None) -> Iterator[Once]:
    """`with once_form("cash-pay", title) as f:` a st.form keyed by its one-time key; its messages below it."""
    form = Once(name)
    with st.form(f"{name}-{form.token[:8]}"):
        if title:
            st.markdown(f"**{title}**")
        yield form
    ui.flash(name)


def decision_form(name: str, fn: Callable, subject_id: int, *, choices: dict[str, str], title: str,
                  success: Callable[[str], str], extra: Callable[[Once], dict] | None = None,
                  after: Callable[[], None] | None = None) -> None:
    """Approve / reject (or go / kill / hold) with a rationale: the decision form every gate uses."""
    with once_form(name, title) as f:
        decision = st.radio(ui.t("decision"), list(choices), horizontal=True, key=f.key("decision"),
                            format_func=choices.get)
        values = extra(f) if extra else {}
        rationale = st.text_area(ui.t("rationale"), key=f.key("rationale"), max_chars=ui.limit("rationale"))
        if st.form_submit_button(ui.t("decision.submit"), key=f.key("submit")):
            labels = {"rationale": ui.t("rationale"), "decision": ui.t("decision")}
            if f.submit(fn, subject_id, decision, rationale=rationale, success=success(decision), labels=labels,
                        **values) and after:
                after()


def offered(offers: dict, action: str) -> tuple[bool, str | None]:
    """(enabled, help) for the button of an action, from core's offers (core.queries.offers): a refused action
    is shown disabled with core's reason; one the person's roles do not have is not shown (None)."""
    offer = offers.get(action)
    if offer is None:
        return False, None
    return offer.allowed, (ui.words(offer.reason) if offer.reason else None)


def applies(offers: dict, action: str) -> bool:
    """Whether the action belongs to the record's present step (core's lifecycle says so): then the page shows
    it, enabled or disabled with core's reason; otherwise not at all."""
    offer = offers.get(action)
    return offer is not None and offer.applies


def action_button(offers: dict, action: str, label: str, *, key: str, where=st) -> bool:
    """A button for an action core offers; disabled when core refuses it now, with the reason beside it."""
    enabled, why = offered(offers, action)
    pressed = where.button(label, key=key, disabled=not enabled, help=why)
    if not enabled and why:
        where.caption(why)
    return pressed
