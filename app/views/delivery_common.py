"""What the delivery acceptance views share."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app import tables
from core import uploads, validate

# a date typed in any form reaches core, which refuses an implausible or future one with a message (the widget
# would drop a date outside its range silently)
MIN_DAY, MAX_DAY = validate.MIN_DAY, validate.MAX_DAY


def forget() -> None:
    """Drop the tables kept as the person saw them (after a change they are read again)."""
    for k in [k for k in st.session_state if str(k).startswith("delivery-seen-") or
              str(k).startswith("delivery-ms-editor-")]:
        del st.session_state[k]


def readable(df: pd.DataFrame) -> pd.DataFrame:
    """Milestones as people read them: a status in words (an edit table shows its cells as they are) and a
    certificate by its file name, never by where it is stored."""
    if "Status" in df.columns and not df.empty:
        df = df.assign(Status=df["Status"].map(tables.value))
    if "Certificate" in df.columns and not df.empty:
        df = df.assign(Certificate=[uploads.shown_name(r) for r in df["Certificate"]])
    return df


