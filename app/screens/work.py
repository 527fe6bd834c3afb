"""My work (我的待办): what waits on the signed-in person, each item linked to its record's address (the record's
page opens it selected: `records.link`), numbers, dates and people as people read them."""
import pandas as pd
import streamlit as st

from app import fmt, forms, records, tables, ui
from core.queries.work import LISTS, my_work
from core.services import delegations

SHOWN = 25   # links per list; the rest are in a table below it

# which record each list's item names: (kind, item key) — the kind is the address's parameter
LIST_RECORD = {"to_sign": ("contract", "contract_id"), "bids_due": ("bid", "id"),
               "milestones": ("milestone", "milestone_id"), "terms_to_invoice": ("term", "term_id"),
               "retention_due": ("contract", "contract_id"),
               "overdue_invoices": ("invoice", "invoice_id"),
               "holds": ("opportunity", "opportunity_id")}
# the tab of its record an item opens (?tab=): a contract's ATC, a change order's Changes
LIST_TAB = {"to_sign": "atc"}
SUBJECT_TAB = {"contract": "atc", "change_order": "changes"}
# a decision's subject -> the record opened (a change order is decided on its contract)
SUBJECT_RECORD = {"opportunity": ("opportunity", "subject_id"), "bid": ("bid", "subject_id"),
                  "contract": ("contract", "subject_id"), "change_order": ("contract", "contract_id"),
                  "invoice": ("invoice", "subject_id")}
# the columns of each list's full table: item key -> column (headers: work.col.<slug>)
COLUMNS = {
    "decisions": {"kind": "Kind", "subject": "Subject", "opportunity": "Opportunity",
                  "requested_on": "Requested on", "requested_by_name": "Requested by", "on_behalf_of": "On behalf of"},
    "to_sign": {"contract": "Contract", "name": "Name", "account": "Customer", "amount": "Amount"},
    "bids_due": {"title": "Bid", "opportunity": "Opportunity", "deadline": "Deadline", "days_left": "Days left"},
    "milestones": {"name": "Milestone", "contract": "Contract", "opportunity": "Opportunity", "due_on": "Due on",
                   "days_late": "Days late"},
    "terms_to_invoice": {"name": "Term", "contract": "Contract", "account": "Customer",
                         "open_amount": "Not invoiced", "released_on": "Released on"},
    "retention_due": {"contract": "Contract", "account": "Customer", "term": "Term", "amount": "Retention",
                      "ends_on": "Warranty ends", "days_left": "Days left"},
    "overdue_invoices": {"number": "Invoice", "account": "Customer", "outstanding": "Outstanding",
                         "due_on": "Due on", "days_overdue": "Days overdue"},
    "holds": {"opportunity": "Opportunity", "account": "Customer", "review_on": "Review on",
              "days_past": "Days past"},
}
MONEY = ("Not invoiced", "Outstanding", "Amount", "Retention")
_MD = str.maketrans({c: "\\" + c for c in "\\`*_[]<>~$|#"})


def _md(value) -> str:
    """Record names go into Markdown labels: show them as typed."""
    return fmt.text(value).translate(_MD)


def _where(name, shown) -> str:
    """' (name)' after a label, unless the label already says it ('Tender Suzhou Semicon (Suzhou Semicon)')."""
    return f" ({_md(name)})" if name and str(name) not in str(shown) else ""


def _label(name: str, item: dict) -> str:
    t, day, n = ui.t, fmt.day, fmt.number
    if name == "decisions":
        where = _where(item["opportunity"], item["subject"])
        line = t("work.item.decision", kind=t(f"work.kind.{item['kind']}"), subject=_md(item["subject"]),
                 where=where, on=day(item["requested_on"]), by=_md(item.get("requested_by_name")))
        return line + (t("work.item.for_whom", name=_md(item["on_behalf_of"])) if item.get("on_behalf_of") else "")
    if name == "to_sign":
        return t("work.item.to_sign", contract=_md(item["contract"]), name=_md(item["name"]),
                 account=_md(item["account"]), amount=fmt.money(item["amount"]))
    if name == "bids_due":
        return t("work.item.bid", title=_md(item["title"]), where=_where(item["opportunity"], item["title"]),
                 deadline=day(item["deadline"]), days=n(item["days_left"]))
    if name == "milestones":
        return t("work.item.milestone", name=_md(item["name"]), contract=_md(item["contract"]),
                 opportunity=_md(item["opportunity"]), due=day(item["due_on"]), days=n(item["days_late"]))
    if name == "terms_to_invoice":
        return t("work.item.term", name=_md(item["name"]), contract=_md(item["contract"]),
                 account=_md(item["account"]), amount=fmt.money(item["open_amount"]), released=day(item["released_on"]))
    if name == "retention_due":   # a warranty already ended: its retention awaits the nightly run's release
        key = "work.item.retention" if item["days_left"] >= 0 else "work.item.retention_ended"
        return t(key, term=_md(item["term"]), contract=_md(item["contract"]),
                 account=_md(item["account"]), amount=fmt.money(item["amount"]), ends=day(item["ends_on"]),
                 days=n(abs(item["days_left"])))
    if name == "overdue_invoices":
        return t("work.item.invoice", number=_md(item["number"]), account=_md(item["account"]),
                 amount=fmt.money(item["outstanding"]), days=n(item["days_overdue"]))
    where = _where(item["account"], item["opportunity"])
    return t("work.item.hold", opportunity=_md(item["opportunity"]), where=where, review=day(item["review_on"]),
             days=n(item["days_past"]))


def record_of(name: str, item: dict) -> tuple[str, int, str | None] | None:
    """The record an item opens and the tab it opens on: (kind, id, tab), or None when it names none."""
    decision = name == "decisions"
    found = SUBJECT_RECORD.get(item["subject_type"]) if decision else LIST_RECORD[name]
    if found is None or not item.get(found[1]):
        return None
    return found[0], int(item[found[1]]), SUBJECT_TAB.get(item["subject_type"]) if decision else LIST_TAB.get(name)


def full_table(name: str, items: list[dict]) -> pd.DataFrame:
    cols = COLUMNS[name]
    df = pd.DataFrame([{col: item.get(k) for k, col in cols.items()} for item in items], columns=list(cols.values()))
    if name == "decisions":
        df["Kind"] = [ui.t(f"work.kind.{k}") for k in df["Kind"]]
    return df


who = ui.guard("work.view")
st.title(ui.t("page.work"))
ui.flash()
work = ui.read(my_work)

ui.tiles(((ui.t(f"work.{name}"), fmt.number(len(work[name]))) for name in LISTS), per_row=4)
if not any(work.values()):
    st.success(ui.t("work.all_clear"))


def away() -> None:
    """A person away names who takes their approval steps for dates; the delegations given or held."""
    given = ui.read(delegations.delegations)
    # open again after a save (its count in the label changed, which would close it): its message shows
    reopen = st.session_state.pop("work-away-open", False)
    with st.expander(ui.t("work.away", n=fmt.number(len(given))), expanded=reopen):
        st.caption(ui.t("work.away_hint"))
        people = ui.read(delegations.delegate_candidates)
        labels = {"delegate": ui.t("work.delegate"), "starts_on": ui.t("work.from"), "ends_on": ui.t("work.until"),
                  "reason": ui.t("work.reason")}
        with forms.once_form("work-away") as f:
            c1, c2, c3 = st.columns([2, 1, 1])
            delegate = c1.selectbox(labels["delegate"], list(people), index=None, key=f.key("delegate"),
                                    format_func=lambda lg: f"{people[lg]} ({lg})", placeholder=ui.t("record.choose"))
            starts = c2.date_input(labels["starts_on"], value=None, key=f.key("from"), format="YYYY-MM-DD")
            ends = c3.date_input(labels["ends_on"], value=None, key=f.key("until"), format="YYYY-MM-DD")
            reason = st.text_input(labels["reason"], key=f.key("reason"), max_chars=500)
            if st.form_submit_button(ui.t("work.name_delegate"), key=f.key("submit")):
                if f.submit(delegations.name_delegate, delegate or "", starts_on=starts, ends_on=ends, reason=reason,
                            labels=labels, success=ui.t("work.delegated")):
                    st.session_state["work-away-open"] = True
                    st.rerun()
        for d in given:
            line = ui.t("work.delegation", person=_md(d["Person"]), delegate=_md(d["Delegate"]),
                        start=fmt.day(d["From"]), end=fmt.day(d["Until"]))
            line += f" — {_md(d['Reason'])}" if d["Reason"] else ""
            c1, c2 = st.columns([5, 1])
            c1.markdown(("● " if d["In effect"] else "○ ") + line)
            if d["Mine"] and c2.button(ui.t("work.revoke"), key=f"work-revoke-{d['ID']}"):
                if ui.act(delegations.revoke_delegation, d["ID"], success=ui.t("work.revoked"), where="work-away"):
                    st.session_state["work-away-open"] = True
                    st.rerun()


for name in LISTS:
    items = work[name]
    if not items:
        continue
    st.subheader(f"{ui.t(f'work.{name}')} ({fmt.number(len(items))})")
    for item in items[:SHOWN]:
        label, target = _label(name, item), record_of(name, item)
        if target:
            kind, record_id, tab = target
            records.link(kind, record_id, label, tab=tab)
        else:
            st.markdown(label)
    if len(items) > SHOWN:
        st.caption(ui.t("work.more", n=fmt.number(len(items) - SHOWN)))
        with st.expander(ui.t("work.all", n=fmt.number(len(items)))):
            tables.table(full_table(name, items), "work", key=f"work-table-{name}", money=MONEY,
                         download=f"work-{name}")

away()
