"""A corpus of hostile titles, urls, outlet names and texts (Markdown images, HTML, javascript:
links, a ``)`` in a url) trained and opened in the dashboard: every page renders it as text, and
no request leaves for a host other than the dashboard's own (Playwright request interception on
the whole browser context). Skipped where Playwright or a system Chromium is missing."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import polars as pl
import pytest

from tests.browser import (
    browser_unavailable_reason,
    launch_chromium,
    loopback_only,
    open_page,
    select_option,
    serve_dashboard,
    wait_for_chart,
)
from tests.conftest import SEEDS

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
_REASON = browser_unavailable_reason()
TRACKER = "tracker.example"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(_REASON is not None, reason=_REASON or ""),
]

TITLES = [
    f"![pixel](http://{TRACKER}/title.png) Munition wird knapp",
    f"<img src='http://{TRACKER}/img.png'> Gegenoffensive",
    "[klick mich](javascript:alert(1)) Verhandlungen",
    f"<script src='http://{TRACKER}/s.js'></script> NATO",
    f":material/warning: **fett** <iframe src='http://{TRACKER}/frame'></iframe>",
    f"<a href='http://{TRACKER}/a'>Link</a> ![](https://{TRACKER}/x.svg)",
]
URLS = [
    f"http://{TRACKER}/a)(http://{TRACKER}/b.png",
    "javascript:alert(document.cookie)",
    f"data:text/html,<img src=http://{TRACKER}/d.png>",
    f"https://{TRACKER}/article?id=1&x=<img src=x>",
    None,
]
OUTLETS = [f"![o](http://{TRACKER}/outlet.png)", "<b>RT DE</b>", "WELT [x](javascript:1)"]


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replaces conftest's offline guard here: loopback stays reachable for the test's own
    server."""
    loopback_only(monkeypatch)


def _hostile_corpus(path: Path) -> Path:
    """The seed articles cut into paragraphs, each an article with hostile metadata."""
    rows = []
    for file in sorted(SEEDS.glob("*.txt")):
        paragraphs = [p for p in re.split(r"\n\s*\n", file.read_text("utf-8")) if len(p) > 80]
        for paragraph in paragraphs:
            i = len(rows)
            rows.append(
                {
                    "doc_id": f"h-{i}",
                    "date": f"{2022 + i % 3}-{1 + i % 12:02d}-15",
                    "source": OUTLETS[i % len(OUTLETS)],
                    "title": TITLES[i % len(TITLES)],
                    "url": URLS[i % len(URLS)],
                    "text": f"![x](http://{TRACKER}/text-{i}.png) <img src=http://{TRACKER}/t.png> "
                    + paragraph,
                }
            )
    pl.DataFrame(rows).write_ndjson(path)
    return path


def test_hostile_corpus_sends_no_request_off_host(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from narratives.config import TrainConfig
    from narratives.pipeline import train

    ARTIFACTS.mkdir(exist_ok=True)
    models = tmp_path / "models"
    corpus = _hostile_corpus(tmp_path / "hostile.jsonl")
    config = TrainConfig(cache_dir=str(tmp_path / "cache"))
    run = train(corpus, config, run_name="hostile", models_dir=models, progress=False, log=None)
    doc_ids = pl.read_parquet(run.run_path / "documents.parquet")["doc_id"].to_list()

    off_host: list[str] = []
    with serve_dashboard(run.run_path, models) as url, sync_playwright() as playwright:
        own = urlparse(url).netloc
        browser = launch_chromium(playwright)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})

            def guard(route) -> None:
                target = urlparse(route.request.url)
                if target.scheme in ("http", "https", "ws", "wss") and target.netloc != own:
                    off_host.append(route.request.url)
                    route.abort()
                    return
                route.continue_()

            context.route("**/*", guard)
            context.on(
                "request",
                lambda request: (
                    off_host.append(request.url)
                    if urlparse(request.url).scheme in ("http", "https")
                    and urlparse(request.url).netloc != own
                    else None
                ),
            )
            page = context.new_page()
            page.set_default_timeout(30_000)
            page.goto(url)
            wait_for_chart(page)
            page.screenshot(path=ARTIFACTS / "hostile-overview.png", full_page=True)
            for title in ("Narrative", "Outlets", "Compare"):
                open_page(page, title)
                page.wait_for_timeout(1500)
                page.screenshot(path=ARTIFACTS / f"hostile-{title.lower()}.png", full_page=True)
            open_page(page, "Documents")
            for doc_id in doc_ids[: len(TITLES)]:
                select_option(page, "Article", doc_id)
                page.wait_for_timeout(800)
            page.screenshot(path=ARTIFACTS / "hostile-documents.png", full_page=True)
            body = page.locator("body").inner_text()
            links = page.eval_on_selector_all("a[href]", "els => els.map((e) => e.href)")
            images = page.eval_on_selector_all("img[src]", "els => els.map((e) => e.src)")
        finally:
            browser.close()

    assert off_host == [], f"requests left for other hosts: {sorted(set(off_host))}"
    assert not [link for link in links if link.lower().startswith(("javascript:", "data:"))]
    assert not [src for src in images if TRACKER in src]
    assert "Gegenoffensive" in body or "Munition" in body, "the hostile titles render as text"
