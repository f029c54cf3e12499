"""The dashboard in a real browser: a Streamlit server on the seeds run, headless Chromium.

One scenario on a copy of the seeds run in a temporary models directory, a screenshot per step in
tests/artifacts/ (git-ignored): the overview chart renders one panel per catalogued narrative,
and "Show discovered topics" adds the topics' panels; the "Outlet" filter changes the caption and
the chart; the overview's "Download table (CSV)" gives a CSV whose header row names the table's
columns; the Narrative page, opened from the sidebar, shows a catalogued narrative's label as its
header, and its first "Confirm" button records the decision in the models directory's
catalog.toml and says so. Skipped where Playwright or a system Chromium is missing.
"""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

import polars as pl
import pytest

from tests.browser import (
    browser_unavailable_reason,
    caption,
    chart_signature,
    click_button,
    click_chart_point,
    launch_chromium,
    loopback_only,
    open_page,
    panel_titles,
    select_option,
    selectbox_options,
    serve_dashboard,
    toggle,
    wait_for_chart,
    wait_for_chart_change,
    wait_for_titles,
)

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
_REASON = browser_unavailable_reason()

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(_REASON is not None, reason=_REASON or ""),
]


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replaces conftest's offline guard here: loopback stays reachable for the test's own
    server."""
    loopback_only(monkeypatch)


def overview_narratives_then_topics(page, labels: list[str]) -> None:
    """Step 1: the overview chart renders with its caption and one panel per catalogued
    narrative (titles shortened consistently), no topic among them. Step 2: "Show discovered
    topics" adds topics ("#0 keywords"), and flipping it back removes them."""
    wait_for_chart(page)
    caption(page, "Showing: All outlets").wait_for()
    wait_for_titles(
        page, "(texts, labels) => labels.every((l) => texts.some((t) => l.startsWith(t)))", labels
    )
    assert not any(t.startswith("#") for t in panel_titles(page)), panel_titles(page)
    page.screenshot(path=ARTIFACTS / "1-overview.png", full_page=True)
    toggle(page, "Show discovered topics")
    wait_for_titles(page, "(texts) => texts.some((t) => t.startsWith('#'))", None)
    page.screenshot(path=ARTIFACTS / "2-overview-topics.png", full_page=True)
    toggle(page, "Show discovered topics")
    wait_for_titles(page, "(texts) => !texts.some((t) => t.startsWith('#'))", None)


def click_lists_the_articles(page, labels: list[str]) -> None:
    """A click on a point of the chart lists the articles of that narrative and period."""
    click_chart_point(page, 3)
    page.get_by_text(re.compile(r"^\d+ articles in \d{4}-\d{2}")).first.wait_for()
    found = page.get_by_text(re.compile(r"^\d+ articles in ")).first.inner_text()
    assert any(label in found for label in labels), (found, labels)


def confirm_first_passage(page, models: Path, narrative_ids: list[str]) -> None:
    """On the Narrative page: "Confirm" on the first passage writes one [[feedback]] entry to
    the models directory's catalog.toml, and the page names that file."""
    click_button(page, "Confirm")
    caption(page, "Recorded: passage").wait_for()
    page.screenshot(path=ARTIFACTS / "6-narrative-confirmed.png", full_page=True)
    catalog = models / "catalog.toml"
    entries = tomllib.loads(catalog.read_text(encoding="utf-8"))["feedback"]
    assert len(entries) == 1 and entries[0]["carries"] is True, entries
    assert entries[0]["narrative"] in narrative_ids
    assert page.get_by_text(str(catalog)).count() >= 1


def test_dashboard_in_browser(seeds_run: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    models = tmp_path / "models"
    run = shutil.copytree(seeds_run, models / "seeds")
    narratives = pl.read_parquet(run / "narratives.parquet")
    labels = narratives["label_de"].to_list()
    outlets = sorted(pl.read_parquet(run / "documents.parquet")["source"].unique())

    with serve_dashboard(run, models) as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
            page.set_default_timeout(30_000)
            page.goto(url)

            # 1-2. The overview with the narratives, then the discovered topics beside them.
            overview_narratives_then_topics(page, labels)
            click_lists_the_articles(page, labels)

            # 3. The outlet filter: the caption names the outlet and the chart is redrawn.
            options = selectbox_options(page, "Outlet")
            assert options[0] == "All outlets", options
            assert set(options[1:]) == set(outlets), (options, outlets)
            outlet = "RT DE" if "RT DE" in outlets else outlets[0]
            before = chart_signature(page)
            select_option(page, "Outlet", outlet)
            caption(page, f"Showing: {outlet}").wait_for()
            wait_for_chart_change(page, before)
            page.screenshot(path=ARTIFACTS / "3-overview-outlet.png", full_page=True)

            # 4. The CSV download of the overview's table: its first line is the header row.
            select_option(page, "Outlet", "All outlets")
            caption(page, "Showing: All outlets").wait_for()
            with page.expect_download() as download_info:
                page.get_by_role("button", name="Download table (CSV)").click()
            download = download_info.value
            saved = ARTIFACTS / (download.suggested_filename or "overview.csv")
            download.save_as(saved)
            header = saved.read_text(encoding="utf-8-sig").splitlines()[0]
            columns = [c.strip('"') for c in header.split(",")]
            assert {"period", "share", "series"} <= set(columns), header
            assert not any(c.replace(".", "").replace("-", "").isdigit() for c in columns), header
            page.screenshot(path=ARTIFACTS / "4-overview-download.png", full_page=True)

            # 5. The Narrative page from the sidebar: a catalogued narrative's label as a header.
            open_page(page, "Narrative")
            page.locator('[data-testid="stSelectbox"]').filter(
                has=page.get_by_text("Narrative", exact=True)
            ).wait_for()
            headers = page.locator('[data-testid="stHeading"] h2, h2')
            page.wait_for_function(
                "(labels) => Array.from(document.querySelectorAll('h2'))"
                ".some((h) => labels.includes(h.innerText.trim()))",
                arg=labels,
            )
            shown = {t.strip() for t in headers.all_inner_texts()}
            assert shown & set(labels), (shown, labels)
            page.screenshot(path=ARTIFACTS / "5-narrative.png", full_page=True)

            # 6. Confirm the first passage: the page says where the decision went.
            confirm_first_passage(page, models, narratives["narrative_id"].to_list())
        finally:
            browser.close()
