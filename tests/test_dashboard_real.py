"""The dashboard at a real size: a 3,000-headline slice of headlines_de (dozens of topics, many
outlets) trained and opened in Chromium. Every page renders a chart or a table, the named
narratives lead the Overview, no two texts of the Overview chart overlap (their boxes in the
chart's laid-out SVG: panel titles, axis labels, legend), and a screenshot of each page goes to
tests/artifacts/. Skipped where Playwright, a system Chromium or ../shared/corpora is missing."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tests.browser import (
    browser_unavailable_reason,
    launch_chromium,
    legend_texts,
    loopback_only,
    open_page,
    panel_titles,
    serve_dashboard,
    wait_for_chart,
)
from tests.conftest import shared_corpus

ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "real-size"
_REASON = browser_unavailable_reason()
PAGES = ("Narrative", "Outlets", "Documents", "Compare", "What's new")
SLICE = 3000

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(_REASON is not None, reason=_REASON or ""),
]

_TEXT_BOXES = """
() => Array.from(document.querySelectorAll('[data-testid="stVegaLiteChart"]'))
  .slice(0, 1)
  .flatMap((chart) => Array.from(chart.querySelectorAll('svg text')))
  .map((el) => { const r = el.getBoundingClientRect();
                 return {text: el.textContent, x0: r.left, y0: r.top, x1: r.right, y1: r.bottom}; })
  .filter((b) => b.text && b.x1 > b.x0)
"""


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replaces conftest's offline guard here: loopback stays reachable for the test's own
    server."""
    loopback_only(monkeypatch)


def _overlapping(boxes: list[dict]) -> list[tuple[str, str]]:
    """Pairs of text boxes that intersect by more than a pixel each way."""
    pairs = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            if min(a["x1"], b["x1"]) - max(a["x0"], b["x0"]) > 1 and (
                min(a["y1"], b["y1"]) - max(a["y0"], b["y0"]) > 1
            ):
                pairs.append((a["text"], b["text"]))
    return pairs


def test_every_page_at_real_size(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from narratives.config import TrainConfig
    from narratives.pipeline import train

    corpus = shared_corpus("headlines_de/headlines_de.jsonl")
    sliced = tmp_path / "slice.jsonl"
    documents = pl.read_ndjson(corpus).select("doc_id", "date", "source", "title", "text", "url")
    documents.sample(SLICE, seed=7).sort("date").write_ndjson(sliced)
    models = tmp_path / "models"
    config = TrainConfig(cache_dir=str(tmp_path / "cache"))
    run = train(sliced, config, run_name="slice", models_dir=models, progress=False, log=None)
    labels = pl.read_parquet(run.run_path / "narratives.parquet")["label_de"].to_list()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    with serve_dashboard(run.run_path, models) as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.set_default_timeout(60_000)
            page.goto(url)
            wait_for_chart(page)
            page.wait_for_timeout(1000)
            legend = legend_texts(page)
            titles = panel_titles(page)
            boxes = page.evaluate(_TEXT_BOXES)
            page.screenshot(path=ARTIFACTS / "overview.png", full_page=True)
            rendered = {}
            for title in PAGES:
                open_page(page, title)
                page.wait_for_timeout(2500)
                page.locator(
                    ".js-plotly-plot, [data-testid='stDataFrame'], [data-testid='stAlert']"
                ).first.wait_for(state="attached")
                rendered[title] = page.locator(
                    ".js-plotly-plot, [data-testid='stDataFrame']"
                ).count()
                page.screenshot(path=ARTIFACTS / f"{title.split()[0].lower()}.png", full_page=True)
        finally:
            browser.close()

    assert all(any(label.startswith(t) for t in titles) for label in labels), (titles, labels)
    assert len(boxes) > 3 * len(labels), boxes  # titles, axis labels and the legend were read
    assert not any(t.startswith("#") for t in legend + titles), "no discovered topic by default"
    assert _overlapping(boxes) == [], "texts of the overview chart overlap"
    missing = [title for title, n in rendered.items() if n == 0 and title != "What's new"]
    assert missing == [], f"pages without a chart or a table: {missing}"
