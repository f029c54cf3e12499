"""The dashboard in a real browser: a Streamlit server on the seeds run, headless Chromium.

One scenario, a screenshot per step in tests/artifacts/ (git-ignored): the overview chart renders;
the "Outlet" filter changes the caption and the chart; the Narrative page, opened from the sidebar,
shows a narrative's label as its header; the overview's "Download table (CSV)" gives a CSV whose
header row names the table's columns. Skipped where Playwright or a system Chromium is missing.
"""

from __future__ import annotations

import socket
from pathlib import Path

import polars as pl
import pytest

from tests.browser import (
    browser_unavailable_reason,
    caption,
    chart_signature,
    launch_chromium,
    open_page,
    select_option,
    selectbox_options,
    serve_dashboard,
    wait_for_chart,
    wait_for_chart_change,
)

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
_REASON = browser_unavailable_reason()

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(_REASON is not None, reason=_REASON or ""),
]


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replaces conftest's ``_offline`` here: loopback stays reachable (the test talks to its own
    Streamlit server); any other outbound connection still fails loudly."""
    connect = socket.socket.connect

    def loopback_only(self, address, *args, **kwargs):
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1", "localhost"):
            raise OSError("network access is disabled in tests (loopback only)")
        return connect(self, address, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


def test_dashboard_in_browser(seeds_run: Path) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    topics = pl.read_parquet(seeds_run / "topics.parquet")
    labels = set(topics.filter(pl.col("topic_id") >= 0)["label"].to_list())
    outlets = sorted(pl.read_parquet(seeds_run / "documents.parquet")["source"].unique())

    with serve_dashboard(seeds_run, seeds_run.parent) as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
            page.set_default_timeout(30_000)
            page.goto(url)

            # 1. The overview: a Plotly chart with traces, and its caption.
            wait_for_chart(page)
            caption(page, "Showing: All outlets").wait_for()
            page.screenshot(path=ARTIFACTS / "1-overview.png", full_page=True)

            # 2. The outlet filter: the caption names the outlet and the chart is redrawn.
            options = selectbox_options(page, "Outlet")
            assert options[0] == "All outlets", options
            assert set(options[1:]) == set(outlets), (options, outlets)
            outlet = "RT DE" if "RT DE" in outlets else outlets[0]
            before = chart_signature(page)
            select_option(page, "Outlet", outlet)
            caption(page, f"Showing: {outlet}").wait_for()
            wait_for_chart_change(page, before)
            page.screenshot(path=ARTIFACTS / "2-overview-outlet.png", full_page=True)

            # 3. The CSV download of the overview's table: its first line is the header row.
            select_option(page, "Outlet", "All outlets")
            caption(page, "Showing: All outlets").wait_for()
            with page.expect_download() as download_info:
                page.get_by_role("button", name="Download table (CSV)").click()
            download = download_info.value
            saved = ARTIFACTS / (download.suggested_filename or "overview.csv")
            download.save_as(saved)
            header = saved.read_text(encoding="utf-8-sig").splitlines()[0]
            columns = [c.strip('"') for c in header.split(",")]
            assert {"period", "share"} <= set(columns), header
            assert not any(c.replace(".", "").replace("-", "").isdigit() for c in columns), header
            page.screenshot(path=ARTIFACTS / "3-overview-download.png", full_page=True)

            # 4. The Narrative page from the sidebar: the selected narrative's label as a header.
            open_page(page, "Narrative")
            page.locator('[data-testid="stSelectbox"]').filter(
                has=page.get_by_text("Narrative", exact=True)
            ).wait_for()
            headers = page.locator('[data-testid="stHeading"] h2, h2')
            page.wait_for_function(
                "(labels) => Array.from(document.querySelectorAll('h2'))"
                ".some((h) => labels.includes(h.innerText.trim()))",
                arg=sorted(labels),
            )
            shown = {t.strip() for t in headers.all_inner_texts()}
            assert shown & labels, (shown, labels)
            page.screenshot(path=ARTIFACTS / "4-narrative.png", full_page=True)
        finally:
            browser.close()
