"""Place new articles into an existing run without refitting (`narratives assign`).

The same rules as the run's training: its passage settings, embedder and cache, its catalogued
narrative detector (fitted heads and thresholds), and for the discovered topics the nearest
stored passages (narratives.novelty). Articles the run already holds, by doc_id or by text in the
same outlet, are skipped and counted. Passages that fit no topic are kept unassigned; enough of
them are clustered into candidate topics with new ids. The result is a new run (the parent's
name in its record) with the old documents and the new ones under the same topic ids, its drift
tables recomputed over the whole span, and a ``novelty`` table.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from narratives.corpus import LoadReport
from narratives.drift.settings import DriftInfo
from narratives.engine import LOCAL, Engine
from narratives.errors import InputError, print_stderr
from narratives.novelty import (
    TopicAssigner,
    candidate_keywords,
    candidate_topics,
    signals,
    unassigned_share,
)
from narratives.record import RunMetrics, RunRecord
from narratives.runs import Run, prepare_target, write_run
from narratives.schemas import OUTLIER_TOPIC, TOPICS, conform

_NORM = pl.col("text").str.replace_all(r"\s+", " ").str.strip_chars().str.to_lowercase()


@dataclass
class AssignResult:
    """What an assignment added, and where the new run is."""

    run_path: Path
    n_new_documents: int
    n_skipped: int
    n_new_passages: int
    n_unassigned: int
    candidates: pl.DataFrame
    timings: dict[str, float] = field(default_factory=dict)


def new_documents(run: Run, documents: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """The documents the run does not hold yet (by doc_id, or by whitespace- and
    case-normalised text in the same outlet: the loader's rule for repeats, and case too), and
    how many were skipped."""
    key = pl.struct(_NORM, "source").hash(seed=0).alias("_h")
    old = run.table("documents").select("doc_id", key)
    fresh = documents.with_columns(key).filter(
        ~pl.col("doc_id").is_in(old["doc_id"].implode()) & ~pl.col("_h").is_in(old["_h"].implode())
    )
    return fresh.drop("_h"), documents.height - fresh.height


def assign_passages(
    run: Run,
    passages: pl.DataFrame,
    embeddings: np.ndarray,
    old_embeddings: np.ndarray,
    engine: Engine | None = None,
) -> tuple[pl.DataFrame, np.ndarray, float]:
    """The Assignments rows of new passages by the run's stored passages (nearest-passage vote,
    on ``engine``), which of them fit no topic, and the run's calibrated novelty threshold."""
    stored = (
        run.table("passages")
        .select("passage_id")
        .join(run.table("assignments"), on="passage_id", how="left", maintain_order="left")
    )
    assigner = TopicAssigner.fit(
        old_embeddings, stored["topic_id"].fill_null(OUTLIER_TOPIC), seed=run.config.seed
    )
    topics, similarity, unassigned = (engine or LOCAL).assign(assigner, embeddings)
    frame = passages.select("passage_id", "doc_id").with_columns(
        pl.Series("topic_id", topics, dtype=pl.Int32),
        pl.Series("probability", np.clip(similarity, 0, 1), dtype=pl.Float32),
    )
    return frame, unassigned, assigner.threshold


def _candidates(
    run: Run,
    passages: pl.DataFrame,
    embeddings: np.ndarray,
    assignments: pl.DataFrame,
    unassigned: np.ndarray,
    threshold: float,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cluster the unassigned passages into candidate topics: the assignments with their new
    ids, and the candidates' Topics rows."""
    from narratives.vectorizer import build_vectorizer

    min_size = int(run.record.model.get("min_topic_size") or run.config.model.min_topic_size or 10)
    first_id = int(run.table("topics")["topic_id"].max()) + 1
    labels = candidate_topics(embeddings[unassigned], min_size, first_id, threshold)
    topic_ids = assignments["topic_id"].to_numpy().copy()
    topic_ids[np.flatnonzero(unassigned)] = labels
    assignments = assignments.with_columns(pl.Series("topic_id", topic_ids, dtype=pl.Int32))
    found = sorted(set(labels.tolist()) - {OUTLIER_TOPIC})
    if not found:
        return assignments, pl.DataFrame(schema=TOPICS)
    texts = passages["text"].to_list()
    clusters = {t: [texts[i] for i in np.flatnonzero(topic_ids == t)] for t in found}
    background = run.table("passages")["text"].head(5000).to_list()
    analyzer = build_vectorizer(languages=run.config.languages).build_analyzer()
    keywords = candidate_keywords(clusters, background, analyzer)
    rows = []
    ids = passages["passage_id"].to_list()
    for topic in found:
        members = np.flatnonzero(topic_ids == topic)
        centroid = embeddings[members].mean(axis=0)
        central = members[np.argsort(-(embeddings[members] @ centroid))[:3]]
        rows.append(
            {
                "topic_id": topic,
                "label": "new: " + ", ".join(keywords[topic][:3]),
                "keywords": keywords[topic],
                "size": len(members),
                "representative_passage_ids": [ids[i] for i in central],
            }
        )
    return assignments, conform(pl.DataFrame(rows, schema=TOPICS), TOPICS)


def _topics(run: Run, assignments: pl.DataFrame, candidates: pl.DataFrame) -> pl.DataFrame:
    """The parent's topics with their sizes over all passages, then the candidates."""
    sizes = assignments.group_by("topic_id").agg(pl.len().cast(pl.UInt32).alias("_n"))
    old = (
        run.table("topics")
        .join(sizes, on="topic_id", how="left")
        .with_columns(pl.col("_n").fill_null(0).alias("size"))
        .drop("_n")
    )
    return conform(pl.concat([old, candidates]), TOPICS)


def assign(
    run: Run,
    corpus: object,
    *,
    name: str | None = None,
    models_dir: Path | None = None,
    overwrite: bool = False,
    progress: bool = True,
    log: Callable[[str], None] | None = print_stderr,
    engine: Engine | None = None,
) -> AssignResult:
    """Place the articles of ``corpus`` (a path or a DataFrame) into ``run``; writes and returns
    the new run (default name ``<run>-<UTC timestamp>``, beside the parent). ``engine`` embeds,
    matches and assigns the new passages (narratives.engine; local by default)."""
    from narratives.detect import NarrativeDetector
    from narratives.embed import embed, open_cache
    from narratives.pipeline import _stage, load_documents
    from narratives.text import split_passages

    say = log or (lambda _message: None)
    models_dir = models_dir or run.path.parent
    name = name or f"{run.name}-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    prepare_target(models_dir, name, overwrite=overwrite, option="--as", say=say)
    config, timings = run.config, {}
    with _stage(timings, "load"):
        loaded, report, _ = load_documents(corpus, config)
        fresh, skipped = new_documents(run, loaded)
        say(f"corpus: {report.summary()}; {skipped} already in {run.name}, {fresh.height} new")
        if fresh.is_empty():
            raise InputError(f"nothing to add: every article is already in run {run.name}")
        passages = split_passages(fresh, **asdict(config.passages))

    with _stage(timings, "embed"):
        embedder = run.embedder()
        cache = open_cache(config.cache, config.cache_dir)
        encode = (engine or LOCAL).encode
        kwargs = {"cache": cache, "batch_size": config.batch_size, "encode": encode}
        embeddings = embed(passages["text"].to_list(), embedder, progress=progress, **kwargs)
        old_texts = run.table("passages")["text"].to_list()
        old_embeddings = embed(old_texts, embedder, progress=False, **kwargs)

    with _stage(timings, "assign"):
        new_rows, unassigned, threshold = assign_passages(
            run, passages, embeddings, old_embeddings, engine
        )
        new_rows, candidates = _candidates(
            run, passages, embeddings, new_rows, unassigned, threshold
        )
        detector = NarrativeDetector.load(run)
        detector.engine = engine
        scores = detector.transform(passages, embeddings)
    say(
        f"assigned: {passages.height} passages, {int(unassigned.sum())} fit no topic, "
        f"{candidates.height} candidate topics"
    )

    with _stage(timings, "drift"):
        tables, drift = _merged_tables(
            run, fresh, passages, new_rows, scores, candidates, unassigned
        )
        tables["repeats"] = _repeats(run, report)
    record = replace(_record(run, tables, report, timings), drift=drift)

    def write_model(directory: Path) -> None:
        shutil.copytree(run.model_dir, directory)

    with _stage(timings, "write"):
        path = write_run(models_dir, name, tables, record, write_model, overwrite=overwrite)
    say(f"run written: {path}")
    return AssignResult(
        run_path=path,
        n_new_documents=fresh.height,
        n_skipped=skipped,
        n_new_passages=passages.height,
        n_unassigned=int(unassigned.sum()),
        candidates=candidates,
        timings=timings,
    )


def _merged_tables(
    run: Run,
    fresh: pl.DataFrame,
    passages: pl.DataFrame,
    new_rows: pl.DataFrame,
    scores: pl.DataFrame,
    candidates: pl.DataFrame,
    unassigned: np.ndarray,
) -> tuple[dict[str, pl.DataFrame], DriftInfo]:
    """Every table of the new run (old rows and new ones, drift over the whole span, novelty)
    and how its drift tables were computed."""
    from narratives.detect import topic_narratives
    from narratives.drift import drift_tables, period_start
    from narratives.shares import run_estimates

    documents = pl.concat([run.table("documents"), fresh])
    all_passages = pl.concat([run.table("passages"), passages])
    assignments = pl.concat([run.table("assignments"), new_rows])
    all_scores = pl.concat([run.table("narrative_scores"), scores])
    settings = run.record.drift.settings if run.record.drift else run.config.drift
    estimates = run_estimates(run) or {}
    drift = drift_tables(
        documents,
        all_passages,
        assignments,
        settings,
        languages=run.config.languages,
        narrative_scores=all_scores,
        narrative_ids=list(run.record.catalog.ids),
        share_estimates=estimates,
        n_bootstrap=run.config.shares.n_bootstrap,
    )
    narratives = run.table("narratives").drop("n_passages")
    counts = all_scores.group_by("narrative_id").agg(pl.col("tagged").sum().alias("n_passages"))
    narratives = narratives.join(counts, on="narrative_id", how="left", maintain_order="left")
    unassigned_docs = set(passages.filter(pl.Series(unassigned))["doc_id"].to_list())
    novelty = pl.concat(
        [
            unassigned_share(
                documents,
                set(fresh["doc_id"].to_list()),
                unassigned_docs,
                period_start(drift.period),
            ),
            signals(drift.tables["prevalence"], set(candidates["topic_id"].to_list())),
        ]
    )
    return {
        "documents": documents,
        "passages": all_passages,
        "topics": _topics(run, assignments, candidates),
        "assignments": assignments,
        "narratives": narratives.select(run.table("narratives").columns),
        "narrative_scores": all_scores,
        "topic_narratives": topic_narratives(assignments, all_scores),
        **drift.tables,
        "novelty": novelty,
    }, drift.info()


def _repeats(run: Run, report: LoadReport) -> pl.DataFrame:
    """The parent's repeats and the new corpus's (a run from before they were stored has
    none)."""
    new = report.repeats_table()
    if not run.has_table("repeats"):
        return new
    return pl.concat([run.table("repeats"), new]).unique(
        "doc_id", keep="first", maintain_order=True
    )


def _record(
    run: Run, tables: dict[str, pl.DataFrame], report: LoadReport, timings: dict[str, float]
) -> RunRecord:
    """The new run's record: the parent's, with the new corpus, counts, drift and parent."""
    from narratives.pipeline import corpus_fingerprint

    documents = tables["documents"]
    corpus = replace(
        run.record.corpus,
        path=f"{run.record.corpus.path} + {report.path}",
        fingerprint=corpus_fingerprint(documents),
    )
    metrics = RunMetrics.of(
        documents,
        tables["passages"],
        tables["topics"],
        tables["assignments"],
        tables["narrative_scores"],
    )
    return replace(
        run.record,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        corpus=corpus,
        metrics=metrics,
        timings=timings,
        parent=run.name,
        evaluation=None,
    )
