"""One training, end to end: corpus -> passages -> embeddings -> model -> drift -> run directory.

Each stage is timed; the timings and the counts go into run.json, so a run says how it was made.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from narratives import __version__
from narratives.analysis import drift_tables
from narratives.catalog import Catalog, load_catalog
from narratives.config import TrainConfig
from narratives.corpus import ColumnMap, load_corpus
from narratives.embed import (
    Embedder,
    EmbeddingCache,
    EmbedStats,
    default_cache_dir,
    embed,
    get_embedder,
    save_fitted_embedder,
)
from narratives.model import NarrativeModel
from narratives.runs import new_run_name, write_run
from narratives.text import split_passages


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class TrainResult:
    """What a training produced and how long each stage took (seconds)."""

    run_path: Path
    timings: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, float | int] = field(default_factory=dict)


@contextmanager
def _stage(timings: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - start, 3)


def corpus_fingerprint(documents: pl.DataFrame) -> str:
    """Hash of the documents' ids, dates, sources and texts: same corpus, same fingerprint."""
    digest = hashlib.sha256()
    for column in ("doc_id", "date", "source", "text"):
        hashes = documents[column].cast(pl.String).fill_null("").hash(seed=0).to_numpy()
        digest.update(hashes.tobytes())
    return digest.hexdigest()[:16]


def narrative_model(
    config: TrainConfig,
    embedder: Embedder,
    catalog: Catalog | None,
    *,
    seed: int | None = None,
    log: Callable[[str], None] | None = None,
) -> NarrativeModel:
    """The (unfitted) NarrativeModel that ``config`` describes; ``seed`` overrides its seed."""
    return NarrativeModel(
        embedder,
        catalog,
        seed=config.seed if seed is None else seed,
        min_topic_size=config.min_topic_size,
        n_neighbors=config.n_neighbors,
        n_components=config.n_components,
        min_samples=config.min_samples,
        cluster_selection_method=config.cluster_selection_method,
        catalog_min_similarity=config.catalog_min_similarity,
        reduce_outliers=config.reduce_outliers,
        outlier_threshold=config.outlier_threshold,
        top_n_words=config.top_n_words,
        languages=tuple(config.languages),
        ngram_range=(config.ngram_range[0], config.ngram_range[1]),
        log=log,
    )


def train(
    corpus: str | Path,
    config: TrainConfig | None = None,
    *,
    run_name: str | None = None,
    models_dir: Path = Path("models"),
    overwrite: bool = False,
    progress: bool = True,
    log: Callable[[str], None] | None = _stderr,
) -> TrainResult:
    """Train on ``corpus`` with ``config`` and write the run; returns its path and figures."""
    config = config or TrainConfig()
    corpus = Path(corpus)
    say = log or (lambda _message: None)
    timings: dict[str, float] = {}

    with _stage(timings, "load"):
        documents, report = load_corpus(corpus, ColumnMap.from_mapping(config.columns))
        catalog = load_catalog(config.catalog)
    say(f"corpus: {report.summary()}")

    with _stage(timings, "passages"):
        passages = split_passages(
            documents,
            min_chars=config.min_passage_chars,
            max_chars=config.max_passage_chars,
        )
    say(f"passages: {passages.height} from {documents.height} documents")

    embedder = get_embedder(config.embedder, seed=config.seed)
    stats = EmbedStats()
    with _stage(timings, "embed"):
        texts = passages["text"].to_list()
        if embedder.fitted_on_corpus:
            embedder.fit(texts)
        cache = None
        if config.cache:
            cache = EmbeddingCache(
                Path(config.cache_dir) if config.cache_dir else default_cache_dir()
            )
        embeddings = embed(
            texts,
            embedder,
            cache=cache,
            batch_size=config.batch_size,
            progress=progress,
            stats=stats,
        )
    say(
        f"embeddings: {stats.n_encoded} encoded, {stats.n_cached} from cache "
        f"({embedder.name}, {embeddings.shape[1]}-d)"
    )

    with _stage(timings, "fit"):
        model = narrative_model(config, embedder, catalog, log=say).fit(passages, embeddings)

    with _stage(timings, "drift"):
        drift = drift_tables(
            documents,
            passages,
            model.assignments_,
            config.drift_settings(),
            languages=tuple(config.languages),
        )
    say(
        f"drift: {drift.period} periods; {drift.n_undated_documents} documents without a date "
        "are left out of the drift tables"
    )

    topics = model.topics_
    metrics = _metrics(documents, passages, topics, model.assignments_, report)
    record = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "package_version": __version__,
        "config": config.to_dict(),
        "corpus": {
            "path": str(corpus.resolve()),
            "fingerprint": corpus_fingerprint(documents),
            "report": {
                "n_read": report.n_read,
                "n_kept": report.n_kept,
                "dropped": report.dropped,
                "n_missing_date": report.n_missing_date,
            },
        },
        "embedder": {"name": embedder.name, "id": embedder.id, "dim": int(embeddings.shape[1])},
        "catalog": {"path": str(catalog.path), "ids": catalog.ids},
        "model": asdict(model.params_),
        "embedding_cache": asdict(stats),
        "metrics": metrics,
        "drift": drift.record(),
        "timings": timings,
    }

    def write_model(directory: Path) -> None:
        model.save(directory)
        save_fitted_embedder(embedder, directory / "embedder.pkl")
        (directory / "catalog.toml").write_bytes(Path(catalog.path).read_bytes())

    name = run_name or new_run_name(corpus)
    start = time.perf_counter()
    run_path = write_run(
        models_dir,
        name,
        {
            "documents": documents,
            "passages": passages,
            "topics": topics,
            "assignments": model.assignments_,
            **drift.tables,
        },
        record,
        write_model,
        overwrite=overwrite,
    )
    timings["write"] = round(time.perf_counter() - start, 3)
    say(f"run written: {run_path}")
    return TrainResult(run_path=run_path, timings=timings, metrics=metrics)


def _metrics(documents, passages, topics, assignments, report) -> dict[str, float | int]:
    topic_ids = topics.filter(pl.col("topic_id") >= 0)
    n_outliers = assignments.filter(pl.col("topic_id") < 0).height
    return {
        "n_documents": documents.height,
        "n_passages": passages.height,
        "n_topics": topic_ids.height,
        "n_catalog_narratives_found": topic_ids["narrative_id"].drop_nulls().n_unique(),
        "n_new_topics": topic_ids.filter(pl.col("narrative_id").is_null()).height,
        "outlier_share": round(n_outliers / max(passages.height, 1), 4),
        "n_documents_without_date": report.n_missing_date,
    }
