"""Helpers to drive the dashboard in a real browser: a Streamlit server and a headless Chromium.

Not a test module. ``tests/test_dashboard_browser.py`` and ``benchmarks/dashboard.py`` use it:

    with serve_dashboard(run_path, models_dir) as url, sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page()
        page.goto(url)

The browser is the system Chromium (Debian's ``chromium`` package, or ``$NARRATIVES_CHROMIUM``):
Playwright's own browser download is never used, so everything runs offline.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "dashboard" / "app.py"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def chromium_path() -> str | None:
    """The system Chromium: ``$NARRATIVES_CHROMIUM``, /usr/bin/chromium, or ``chromium`` on PATH."""
    for candidate in (os.environ.get("NARRATIVES_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")


def browser_unavailable_reason() -> str | None:
    """Why a browser test cannot run here, or None when it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    if chromium_path() is None:
        return "no Chromium at /usr/bin/chromium (apt-get install chromium) or $NARRATIVES_CHROMIUM"
    return None


def chromium_available() -> bool:
    """Whether Playwright and a system Chromium are both present."""
    return browser_unavailable_reason() is None


def launch_chromium(playwright, **kwargs):
    """A headless system Chromium through Playwright (no browser download, no sandbox, no GPU)."""
    executable = chromium_path()
    if executable is None:
        raise RuntimeError(browser_unavailable_reason())
    return playwright.chromium.launch(
        executable_path=executable, headless=True, args=CHROMIUM_ARGS, **kwargs
    )


def loopback_only(monkeypatch) -> None:
    """Let sockets reach loopback alone (a browser test talks to its own Streamlit server);
    any other outbound connection fails loudly, as conftest's offline guard makes it."""
    connect = socket.socket.connect

    def guarded(self, address, *args, **kwargs):
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1", "localhost"):
            raise OSError("network access is disabled in tests (loopback only)")
        return connect(self, address, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Dashboard:
    """``narratives dashboard RUN --models-dir DIR`` (or ``streamlit run APP``) as a child process.

    ``start()`` returns at once (``started_at`` is the ``time.perf_counter()`` of the launch);
    ``wait_ready()`` waits for the server's health endpoint; ``stop()`` ends its process group.
    The server's output goes to temporary files, quoted when it fails to come up.
    """

    def __init__(
        self,
        run: Path | str,
        models_dir: Path | str,
        port: int | None = None,
        *,
        app: Path | str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.run = str(run)
        self.models_dir = str(models_dir)
        self.port = port or free_port()
        self.app = str(app or APP)
        self.env = env or {}
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.started_at = 0.0
        self._logs = tempfile.TemporaryDirectory(prefix="dashboard-server-")
        self._stdout_path = Path(self._logs.name) / "stdout.log"
        self._stderr_path = Path(self._logs.name) / "stderr.log"

    @property
    def command(self) -> list[str]:
        """What a user runs: `narratives dashboard RUN`; `streamlit run APP` for another app."""
        if Path(self.app).resolve() == Path(APP).resolve():
            return [
                sys.executable,
                "-m",
                "narratives.cli",
                "dashboard",
                self.run,
                "--port",
                str(self.port),
                "--host",
                "127.0.0.1",
                "--models-dir",
                self.models_dir,
            ]
        return [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            self.app,
            "--server.headless",
            "true",
            "--server.port",
            str(self.port),
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
            "--",
            "--run",
            self.run,
            "--models-dir",
            self.models_dir,
        ]

    def start(self) -> Dashboard:
        env = {
            **os.environ,
            "NARRATIVES_MODELS_DIR": self.models_dir,
            "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
            **self.env,
        }
        self.started_at = time.perf_counter()
        with open(self._stdout_path, "wb") as out, open(self._stderr_path, "wb") as err:
            self.process = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        return self

    def output(self, limit: int = 4000) -> str:
        """The tail of the server's stderr and stdout."""
        parts = []
        for name, path in (("stderr", self._stderr_path), ("stdout", self._stdout_path)):
            text = path.read_text(errors="replace") if path.exists() else ""
            parts.append(f"--- server {name} ---\n{text[-limit:]}")
        return "\n".join(parts)

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Wait until ``/_stcore/health`` answers ``ok``; returns seconds since the launch."""
        assert self.process is not None, "start() first"
        deadline = time.monotonic() + timeout
        health = f"{self.url}/_stcore/health"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the dashboard server exited with code {self.process.returncode} before it "
                    f"was ready: {' '.join(self.command)}\n{self.output()}"
                )
            try:
                with urllib.request.urlopen(health, timeout=2) as response:
                    if response.status == 200 and response.read().strip() == b"ok":
                        return time.perf_counter() - self.started_at
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError(
            f"the dashboard server did not answer {health} within {timeout:.0f} s: "
            f"{' '.join(self.command)}\n{self.output()}"
        )

    def peak_rss_mb(self) -> float | None:
        """The server process's peak resident memory in MiB, read while it runs.

        Linux: ``VmHWM`` of /proc/<pid>/status (the high-water mark). Elsewhere, psutil's current
        RSS when psutil is installed (a lower bound of the peak), else None.
        """
        if self.process is None or self.process.poll() is not None:
            return None
        status = Path(f"/proc/{self.process.pid}/status")
        with contextlib.suppress(OSError):
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
        try:
            import psutil
        except ImportError:
            return None
        return round(psutil.Process(self.process.pid).memory_info().rss / 2**20, 1)

    def stop(self) -> None:
        """End the server and everything it started (its process group)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._logs.cleanup()


@contextlib.contextmanager
def serve_dashboard(
    run: Path | str,
    models_dir: Path | str,
    port: int | None = None,
    *,
    timeout: float = 60.0,
    app: Path | str | None = None,
) -> Iterator[str]:
    """Serve the dashboard on ``run``; yields its URL once healthy; stops it on exit."""
    dashboard = Dashboard(run, models_dir, port, app=app).start()
    try:
        dashboard.wait_ready(timeout)
        yield dashboard.url
    finally:
        dashboard.stop()


# --- Driving the page (Streamlit's DOM as of streamlit 1.4x-1.6x) ---------------------------------

PLOTLY = '[data-testid="stPlotlyChart"]'
VEGA = '[data-testid="stVegaLiteChart"]'
CHART = f"{PLOTLY}, {VEGA}"
"""A chart of either kind: the Overview draws Vega-Lite, the other pages Plotly."""
TRACE_PATHS = (
    f"{PLOTLY} .main-svg g.trace path, {VEGA} g.mark-line path, {VEGA} g.mark-area path, "
    f"{VEGA} g.mark-symbol.role-mark path"
)
LEGEND_TEXTS = f"{PLOTLY} .legend .legendtext, {VEGA} g.role-legend-label text"
PANEL_TITLES = f"{PLOTLY} .annotation-text, {VEGA} g.role-title-text text"
_TRACE_SIGNATURE_JS = """
(selector) => Array.from(document.querySelectorAll(selector))
    .map((p) => p.getAttribute('d') || '').join('|')
"""


def wait_for_chart(page, timeout_ms: float = 60_000) -> None:
    """Wait until a chart (Plotly or Vega-Lite) is visible with at least one drawn trace path."""
    page.locator(CHART).first.wait_for(state="visible", timeout=timeout_ms)
    page.wait_for_function(
        "(selector) => Array.from(document.querySelectorAll(selector))"
        ".some((p) => (p.getAttribute('d') || '').length > 1)",
        arg=TRACE_PATHS,
        timeout=timeout_ms,
    )


def chart_signature(page) -> str:
    """The ``d`` attributes of every trace path: changes when the chart is redrawn with new data."""
    return page.evaluate(_TRACE_SIGNATURE_JS, TRACE_PATHS)


def wait_for_chart_change(page, before: str, timeout_ms: float = 60_000) -> None:
    """Wait until the chart shows traces that differ from ``before`` (a ``chart_signature``)."""
    page.wait_for_function(
        f"([selector, before]) => {{ const now = ({_TRACE_SIGNATURE_JS})(selector);"
        " return now.length > 0 && now !== before; }",
        arg=[TRACE_PATHS, before],
        timeout=timeout_ms,
    )


def selectbox(page, label: str):
    """The Streamlit selectbox whose label is ``label``."""
    return page.locator('[data-testid="stSelectbox"]').filter(
        has=page.get_by_text(label, exact=True)
    )


def select_option(page, label: str, option: str, timeout_ms: float = 30_000) -> None:
    """Open the selectbox labelled ``label`` and pick ``option``."""
    box = selectbox(page, label)
    box.wait_for(timeout=timeout_ms)
    combo = box.get_by_role("combobox")
    (combo.first if combo.count() else box).click()
    page.get_by_role("option", name=option, exact=True).click(timeout=timeout_ms)


def selectbox_options(page, label: str) -> list[str]:
    """The options of the selectbox labelled ``label`` (opens and closes it)."""
    box = selectbox(page, label)
    combo = box.get_by_role("combobox")
    (combo.first if combo.count() else box).click()
    options = page.get_by_role("option")
    options.first.wait_for()
    texts = [text.strip() for text in options.all_inner_texts()]
    page.keyboard.press("Escape")
    return texts


def open_page(page, title: str, timeout_ms: float = 30_000) -> None:
    """Click the sidebar navigation link titled ``title``."""
    link = page.locator('[data-testid="stSidebarNavLink"]').filter(
        has=page.get_by_text(title, exact=True)
    )
    link.first.click(timeout=timeout_ms)


def caption(page, prefix: str):
    """The caption (or any text block) starting with ``prefix``."""
    return page.get_by_text(re.compile("^" + re.escape(prefix))).first


_LEGEND_JS = """
(selector) => Array.from(document.querySelectorAll(selector))
    .map((t) => (t.textContent || '').trim()).filter((t) => t.length > 0)
"""


def legend_texts(page) -> list[str]:
    """The legend entries of the charts on the page, in order."""
    return page.evaluate(_LEGEND_JS, LEGEND_TEXTS)


_TITLES_JS = """
(selector) => Array.from(document.querySelectorAll(selector))
    .map((t) => (t.textContent || '').trim().replace(/…$/, '')).filter((t) => t.length > 0)
"""


def panel_titles(page) -> list[str]:
    """The panel titles of the charts (small multiples), ellipses dropped."""
    return page.evaluate(_TITLES_JS, PANEL_TITLES)


def wait_for_titles(page, predicate_js: str, arg, timeout_ms: float = 60_000) -> None:
    """Wait until ``predicate_js`` (a JS function of the panel titles and ``arg``) holds."""
    page.wait_for_function(
        f"([selector, arg]) => ({predicate_js})(({_TITLES_JS})(selector), arg)",
        arg=[PANEL_TITLES, arg],
        timeout=timeout_ms,
    )


def wait_for_legend(page, predicate_js: str, arg, timeout_ms: float = 60_000) -> None:
    """Wait until ``predicate_js`` (a JS function of the legend texts and ``arg``) holds."""
    page.wait_for_function(
        f"([selector, arg]) => ({predicate_js})(({_LEGEND_JS})(selector), arg)",
        arg=[LEGEND_TEXTS, arg],
        timeout=timeout_ms,
    )


def click_chart_point(page, index: int = 0, timeout_ms: float = 30_000) -> None:
    """Click the ``index``-th point of the Overview's series (its "points" layer)."""
    point = page.locator(f"{VEGA} g.points_marks path").nth(index)
    point.wait_for(state="visible", timeout=timeout_ms)
    box = point.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def toggle(page, label: str, timeout_ms: float = 30_000) -> None:
    """Flip the Streamlit toggle labelled ``label``."""
    page.locator('[data-testid="stCheckbox"]').filter(
        has=page.get_by_text(label, exact=True)
    ).first.locator("label").click(timeout=timeout_ms)


def click_button(page, name: str, timeout_ms: float = 30_000) -> None:
    """Click the first button called ``name``."""
    page.get_by_role("button", name=name, exact=True).first.click(timeout=timeout_ms)
