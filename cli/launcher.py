"""Start Streamlit with the settings of the top-level streamlit_config.toml as command-line flags."""
from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

from core.errors import LtcError

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "streamlit_config.toml"
MAIN = ROOT / "app" / "main.py"
SERVER = ROOT / "app" / "server.py"    # main.py with the sign-in routes beside it


def streamlit_flags(path: Path = CONFIG) -> list[str]:
    """[server] port = 8501  ->  --server.port=8501"""
    if not path.exists():
        return []
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    flags = []
    for section, values in data.items():
        for key, value in values.items():
            if isinstance(value, bool):
                value = str(value).lower()
            flags.append(f"--{section}.{key}={value}")
    return flags


def prepare(demo_if_empty: bool) -> None:
    from core.db import migrate

    from cli.demo import database_is_empty, demo_incomplete, load_demo

    migrate()
    stopped = demo_incomplete()
    if stopped:   # a half-filled demo is never served as if it were the books
        raise LtcError("app: a demo load stopped after {done} and left the database half filled; run "
                       "ltc demo --reset to load it again (or restore a backup)", done=stopped)
    if demo_if_empty and database_is_empty():
        print("empty database: loading demo data (once)...", flush=True)
        load_demo(seed=1)


def run_app(*, demo_if_empty: bool = False, port: int | None = None) -> int:
    prepare(demo_if_empty)
    flags = [f for f in streamlit_flags() if not (port and f.startswith("--server.port="))]
    cmd = [sys.executable, "-m", "streamlit", "run", str(SERVER), *flags]
    if port:
        cmd.append(f"--server.port={port}")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    print(f"starting the app at http://localhost:{port or 8501}", flush=True)
    # this process becomes the server: stopping `ltc app` (a signal to its pid, as a service manager sends)
    # stops Streamlit, instead of leaving it running on the port
    os.chdir(ROOT)
    os.execve(sys.executable, cmd, env)
    return 0   # not reached
