"""The web server `ltc app` starts: Streamlit (main.py) with the sign-in routes and their gate beside it
(app/signin.py). `streamlit run app/server.py` serves it; the tests run main.py alone under AppTest."""
from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware

from app.signin import ROUTES, SignInGate

app = st.App(Path(__file__).with_name("main.py"), routes=ROUTES, middleware=[Middleware(SignInGate)])
