"""My work (我的待办): what waits on the signed-in person, each item linked to the page where it is done."""
import pandas as pd
import streamlit as st

from app import ui
from app.nav import pages_for
from core.queries.work import LISTS, my_work
from core.types import fmt_money

SHOWN = 25   # links per list; the rest are in a table below it

# where each kind of item is done, and which record the link names (query parameter, item key)
GATE_PAGE = {"ati": "pages/initiation.py", "atb": "pages/bids_contracts.py", "atc": "pages/bids_contracts.py",
             "change_order": "pages/bids_contracts.py", "write_off": "pages/cash.py", "closure": "pages/delivery.py"}
LIST_PAGE = {"bids_due": ("pages/bids_contracts.py", "bid", "id"),
             "milestones": ("pages/delivery.py", "milestone", "milestone_id"),
             "terms_to_invoice": ("pages/cash.py", "term", "term_id"),
             "overdue_invoices": ("pages/cash.py", "invoice", "invoice_id"),
             "holds": ("pages/initiation.py", "opportunity", "opportunity_id")}
_MD = str.maketrans({c: "\\" + c for c in "\\`*_[]<>~$|#"})


def _md(value) -> str:
    """Record names go into Markdown labels: show them as typed."""
    return str(value if value is not None else "").translate(_MD)


def _label(name: str, item: dict) -> str:
    t = ui.t
    if name == "decisions":
        kind = t(f"work.kind.{item['kind']}")
        where = f" ({_md(item['opportunity'])})" if item["opportunity"] and item["opportunity"] != item["subject"] \
            else ""
        return t("work.item.decision", kind=kind, subject=_md(item["subject"]), where=where,
                 on=item["requested_on"] or "", by=_md(item["requested_by"]))
    if name == "bids_due":
        return t("work.item.bid", title=_md(item["title"]), opportunity=_md(item["opportunity"]),
                 deadline=item["deadline"], days=item["days_left"])
    if name == "milestones":
        return t("work.item.milestone", name=_md(item["name"]), contract=_md(item["contract"]),
                 opportunity=_md(item["opportunity"]), due=item["due_on"], days=item["days_late"])
    if name == "terms_to_invoice":
        return t("work.item.term", name=_md(item["name"]), contract=_md(item["contract"]),
                 account=_md(item["account"]), amount=fmt_money(item["open_amount"]), released=item["released_on"])
    if name == "overdue_invoices":
        return t("work.item.invoice", number=_md(item["number"]), account=_md(item["account"]),
                 amount=fmt_money(item["outstanding"]), days=item["days_overdue"])
    where = f" ({_md(item['account'])})" if item["account"] != item["opportunity"] else ""
    return t("work.item.hold", opportunity=_md(item["opportunity"]), where=where, review=item["review_on"],
             days=item["days_past"])


def _target(name: str, item: dict) -> tuple[str, dict]:
    if name == "decisions":
        param = {"opportunity": "opportunity", "bid": "bid", "contract": "contract",
                 "change_order": "change_order", "invoice": "invoice"}.get(item["subject_type"], "id")
        return GATE_PAGE[item["kind"]], {param: str(item["subject_id"])}
    page, param, key = LIST_PAGE[name]
    return page, {param: str(item[key])}


who = ui.guard("work.view")
st.title(ui.t("page.work"))
ui.flash()
work = ui.read(my_work)
reachable = {p.path for p in pages_for(who.roles)}

for col, name in zip(st.columns(len(LISTS)), LISTS):
    col.metric(ui.t(f"work.{name}"), f"{len(work[name]):,}")
if not any(work.values()):
    st.success(ui.t("work.all_clear"))

for name in LISTS:
    items = work[name]
    if not items:
        continue
    st.subheader(f"{ui.t(f'work.{name}')} ({len(items):,})")
    for i, item in enumerate(items[:SHOWN]):
        label = _label(name, item)
        page, params = _target(name, item)
        if page in reachable:
            st.page_link(page, label=label, query_params=params, icon=":material/arrow_forward:")
        else:   # a page the person cannot open: name the item without a dead link
            st.markdown(label)
    if len(items) > SHOWN:
        st.caption(ui.t("work.more", n=len(items) - SHOWN))
        with st.expander(ui.t("work.all", n=len(items))):
            df = pd.DataFrame(items)
            st.dataframe(df, hide_index=True, width="stretch", key=f"work-table-{name}")
            ui.downloads(df, f"work-{name}", key=f"work-dl-{name}")
