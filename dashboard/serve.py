"""Serve the dashboard: Streamlit's server in this process, launched by `narratives dashboard`.

While the browser downloads Streamlit's page, a background thread imports what the first page
needs (polars, Plotly's figure classes, the dashboard's queries) and computes the
Overview's first view of the run it will open into the caches, so the first script run pays for
neither.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path

APP = Path(__file__).resolve().with_name("app.py")
SERVER_FLAGS = {
    "--server.headless": "true",
    "--browser.gatherUsageStats": "false",
    "--server.fileWatcherType": "none",
    "--client.toolbarMode": "viewer",
}
RUNTIME_WAIT_S = 30.0
"""How long the warm-up waits for Streamlit's runtime (whose caches it fills) to exist."""

_LOG = logging.getLogger(__name__)


def warm_up(app_args: list[str] | None = None) -> None:
    """Import the first page's modules and build one figure (Plotly validates lazily); with
    ``app_args`` (the app's ``--run`` / ``--models-dir``), also prefetch that run's Overview.
    Not pandas: Plotly looks it up in ``sys.modules`` while it serialises a figure, and a
    half-imported pandas there breaks the page that draws the chart meanwhile."""
    import plotly.graph_objects as go
    import streamlit.emojis  # noqa: F401  (the page icon is looked up in it)
    from narratives_dashboard import charts, data, state  # noqa: F401

    go.Figure(go.Scatter(x=[0], y=[0])).to_json()
    if app_args is not None:
        prefetch(app_args)


def prefetch(app_args: list[str]) -> None:
    """Fill Streamlit's caches with the Overview's first view of the run the app opens first,
    once Streamlit's runtime (which owns the caches) exists. A failure is left to the page,
    which runs the same queries and shows the error."""
    from narratives_dashboard import data, state
    from streamlit import runtime

    deadline = time.monotonic() + RUNTIME_WAIT_S
    while not runtime.exists():
        if time.monotonic() > deadline:
            return
        time.sleep(0.02)
    _check_repl_once()
    try:
        args = state.app_args(app_args)
        state.runs_in(args.models_dir)
        path = state.default_run(args)
        if path is not None and (path / "run.json").exists():
            state.prefetch_overview(data.run_key(path))
    except Exception as exc:  # the page reports it; a warm-up never stops the server
        _LOG.debug("dashboard prefetch skipped: %s", exc)


def _check_repl_once() -> None:
    """Streamlit checks once per process, on the first element a page draws, whether it runs in
    a REPL, by walking the stack with ``inspect.stack()`` (a tenth of a second and more with
    many modules loaded); done here, the first page does not wait for it. Once the runtime
    exists the check prints nothing; a Streamlit without this private hook skips it."""
    from streamlit import delta_generator

    check = getattr(delta_generator, "_maybe_print_use_warning", None)
    if callable(check):
        check()


def serve(app_args: list[str], *, port: int, host: str) -> None:
    """Run Streamlit's server on the dashboard (blocks until Ctrl+C; exits the process)."""
    from streamlit.web import cli as streamlit_cli

    threading.Thread(
        target=warm_up, args=(app_args,), name="dashboard-warm-up", daemon=True
    ).start()
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
