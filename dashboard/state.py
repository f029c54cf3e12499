"""The dashboard's link to Streamlit: which run is open, caching, and the download buttons.

Caching, in two layers:
- ``st.cache_resource`` keeps each opened run (its tables, read once from Parquet) in the server
  process, shared by every session and never copied. The key is the run's path and the time its
  run.json last changed, so retraining or re-drifting a run is picked up on the next rerun.
- ``st.cache_data`` keeps the result of every query of ``narratives_dashboard.data``,
  ``.articles`` and ``.passages`` by its arguments (outlet, periods, series, search text...),
  so going back to a filter setting is a dictionary lookup, and a new setting computes only the
  small frame that view needs.
"""

from __future__ import annotations

import argparse
import copy
import functools
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import polars as pl
import streamlit as st
from narratives_dashboard import articles, data, figures, novelty, passages

from narratives.drift import ALL_SOURCES
from narratives.export import encode_table
from narratives.runs import Run, RunSummary, default_models_dir, load_run, scan_runs

RUN_KEY = "run_key"
FOCUS_SERIES = "focus_series"
FOCUS_PERIOD = "focus_period"
QUERY_MODULES = (data, articles, passages, novelty)
"""Where :func:`query` finds its functions: the public names (``__all__``) of these modules."""


def app_args(argv: list[str] | None = None) -> argparse.Namespace:
    """``--run`` and ``--models-dir`` given after ``streamlit run dashboard/app.py --``;
    ``$NARRATIVES_RUN`` and ``$NARRATIVES_MODELS_DIR`` otherwise."""
    parser = argparse.ArgumentParser(prog="dashboard/app.py", add_help=False, allow_abbrev=False)
    parser.add_argument("--run", default=os.environ.get("NARRATIVES_RUN") or None)
    parser.add_argument("--models-dir", type=Path, default=None)
    args, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    args.models_dir = args.models_dir or default_models_dir()
    return args


@st.cache_resource(max_entries=4, show_spinner="Opening the run…")
def open_run(path: str, stamp: int) -> Run:
    """A validated run; its tables are read on first use and kept (``stamp``: run.json mtime)."""
    return load_run(Path(path))


def current_key() -> tuple[str, int]:
    """The open run's cache key, set by app.py before any page runs."""
    return st.session_state[RUN_KEY]


def run() -> Run:
    """The run the user picked."""
    return open_run(*current_key())


def query_function(name: str) -> Callable[..., Any]:
    """The query called ``name`` in data.py, articles.py or passages.py."""
    for module in QUERY_MODULES:
        if name in module.__all__:
            return getattr(module, name)
    raise AttributeError(f"no dashboard query named {name!r}")


def _frozen(kwargs: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """Keyword arguments as a cache key: sorted, lists as tuples."""
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in kwargs.items()))


def _thawed(kwargs: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    """The keyword arguments of a cache key again, tuples as lists."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs}


@st.cache_data(max_entries=1024, show_spinner=False)
def _query(key: tuple[str, int], name: str, kwargs: tuple[tuple[str, Any], ...]) -> Any:
    return query_function(name)(open_run(*key), **_thawed(kwargs))


def query(name: str, **kwargs: Any) -> Any:
    """``<name>(run, **kwargs)`` of ``narratives_dashboard.data``, ``.articles`` or ``.passages``
    on the open run, cached by its arguments."""
    return query_run(current_key(), name, **kwargs)


def query_run(key: tuple[str, int], name: str, **kwargs: Any) -> Any:
    """Like :func:`query` on another run (the Compare page)."""
    return _query(key, name, _frozen(kwargs))


def _listing_stamp(models_dir: Path) -> tuple[tuple[str, tuple[tuple[str, int, int], ...]], ...]:
    """What changes when a run in ``models_dir`` appears, goes or is rewritten, even a file
    overwritten in place: each visible directory's name and its files' names, sizes and
    mtimes (stat calls only; a directory that vanishes meanwhile is left out)."""
    if not models_dir.is_dir():
        return ()
    stamps = []
    for path in sorted(models_dir.iterdir()):
        if path.name.startswith("."):
            continue
        try:
            if not path.is_dir():
                continue
            with os.scandir(path) as entries:
                found = [(e.name, e.stat()) for e in entries if e.is_file()]
            files = tuple(sorted((name, s.st_size, s.st_mtime_ns) for name, s in found))
        except FileNotFoundError:
            continue
        stamps.append((path.name, files))
    return tuple(stamps)


@st.cache_data(max_entries=8, show_spinner=False)
def _scan(models_dir: str, stamp: tuple) -> tuple[list[RunSummary], list[Path]]:
    return scan_runs(Path(models_dir))


def runs_in(models_dir: Path) -> tuple[list[RunSummary], list[Path]]:
    """``scan_runs`` of ``models_dir`` (complete runs newest first, and the broken ones), checked
    again only when a run directory or its run.json changes: checking every table's footer of
    every run on each rerun would cost the page a fifth of a second and more with many runs."""
    return _scan(str(models_dir), _listing_stamp(models_dir))


def default_run(args: argparse.Namespace) -> Path | None:
    """The run the dashboard opens first: the one given with ``--run`` (a path or a name in the
    models directory), else the newest complete run; None when there is none."""
    if args.run:
        return Path(args.run) if Path(args.run).is_dir() else args.models_dir / args.run
    runs, _ = runs_in(args.models_dir)
    return runs[0].path if runs else None


def overview_defaults(names: pl.DataFrame, periods: list, *, topics: bool) -> dict[str, Any]:
    """The Overview's filters before the user touches one: documents, all outlets, the default
    series, every period, one panel per series with its intervals, corrected shares."""
    return {
        "unit": next(iter(data.UNITS)),
        "source": ALL_SOURCES,
        "series": data.default_series(names, topics=topics),
        "start": periods[0] if periods else None,
        "end": periods[-1] if periods else None,
        "style": figures.PANELS,
        "intervals": True,
        "raw": False,
    }


def prefetch_overview(key: tuple[str, int]) -> None:
    """Compute the queries of the Overview's first view into the caches, with its defaults:
    the server runs this while the browser still loads Streamlit's page, so the first script
    run finds them cached (at a million passages they take seconds)."""
    card = query_run(key, "run_card")
    names = query_run(key, "series_names")
    periods = query_run(key, "periods")
    query_run(key, "view_sources")
    view = overview_defaults(names, periods, topics=not card.has_narratives)
    if not periods or not view["series"]:
        return
    window = {k: view[k] for k in ("source", "series", "start", "end")}
    query_run(key, "shares", unit=view["unit"], **window)
    query_run(key, "events", **window)
    figure_run(key, "overview_chart", **view)


@st.cache_resource(max_entries=64, show_spinner=False)
def _figure(key: tuple[str, int], name: str, kwargs: tuple[tuple[str, Any], ...]) -> Any:
    return getattr(figures, name)(open_run(*key), **_thawed(kwargs))


def figure(name: str, **kwargs: Any) -> Any:
    """``<name>(run, **kwargs)`` of ``narratives_dashboard.figures`` on the open run (a Plotly
    figure or a Vega-Lite spec), built once per argument set and kept as the object itself
    (never modified): a cached copy of a Plotly figure would be validated again on every rerun,
    which is what building it costs."""
    return figure_run(current_key(), name, **kwargs)


def figure_run(key: tuple[str, int], name: str, **kwargs: Any) -> Any:
    """Like :func:`figure` on the run of ``key``."""
    if name not in figures.__all__:
        raise AttributeError(f"no dashboard figure named {name!r}")
    return _figure(key, name, _frozen(kwargs))


def plot(figure: go.Figure, **kwargs: Any) -> Any:
    """``st.plotly_chart`` of a figure built by ``narratives_dashboard.charts``, drawn with its
    own template (charts.TEMPLATE) instead of Streamlit's theme."""
    return st.plotly_chart(figure, theme=None, **kwargs)


def vega(spec: dict, **kwargs: Any) -> Any:
    """``st.vega_lite_chart`` of a spec built by ``narratives_dashboard.vegalite``, drawn with
    its own config instead of Streamlit's theme (the panels at their fixed width, the other
    charts at the container's). Streamlit fills in parts of a spec's encodings, so it gets a
    copy: the cached spec is shared by every session."""
    return st.vega_lite_chart(spec=copy.deepcopy(spec), theme=None, **kwargs)


def _figure_html(figure: go.Figure | Callable[[], go.Figure]) -> bytes:
    figure = figure() if callable(figure) else figure
    return figure.to_html(include_plotlyjs=True, full_html=True).encode("utf-8")


def _encoded(frame: pl.DataFrame | Callable[[], pl.DataFrame], fmt: str) -> bytes:
    return encode_table(frame() if callable(frame) else frame, fmt)


def downloads(
    frame: pl.DataFrame | Callable[[], pl.DataFrame],
    stem: str,
    figure: go.Figure | Callable[[], go.Figure] | None = None,
    *,
    label: str = "table",
    image_note: str = "PNG: the camera button in the chart's toolbar.",
) -> None:
    """Download buttons for the table of the current view (CSV, Parquet) and its chart (HTML
    of the Plotly figure; ``image_note`` says where the page saves it as an image). Files are
    built only when a button is clicked; ``frame`` and ``figure`` may be functions that compute
    them then (a large table, say every passage carrying a narrative)."""
    buttons: list[tuple[str, Callable[[], bytes], str, str]] = [
        (f"Download {label} (CSV)", functools.partial(_encoded, frame, "csv"), "csv", "text/csv"),
        (
            f"Download {label} (Parquet)",
            functools.partial(_encoded, frame, "parquet"),
            "parquet",
            "application/octet-stream",
        ),
    ]
    if figure is not None:
        buttons.append(
            ("Download chart (HTML)", functools.partial(_figure_html, figure), "html", "text/html")
        )
    columns = st.columns(len(buttons) + (figure is not None))
    file_stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem)
    for column, (label, payload, suffix, mime) in zip(columns, buttons, strict=False):
        column.download_button(
            label,
            data=payload,
            file_name=f"{file_stem}.{suffix}",
            mime=mime,
            key=f"download-{stem}-{suffix}",
            on_click="ignore",
        )
    if figure is not None:
        columns[-1].caption(image_note)


def show_table(frame: pl.DataFrame, columns: dict | None = None, **kwargs: Any) -> Any:
    """``st.dataframe`` with the dashboard's column formats (dates as days, shares as percents,
    p-values in three digits, links clickable, only to http(s) addresses); ``columns``
    overrides them per view."""
    formats = {
        "date": st.column_config.DateColumn(format="YYYY-MM-DD"),
        "url": st.column_config.LinkColumn("link"),
        "share": st.column_config.NumberColumn(format="percent"),
        "share_others": st.column_config.NumberColumn(format="percent"),
        "share_change": st.column_config.NumberColumn("change", format="percent"),
        "p_value": st.column_config.NumberColumn("p", format="%.3g"),
        "p_adjusted": st.column_config.NumberColumn("adjusted p", format="%.3g"),
        "change_p_value": st.column_config.NumberColumn("change point p", format="%.3g"),
        "test_p": st.column_config.NumberColumn(
            "p",
            format="%.3g",
            help="Emerging, fading: the change from the previous period (adjusted for the "
            "number of tests). Change point: the test of the periods on either side.",
        ),
        "lift": st.column_config.NumberColumn(format="%.2f"),
        "jsd_to_others": st.column_config.NumberColumn(format="%.3f"),
    }
    shown = {k: v for k, v in formats.items() if k in frame.columns}
    if "url" in frame.columns:  # a link only to an http(s) address
        web = pl.col("url").str.contains(r"(?i)^https?://")
        frame = frame.with_columns(pl.when(web).then(pl.col("url")).alias("url"))
    return st.dataframe(
        frame, hide_index=True, column_config={**shown, **(columns or {})}, **kwargs
    )


def focus(series: str | None, period: Any = None) -> None:
    """Remember a series (and period) picked on one page for the next page that shows one."""
    st.session_state[FOCUS_SERIES] = series
    st.session_state[FOCUS_PERIOD] = period


def series_options(
    names: pl.DataFrame, kinds: tuple[str, ...] = ("narrative", "topic")
) -> dict[str, str]:
    """Series key -> display name for the series of these kinds, in the dashboard's order
    (catalogued narratives, then discovered topics, then the outliers)."""
    frame = names.filter(pl.col("kind").is_in(kinds)).sort("order")
    return dict(zip(frame["series"].to_list(), frame["name"].to_list(), strict=True))


def period_text(period: str | None, column: str = "period") -> pl.Expr:
    """:func:`period_label` as a polars expression, for a table's period column."""
    value = pl.col(column)
    if period == "month":
        text = value.dt.strftime("%Y-%m")
    elif period == "quarter":
        text = pl.format("{}-Q{}", value.dt.year(), value.dt.quarter())
    elif period == "year":
        text = value.dt.year().cast(pl.String)
    else:
        text = value.dt.strftime("%Y-%m-%d")
    return text.alias(column)


def period_label(value: Any, period: str | None) -> str:
    """A period's start date as people say it: 2023-07 for a month, 2023-Q3, 2023, 2023-07-10."""
    if value is None:
        return "whole corpus"
    if period == "month":
        return f"{value:%Y-%m}"
    if period == "quarter":
        return f"{value.year}-Q{(value.month - 1) // 3 + 1}"
    if period == "year":
        return f"{value.year}"
    return f"{value:%Y-%m-%d}"


OLD_RUN_NOTE = (
    "This run predates narrative detection: it shows discovered topics only. Retrain it "
    "(narratives train) to find the catalogued narratives passage by passage."
)


def topics_toggle(card: Any, key: str) -> bool:
    """The "Show discovered topics" toggle (off: the catalogued narratives only). A run without
    narratives shows its topics, with the toggle on and fixed."""
    return st.toggle(
        "Show discovered topics",
        value=not card.has_narratives,
        disabled=not card.has_narratives,
        key=key,
        help="Add the topics BERTopic discovered (named by their keywords) beside the "
        "catalogued narratives.",
    )


RAW_TOGGLE = "Counted tags (raw)"


def raw_toggle(card: Any, key: str, *, counted_only: bool = False, where: Any = st) -> bool:
    """The "Counted tags (raw)" toggle: off, a narrative's share is corrected for the detector's
    measured errors; on, its counted share of tagged documents (Wilson intervals). Hidden (and
    off) where no narrative's shares are corrected;
    disabled where everything shown is counted anyway (``counted_only``). ``where``: the
    column (or container) it goes in."""
    if not card.n_corrected:
        return False
    return (
        where.toggle(
            RAW_TOGGLE,
            value=False,
            key=key,
            disabled=counted_only,
            help="Off: each narrative's share corrected for the detector's measured errors (its "
            "true- and false-positive rates on labelled items), with a bootstrap interval. On: the "
            "share of documents tagged, as counted, with a Wilson interval. Topics are always "
            "counted.",
        )
        and not counted_only
    )


def shown_kinds(show_topics: bool, *, outliers: bool = False) -> tuple[str, ...]:
    """The kinds of series a page lists."""
    return ("narrative", *(("topic",) if show_topics else ()), *(("outliers",) if outliers else ()))
