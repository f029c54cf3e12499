"""A synthetic run of any size in the real schema, for measuring the dashboard.

``make_run(models_dir, name, n_passages)`` writes a complete run with ``narratives.runs.write_run``
(so the dashboard and ``narratives runs`` list it): documents of about 8 passages each from six
German outlets over 36 months (2022-02 to 2025-01), 20 topics labelled by their keywords (8 of
them planted for the 8 catalogued narratives, 12 other discovered topics) plus about 3% outliers,
and the catalogued narratives found passage by passage (``narratives``, ``narrative_scores``,
``topic_narratives``; ``benchmarks.synthetic_models.py``): a planted topic's passages mostly
carry its narrative, a few other passages carry one too.
Topic shares drift with planted events (a narrative stepping up at a known month, topics that
appear, peak and vanish) and differ per outlet, so every chart has something to show. Passage
texts are German-looking sentences (300-600 characters) drawn from per-topic word lists, with
each topic's words shifting between the first and the second half of the period, so keyword
drift has words entering and leaving (``benchmarks/synthetic_text.py``). Everything is seeded
and vectorised (numpy + polars).

The drift tables of the topics and of the narratives come from the real engine,
``narratives.drift.drift_tables(..., narrative_scores=..., narrative_ids=...)``, keyword drift
included: it tokenises every passage in Python, and the five topic tables took about 35 s at 1M
passages on 2 cores (generation 4 s, run on disk 190 MB); the narrative tables add about as much
again.

Runs are cached: an existing complete run of that name is reused, never rebuilt.

    python -m benchmarks.synthetic_run 100000   # -> benchmarks/results/dashboard-runs/
    python -m benchmarks.synthetic_run 1000 --models-dir /tmp/models --name tiny
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.synthetic_models import (
    assignments_table,
    narrative_run_tables,
    topic_numbering,
    topics_table,
)
from benchmarks.synthetic_text import (
    CATALOG_WORDS,
    DISCOVERED_LABELS,
    DISCOVERED_WORDS,
    TOPIC_WORDS,
    document_titles,
    passage_texts,
    sentence_pools,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODELS_DIR = ROOT / "benchmarks" / "results" / "dashboard-runs"
"""Largest run whose keyword_drift table the real engine computes (about 90 s at this size)."""

OUTLETS = ("RT DE", "WELT", "Spiegel", "FAZ", "taz", "Tagesschau")
OUTLET_WEIGHTS = np.array([0.22, 0.20, 0.17, 0.15, 0.10, 0.16])
DOMAINS = (
    "de.rt.com",
    "www.welt.de",
    "www.spiegel.de",
    "www.faz.net",
    "taz.de",
    "www.tagesschau.de",
)
FIRST_MONTH = date(2022, 2, 1)
N_MONTHS = 36
PASSAGES_PER_DOC = (5, 12)  # uniform integers in [5, 12): mean 8
OUTLIER_SHARE = 0.03


def _month(year: int, month: int) -> int:
    """Index of a calendar month in the synthetic period (0 = 2022-02)."""
    return (year - FIRST_MONTH.year) * 12 + month - FIRST_MONTH.month


def _time_effects(catalog_ids: list[str]) -> np.ndarray:
    """Log-odds per month and topic: the planted events (-inf = topic absent that month)."""
    effects = np.zeros((N_MONTHS, len(catalog_ids) + len(DISCOVERED_WORDS)))
    months = np.arange(N_MONTHS)
    column = {nid: i for i, nid in enumerate(catalog_ids)}
    column.update({label: len(catalog_ids) + i for i, label in enumerate(DISCOVERED_LABELS)})

    def bump(topic: str, first: tuple[int, int], last: tuple[int, int], amount: float) -> None:
        effects[(months >= _month(*first)) & (months <= _month(*last)), column[topic]] += amount

    def absent(topic: str, first: tuple[int, int], last: tuple[int, int]) -> None:
        effects[(months >= _month(*first)) & (months <= _month(*last)), column[topic]] = -np.inf

    bump("failed-counteroffensive", (2023, 9), (2025, 1), 1.6)  # the step change
    absent("failed-counteroffensive", (2022, 2), (2023, 5))
    bump("ammunition-shortage", (2023, 10), (2025, 1), 1.2)
    effects[:, column["peace-talks-vs-military-aid"]] += np.linspace(-0.6, 0.9, N_MONTHS)
    bump("ukraine-nato-membership", (2023, 6), (2023, 7), 1.8)
    bump("ukraine-nato-membership", (2024, 7), (2024, 7), 1.2)
    bump("ukrainian-territorial-gains", (2022, 9), (2022, 11), 1.8)
    bump("ukrainian-territorial-gains", (2024, 8), (2024, 9), 1.5)
    bump("escalation-arms-deliveries", (2023, 1), (2023, 2), 1.3)
    bump("escalation-arms-deliveries", (2024, 2), (2024, 5), 1.1)
    effects[:, column["russia-must-not-win"]] += np.linspace(0.8, -0.6, N_MONTHS)
    bump(DISCOVERED_LABELS[0], (2022, 6), (2023, 2), 1.5)  # energy crisis
    absent(DISCOVERED_LABELS[3], (2023, 9), (2025, 1))  # grain deal ends: gone
    bump(DISCOVERED_LABELS[3], (2022, 6), (2022, 8), 1.2)
    absent(DISCOVERED_LABELS[6], (2022, 2), (2023, 11))  # US election: new
    bump(DISCOVERED_LABELS[6], (2024, 6), (2024, 11), 1.0)
    absent(DISCOVERED_LABELS[8], (2022, 2), (2023, 4))  # Wagner: new, peaks, fades
    bump(DISCOVERED_LABELS[8], (2023, 6), (2023, 8), 2.0)
    bump(DISCOVERED_LABELS[10], (2022, 9), (2022, 10), 1.6)  # mobilisation
    return effects


def _outlet_effects(catalog_ids: list[str]) -> np.ndarray:
    """Log-odds per outlet and topic: what each outlet over- or under-represents."""
    effects = np.zeros((len(OUTLETS), len(catalog_ids) + len(DISCOVERED_WORDS)))
    column = {nid: i for i, nid in enumerate(catalog_ids)}
    rt, welt, spiegel, faz, taz, tagesschau = range(len(OUTLETS))
    effects[rt, column["nato-party-to-war"]] += 1.6
    effects[rt, column["escalation-arms-deliveries"]] += 1.0
    effects[rt, column["peace-talks-vs-military-aid"]] += 1.1
    effects[rt, column["failed-counteroffensive"]] += 1.2
    effects[rt, column["russia-must-not-win"]] -= 1.5
    effects[rt, len(catalog_ids) + 11] -= 1.0  # disinformation
    effects[welt, column["russia-must-not-win"]] += 0.9
    effects[welt, column["ammunition-shortage"]] += 0.6
    effects[faz, column["ammunition-shortage"]] += 0.5
    effects[faz, len(catalog_ids) + 5] += 0.7  # inflation
    effects[spiegel, len(catalog_ids) + 9] += 0.6  # war crimes
    effects[taz, column["peace-talks-vs-military-aid"]] += 0.5
    effects[taz, len(catalog_ids) + 2] += 0.8  # refugees
    effects[tagesschau, :] *= 0.0
    return effects


def _topic_probabilities(catalog_ids: list[str], rng: np.random.Generator) -> np.ndarray:
    """P[outlet, month, topic] of a passage's topic (outliers excluded)."""
    n_topics = len(catalog_ids) + len(DISCOVERED_WORDS)
    base = rng.normal(0.0, 0.5, n_topics)
    base[: len(catalog_ids)] += 0.4  # the catalogued narratives are the larger topics
    logits = (
        base[None, None, :]
        + _time_effects(catalog_ids)[None, :, :]
        + _outlet_effects(catalog_ids)[:, None, :]
    )
    weights = np.exp(logits - logits.max(axis=2, keepdims=True))
    return weights / weights.sum(axis=2, keepdims=True)


def _sample(cumulative: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One category per row of a (rows x categories) cumulative distribution."""
    u = rng.random(cumulative.shape[0])[:, None]
    return np.minimum((cumulative < u).sum(axis=1), cumulative.shape[1] - 1)


@dataclass(frozen=True)
class _Layout:
    """Where the documents sit (outlet, month, date) and how many passages each one has."""

    outlet: np.ndarray
    month: np.ndarray
    ordinal: np.ndarray
    per_doc: np.ndarray

    @property
    def n_docs(self) -> int:
        return len(self.per_doc)

    @property
    def doc_of_passage(self) -> np.ndarray:
        return np.repeat(np.arange(self.n_docs), self.per_doc)

    @property
    def position(self) -> np.ndarray:
        """Each passage's position in its document."""
        starts = np.cumsum(self.per_doc) - self.per_doc
        return np.arange(int(self.per_doc.sum())) - np.repeat(starts, self.per_doc)

    @property
    def doc_ids(self) -> pl.Series:
        return "syn-" + pl.Series("doc_id", np.arange(self.n_docs)).cast(pl.String).str.zfill(7)


def _draw_layout(n_passages: int, rng: np.random.Generator) -> _Layout:
    """Documents (outlet, month, day) and passages per document until n_passages is reached."""
    n_docs = n_passages // PASSAGES_PER_DOC[0] + 1  # enough documents in any draw
    per_doc = rng.integers(*PASSAGES_PER_DOC, n_docs)
    ends = np.cumsum(per_doc)
    n_docs = int(np.searchsorted(ends, n_passages) + 1)
    per_doc = per_doc[:n_docs]
    per_doc[-1] -= int(ends[n_docs - 1] - n_passages)
    outlet = rng.choice(len(OUTLETS), n_docs, p=OUTLET_WEIGHTS / OUTLET_WEIGHTS.sum())
    month_weight = 1.0 + 0.5 * np.exp(-np.arange(N_MONTHS) / 4.0)  # the war's first months
    month = rng.choice(N_MONTHS, n_docs, p=month_weight / month_weight.sum())
    first_day = np.array(
        [
            date(
                FIRST_MONTH.year + (FIRST_MONTH.month - 1 + m) // 12,
                (FIRST_MONTH.month - 1 + m) % 12 + 1,
                1,
            ).toordinal()
            for m in range(N_MONTHS + 1)
        ]
    )
    days_in_month = np.diff(first_day)
    ordinal = first_day[month] + (rng.random(n_docs) * days_in_month[month]).astype(np.int64)
    return _Layout(outlet=outlet, month=month, ordinal=ordinal, per_doc=per_doc)


def _draw_topics(
    catalog_ids: list[str], layout: _Layout, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Each document's main topic and each passage's topic (-1 = outlier).

    A passage keeps its document's main topic or draws another one.
    """
    cumulative = np.cumsum(_topic_probabilities(catalog_ids, rng), axis=2)
    main_topic = _sample(cumulative[layout.outlet, layout.month], rng)
    doc_of_passage = layout.doc_of_passage
    n_passages = len(doc_of_passage)
    other = _sample(cumulative[layout.outlet[doc_of_passage], layout.month[doc_of_passage]], rng)
    topic = np.where(rng.random(n_passages) < 0.55, main_topic[doc_of_passage], other)
    topic = np.where(rng.random(n_passages) < OUTLIER_SHARE, -1, topic)
    return main_topic, topic


def _passages_table(
    layout: _Layout, topic: np.ndarray, n_topics: int, rng: np.random.Generator
) -> pl.DataFrame:
    """Passages whose sentences come from their topic in its half of the period."""
    from narratives.schemas import PASSAGES, conform

    pool = sentence_pools(rng)
    general_pool = 2 * n_topics
    doc_of_passage = layout.doc_of_passage
    half = (layout.month[doc_of_passage] >= N_MONTHS // 2).astype(np.int64)
    topic_pool = np.where(topic < 0, general_pool, 2 * topic + half)
    text = passage_texts(topic_pool, general_pool, pool, rng)
    passage_doc = layout.doc_ids.gather(doc_of_passage)
    position = layout.position
    passages = pl.DataFrame(
        {
            "passage_id": passage_doc + "#" + pl.Series(position).cast(pl.String),
            "doc_id": passage_doc,
            "position": pl.Series(position, dtype=pl.UInt32),
            "text": text,
        }
    )
    return conform(passages, PASSAGES)


def _documents_table(
    layout: _Layout, passages: pl.DataFrame, main_topic: np.ndarray, rng: np.random.Generator
) -> pl.DataFrame:
    """Document rows: text = passages joined, title from the main topic's words, url."""
    from narratives.schemas import DOCUMENTS, conform

    doc_ids = layout.doc_ids
    epoch = date(1970, 1, 1).toordinal()
    title = document_titles(main_topic, rng)
    texts = passages.group_by("doc_id", maintain_order=True).agg(pl.col("text").str.join("\n\n"))
    url = "https://" + pl.Series(DOMAINS).gather(layout.outlet) + "/ukraine/" + doc_ids + ".html"
    documents = pl.DataFrame(
        {
            "doc_id": doc_ids,
            "date": pl.Series(layout.ordinal - epoch).cast(pl.Int32).cast(pl.Date),
            "source": pl.Series(OUTLETS).gather(layout.outlet),
            "title": title,
            "url": url,
            "lang": pl.repeat("de", layout.n_docs, eager=True),
        }
    ).join(texts, on="doc_id", how="left")
    return conform(documents, DOCUMENTS)


def make_tables(n_passages: int, seed: int = 0) -> dict[str, pl.DataFrame]:
    """Documents, passages, topics, assignments and the narrative tables (narratives,
    narrative_scores, topic_narratives) of a synthetic run (no drift tables)."""
    from narratives.catalog import load_catalog

    rng = np.random.default_rng(seed)
    catalog = load_catalog()
    catalog_ids = [nid for nid in catalog.ids if nid in CATALOG_WORDS]
    n_topics = len(catalog_ids) + len(DISCOVERED_WORDS)
    layout = _draw_layout(n_passages, rng)
    main_topic, topic = _draw_topics(catalog_ids, layout, rng)
    passages = _passages_table(layout, topic, n_topics, rng)
    documents = _documents_table(layout, passages, main_topic, rng)
    sizes, new_id = topic_numbering(topic, n_topics)
    assignments = assignments_table(passages, topic, new_id, rng)
    labels = [", ".join(words[:3]) for words in TOPIC_WORDS[: len(catalog_ids)]]
    return {
        "documents": documents,
        "passages": passages,
        "topics": topics_table(assignments, sizes, new_id, labels + DISCOVERED_LABELS),
        "assignments": assignments,
        **narrative_run_tables(catalog, catalog_ids, passages, assignments, topic, rng),
    }


def _drift(tables: dict[str, pl.DataFrame]) -> tuple[object, dict[str, float]]:
    """The drift tables of the topics and of the narratives from the real engine (keyword drift
    included) and how long they took."""
    from narratives.drift import drift_tables

    start = time.perf_counter()
    result = drift_tables(
        tables["documents"],
        tables["passages"],
        tables["assignments"],
        narrative_scores=tables["narrative_scores"],
        narrative_ids=tables["narratives"]["narrative_id"].to_list(),
    )
    return result, {"drift": round(time.perf_counter() - start, 3)}


def make_run(models_dir: Path, name: str, n_passages: int, seed: int = 0) -> Path:
    """The run ``models_dir/name`` with ``n_passages`` passages; built only when missing."""
    from narratives import __version__
    from narratives.catalog import load_catalog
    from narratives.config import TrainConfig
    from narratives.pipeline import corpus_fingerprint
    from narratives.record import (
        CatalogInfo,
        CorpusInfo,
        EmbedderInfo,
        LoadSummary,
        RunMetrics,
        RunRecord,
    )
    from narratives.runs import RUN_RECORD, write_run
    from narratives.schemas import (
        DRIFT_TABLES,
        NARRATIVE_DRIFT_TABLES,
        NARRATIVE_TABLES,
        REQUIRED_TABLES,
    )

    models_dir = Path(models_dir)
    final = models_dir / name
    every = (*REQUIRED_TABLES, *DRIFT_TABLES, *NARRATIVE_TABLES, *NARRATIVE_DRIFT_TABLES)
    wanted = [RUN_RECORD, *(f"{t}.parquet" for t in every)]
    if all((final / f).is_file() for f in wanted):
        return final
    start = time.perf_counter()
    tables = make_tables(n_passages, seed)
    timings = {"generate": round(time.perf_counter() - start, 3)}
    drift, drift_timings = _drift(tables)
    timings.update(drift_timings)
    documents = tables["documents"]
    catalog = load_catalog()
    record = RunRecord(
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        package_version=__version__,
        config=TrainConfig(seed=seed, embedder="synthetic"),
        corpus=CorpusInfo(
            path=f"synthetic:{n_passages}-passages-seed-{seed}",
            fingerprint=corpus_fingerprint(documents),
            report=LoadSummary(
                n_read=documents.height,
                n_kept=documents.height,
                dropped={"empty_text": 0, "duplicate_row": 0, "duplicate_text": 0},
            ),
        ),
        embedder=EmbedderInfo(name="synthetic", id="synthetic", dim=0),
        catalog=CatalogInfo(path=str(catalog.path), ids=tuple(catalog.ids)),
        metrics=RunMetrics.of(
            documents,
            tables["passages"],
            tables["topics"],
            tables["assignments"],
            narrative_scores=tables["narrative_scores"],
        ),
        drift=drift.info(),
        timings=timings,
    )
    start = time.perf_counter()
    path = write_run(models_dir, name, {**tables, **drift.tables}, record, overwrite=True)
    timings["write"] = round(time.perf_counter() - start, 3)
    return path


def run_size_mb(path: Path) -> float:
    """Size of a run directory on disk (MB)."""
    return round(sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 1e6, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n_passages", type=int, nargs="+", help="passages per run (repeatable)")
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR)
    parser.add_argument("--name", help="run name (default: synthetic-<n>)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for n in args.n_passages:
        start = time.perf_counter()
        path = make_run(args.models_dir, args.name or f"synthetic-{n}", n, args.seed)
        print(
            f"{path}: {run_size_mb(path)} MB ({time.perf_counter() - start:.1f} s)",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
