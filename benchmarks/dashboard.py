"""Benchmark the dashboard in a real browser on synthetic runs of 1k, 100k and 1M passages.

Per size, the run comes from ``benchmarks/synthetic_run.py`` (built once, then reused from
``benchmarks/results/dashboard-runs/``). Each repetition starts a fresh Streamlit server (a cold
process, empty caches) and a fresh headless Chromium, and measures:

- **first chart**: from the server's launch to the overview's Plotly chart visible with traces,
  and from the page load (``page.goto``, the server ready) to the same;
- **outlet change**: from picking "RT DE" in the "Outlet" filter to the caption naming it and the
  chart redrawn with other traces (the first time: RT DE's data is not cached yet);
- **same change again**: back to "All outlets", then "RT DE" again (Streamlit's caches warm);
- **Documents page**: from the sidebar link to the search box and the unfiltered "Found ..."
  caption; **search**: type a word in "Search text", press Enter, until that caption changes;
- the server process's peak RSS (VmHWM) after all that, and the run's size on disk.

Server-side script time is measured apart with Streamlit's AppTest (no browser, no network), in a
fresh process per size: the first script run (imports and cold caches), a rerun (caches warm),
a rerun after ``st.cache_data.clear()`` / ``st.cache_resource.clear()`` (cold caches, warm
imports), and the outlet change cold and warm. That shows what the caching buys.

    python -m benchmarks.dashboard --out benchmarks/results/dashboard.json   # 1k, 100k, 1M; 3 each
    python -m benchmarks.dashboard --sizes 1000 100000 --repeats 5

``--runs PATH ...`` measures trained runs (a real corpus) instead of the synthetic ones, and
``--floor`` adds the floor: ``benchmarks/floor_app.py``, a Streamlit page with one small Plotly
chart and nothing else, served and opened the same way (fresh server, fresh browser), to tell
the dashboard's own cost from what Streamlit and Plotly take on this machine.

    python -m benchmarks.dashboard --sizes --runs models/headlines-de --floor --repeats 5

Figures are measured, not asserted. Needs Playwright and a system Chromium (see tests/browser.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.report import write_report
from benchmarks.synthetic_run import DEFAULT_MODELS_DIR, make_run, run_size_mb
from tests.browser import (
    APP,
    Dashboard,
    caption,
    chart_signature,
    launch_chromium,
    open_page,
    selectbox,
    wait_for_chart,
    wait_for_chart_change,
)

ROOT = Path(__file__).resolve().parents[1]
FLOOR_APP = ROOT / "benchmarks" / "floor_app.py"

OUTLET = "RT DE"
"""The outlet the filter change picks: in the synthetic runs, else the run's largest outlet."""


def outlet_of(run: Path) -> str:
    """OUTLET where the run has it, else its outlet with the most documents."""
    import polars as pl

    counts = pl.scan_parquet(run / "documents.parquet").group_by("source").len().collect()
    sources = counts.drop_nulls("source").sort("len", descending=True)["source"].to_list()
    return OUTLET if OUTLET in sources or not sources else sources[0]


TIMEOUT_MS = 300_000
BROWSER_METRICS = (
    ("server_ready_s", "server ready s"),
    ("first_chart_s", "first chart s"),
    ("first_chart_after_load_s", "first chart after page load s"),
    ("first_chart_cached_page_s", "first chart, page cached s"),
    ("outlet_change_s", "outlet change s"),
    ("outlet_change_again_s", "same change again s"),
    ("documents_open_s", "Documents page s"),
    ("search_s", "search s"),
    ("peak_rss_mb", "server peak RSS MB"),
)
_TEXTS_JS = """
(prefix) => Array.from(document.querySelectorAll(
    '[data-testid="stCaptionContainer"], [data-testid="stMarkdownContainer"]'))
    .map((e) => e.innerText.trim()).filter((t) => t.startsWith(prefix))
"""


def _texts(page, prefix: str) -> list[str]:
    return page.evaluate(_TEXTS_JS, prefix)


def _pick(page, label: str, option: str) -> float:
    """Open the selectbox, then time from the click on ``option``; returns the click's time."""
    box = selectbox(page, label)
    combo = box.get_by_role("combobox")
    (combo.first if combo.count() else box).click()
    choice = page.get_by_role("option", name=option, exact=True)
    choice.wait_for()
    start = time.perf_counter()
    choice.click()
    return start


def _change_outlet(page, outlet: str) -> float:
    """Seconds from picking ``outlet`` to its caption shown and the chart redrawn."""
    before = chart_signature(page)
    start = _pick(page, "Outlet", outlet)
    caption(page, f"Showing: {outlet}").wait_for(timeout=TIMEOUT_MS)
    wait_for_chart_change(page, before, timeout_ms=TIMEOUT_MS)
    return time.perf_counter() - start


def cold_first_chart(page, server: Dashboard) -> dict[str, float]:
    """Start ``server``, open its page in ``page`` and time the first chart: server ready, first
    chart from the launch and from the page load."""
    server.start()
    ready = server.wait_ready(timeout=TIMEOUT_MS / 1000)
    loading = time.perf_counter()
    page.goto(server.url)
    wait_for_chart(page, timeout_ms=TIMEOUT_MS)
    now = time.perf_counter()
    return {
        "server_ready_s": ready,
        "first_chart_s": now - server.started_at,
        "first_chart_after_load_s": now - loading,
    }


def browser_repetition(
    playwright, run: Path, models_dir: Path, search: str, app: Path | None
) -> dict:
    """One cold server and one fresh browser; the four timings and the server's peak memory."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    browser = launch_chromium(playwright)
    dashboard = Dashboard(run, models_dir, app=app)
    result: dict = {}
    page = None
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(TIMEOUT_MS)
        result |= cold_first_chart(page, dashboard)
        caption(page, "Showing: All outlets").wait_for()

        outlet = outlet_of(run)
        result["outlet_change_s"] = _change_outlet(page, outlet)
        result["outlet_back_s"] = _change_outlet(page, "All outlets")
        result["outlet_change_again_s"] = _change_outlet(page, outlet)

        start = time.perf_counter()
        open_page(page, "Documents")
        box = page.get_by_label("Search text")
        box.wait_for()
        with contextlib.suppress(PlaywrightTimeout):  # the unfiltered list, where there is one
            caption(page, "Found ").wait_for(timeout=60_000)
        result["documents_open_s"] = time.perf_counter() - start
        before = _texts(page, "Found ")
        box.fill(search)
        start = time.perf_counter()
        box.press("Enter")
        page.wait_for_function(
            f"([prefix, before]) => ({_TEXTS_JS})(prefix).some((t) => !before.includes(t))",
            arg=["Found ", before],
            timeout=TIMEOUT_MS,
        )
        result["search_s"] = time.perf_counter() - start
        found = [t for t in _texts(page, "Found ") if t not in before]
        result["found"] = found[0] if found else ""
        result["peak_rss_mb"] = dashboard.peak_rss_mb()

        # A second launch on the same port, in the same browser: Streamlit's page comes from the
        # browser's cache, as for a user who opened the dashboard before.
        dashboard.stop()
        dashboard = Dashboard(run, models_dir, port=dashboard.port, app=app)
        dashboard.start()
        dashboard.wait_ready(timeout=TIMEOUT_MS / 1000)
        page.goto(dashboard.url)
        wait_for_chart(page, timeout_ms=TIMEOUT_MS)
        result["first_chart_cached_page_s"] = time.perf_counter() - dashboard.started_at
    except Exception as exc:
        shot = DEFAULT_MODELS_DIR.parent / f"dashboard-failure-{run.name}.png"
        with contextlib.suppress(Exception):
            page.screenshot(path=shot, full_page=True)
        raise RuntimeError(
            f"{run.name}: {exc.__class__.__name__}: {exc}\n(screenshot: {shot})\n"
            f"{dashboard.output()}"
        ) from exc
    finally:
        dashboard.stop()
        browser.close()
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}


def measure_apptest(run: Path, models_dir: Path, app: Path) -> dict:
    """Server-side script time with AppTest: first run, cached rerun, rerun with caches cleared."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["NARRATIVES_RUN"] = str(run)
    os.environ["NARRATIVES_MODELS_DIR"] = str(models_dir)
    sys.argv = [str(app), "--run", str(run), "--models-dir", str(models_dir)]
    result: dict = {}

    def timed(at: AppTest) -> float:
        start = time.perf_counter()
        at.run()
        elapsed = time.perf_counter() - start
        if at.exception:
            raise RuntimeError(f"{app} raised: {at.exception[0].value}")
        return round(elapsed, 3)

    result["first_run_s"] = timed(AppTest.from_file(str(app), default_timeout=300))
    at = AppTest.from_file(str(app), default_timeout=300)
    result["rerun_cached_s"] = timed(at)

    def outlet_box():
        return next((box for box in at.selectbox if box.label == "Outlet"), None)

    outlet = outlet_of(run)
    if outlet_box() is not None:
        start = time.perf_counter()
        outlet_box().select(outlet).run()
        result["outlet_change_s"] = round(time.perf_counter() - start, 3)
        outlet_box().select("All outlets").run()
        start = time.perf_counter()
        outlet_box().select(outlet).run()
        result["outlet_change_again_s"] = round(time.perf_counter() - start, 3)
    st.cache_data.clear()
    st.cache_resource.clear()
    result["rerun_caches_cleared_s"] = timed(AppTest.from_file(str(app), default_timeout=300))
    return result


def _apptest_child(run: Path, models_dir: Path, app: Path) -> dict:
    command = [
        sys.executable,
        "-m",
        "benchmarks.dashboard",
        "--child-apptest",
        str(run),
        "--models-dir",
        str(models_dir),
        "--app",
        str(app),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "?"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _summary(reps: list[dict]) -> dict:
    summary = {}
    for key, _ in (*BROWSER_METRICS, ("outlet_back_s", "")):
        values = [r[key] for r in reps if r.get(key) is not None]
        if values:
            summary[key] = {
                "median": round(statistics.median(values), 3),
                "max": round(max(values), 3),
            }
    return summary


def floor_repetition(playwright, models_dir: Path) -> dict:
    """The one-chart page (FLOOR_APP): a fresh server and browser, its first chart timed."""
    browser = launch_chromium(playwright)
    server = Dashboard(models_dir, models_dir, app=FLOOR_APP)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        return {k: round(v, 3) for k, v in cold_first_chart(page, server).items()}
    finally:
        server.stop()
        browser.close()


def bench_floor(args: argparse.Namespace) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        reps = [floor_repetition(playwright, args.models_dir) for _ in range(args.repeats)]
    for rep in reps:
        print(f"  floor: {json.dumps(rep)}", file=sys.stderr)
    return {"floor": True, "repetitions": reps, "summary": _summary(reps)}


def bench_size(n_passages: int, args: argparse.Namespace) -> dict:
    start = time.perf_counter()
    run = make_run(args.models_dir, f"synthetic-{n_passages}", n_passages)
    print(
        f"{run.name}: ready in {time.perf_counter() - start:.1f} s, {run_size_mb(run)} MB",
        file=sys.stderr,
    )
    return bench_run(run, args.models_dir, args)


def bench_run(run: Path, models_dir: Path, args: argparse.Namespace) -> dict:
    """Every browser figure (``--repeats`` times) and the AppTest figures of one run."""
    from playwright.sync_api import sync_playwright

    record = json.loads((run / "run.json").read_text())
    reps = []
    with sync_playwright() as playwright:
        for i in range(args.repeats):
            reps.append(browser_repetition(playwright, run, models_dir, args.search, args.app))
            print(f"  browser {i + 1}/{args.repeats}: {json.dumps(reps[-1])}", file=sys.stderr)
    apptest = _apptest_child(run, models_dir, args.app or APP)
    print(f"  AppTest: {json.dumps(apptest)}", file=sys.stderr)
    return {
        "n_passages": record["metrics"]["n_passages"],
        "n_documents": record["metrics"]["n_documents"],
        "run": str(run),
        "run_size_mb": run_size_mb(run),
        "repetitions": reps,
        "summary": _summary(reps),
        "apptest": apptest,
    }


def to_markdown(results: list[dict]) -> str:
    def cell(res: dict, key: str) -> str:
        s = res["summary"].get(key)
        return f"{s['median']:g} / {s['max']:g}" if s else ""

    def app_cell(res: dict, key: str) -> str:
        value = res["apptest"].get(key)
        return "" if value is None else f"{value:g}"

    header = ["passages", "documents", "run MB"] + [label for _, label in BROWSER_METRICS]
    header += ["AppTest first run s", "AppTest rerun cached s", "AppTest caches cleared s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for res in results:
        if res.get("floor"):
            row = ["floor: one Plotly chart", "", ""]
            row += [cell(res, key) for key, _ in BROWSER_METRICS] + ["", "", ""]
            lines.append("| " + " | ".join(row) + " |")
            continue
        row = [f"{res['n_passages']:,}", f"{res['n_documents']:,}", f"{res['run_size_mb']:g}"]
        row += [cell(res, key) for key, _ in BROWSER_METRICS]
        row += [
            app_cell(res, k) for k in ("first_run_s", "rerun_cached_s", "rerun_caches_cleared_s")
        ]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    lines.append(
        "Browser figures: median / max over the repetitions, each a fresh server and browser."
    )
    for res in results:
        if "error" in res.get("apptest", {}):
            lines.append(f"- AppTest on {res['n_passages']:,}: {res['apptest']['error']}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="*",
        default=[1000, 100_000, 1_000_000],
        help="synthetic run sizes (none: only --runs)",
    )
    parser.add_argument("--runs", type=Path, nargs="*", default=[], help="trained runs to measure")
    parser.add_argument("--floor", action="store_true", help="also measure the one-chart page")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--search", default="Gegenoffensive", help="word for the Documents page")
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR)
    parser.add_argument("--app", type=Path, help="the Streamlit script (default dashboard/app.py)")
    parser.add_argument("--out", type=Path, help="write the results as JSON (and .md beside it)")
    parser.add_argument("--child-apptest", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_apptest:
        print(json.dumps(measure_apptest(args.child_apptest, args.models_dir, args.app or APP)))
        return
    results = [bench_size(n, args) for n in args.sizes]
    results += [bench_run(run.resolve(), run.resolve().parent, args) for run in args.runs]
    if args.floor:
        results.append(bench_floor(args))
    write_report(results, to_markdown(results), args.out)


if __name__ == "__main__":
    main()
