"""Serve the dashboard: Streamlit's server in this process, launched by `narratives dashboard`.

While the browser downloads Streamlit's page, a background thread imports what the first page
needs (polars, Plotly's figure classes, the dashboard's queries), so the first script run does
not pay for it.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

APP = Path(__file__).resolve().with_name("app.py")
SERVER_FLAGS = {
    "--server.headless": "true",
    "--browser.gatherUsageStats": "false",
    "--server.fileWatcherType": "none",
    "--client.toolbarMode": "viewer",
}


def warm_up() -> None:
    """Import the first page's modules and build one figure (Plotly validates lazily)."""
    import plotly.graph_objects as go
    from narratives_dashboard import charts, data, state  # noqa: F401

    go.Figure(go.Scatter(x=[0], y=[0])).to_json()


def serve(app_args: list[str], *, port: int, host: str) -> None:
    """Run Streamlit's server on the dashboard (blocks until Ctrl+C; exits the process)."""
    from streamlit.web import cli as streamlit_cli

    threading.Thread(target=warm_up, name="dashboard-warm-up", daemon=True).start()
    flags = {**SERVER_FLAGS, "--server.port": str(port), "--server.address": host}
    sys.argv = [
        "streamlit",
        "run",
        str(APP),
        *(item for pair in flags.items() for item in pair),
        "--",
        *app_args,
    ]
    streamlit_cli.main()
