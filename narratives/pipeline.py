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
from narratives.catalog import load_catalog
from narratives.config import TrainConfig
from narratives.corpus import ColumnMap, load_corpus
from narratives.drift import drift_tables
from narratives.embed import EmbedStats, embed, get_embedder, open_cache, save_fitted_embedder
from narratives.model import NarrativeModel
from narratives.record import (
    CatalogInfo,
    CorpusInfo,
    EmbedderInfo,
    LoadSummary,
    RunMetrics,
    RunRecord,
)
from narratives.runs import new_run_name, write_run
from narratives.text import split_passages


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class TrainResult:
    """What a training produced and how long each stage took (seconds)."""

    run_path: Path
    timings: dict[str, float] = field(default_factory=dict)
    metrics: RunMetrics = field(default_factory=RunMetrics)


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
        passages = split_passages(documents, **asdict(config.passages))
    say(f"passages: {passages.height} from {documents.height} documents")

    embedder = get_embedder(config.embedder, seed=config.seed)
    stats = EmbedStats()
    with _stage(timings, "embed"):
        texts = passages["text"].to_list()
        if embedder.fitted_on_corpus:
            embedder.fit(texts)
        embeddings = embed(
            texts,
            embedder,
            cache=open_cache(config.cache, config.cache_dir),
            batch_size=config.batch_size,
            progress=progress,
            stats=stats,
        )
    say(
        f"embeddings: {stats.n_encoded} encoded, {stats.n_cached} from cache "
        f"({embedder.name}, {embeddings.shape[1]}-d)"
    )

    with _stage(timings, "fit"):
        model = NarrativeModel.from_config(config, embedder, catalog, log=say)
        model.fit(passages, embeddings)

    with _stage(timings, "drift"):
        drift = drift_tables(
            documents,
            passages,
            model.assignments_,
            config.drift,
            languages=config.languages,
        )
    say(
        f"drift: {drift.period} periods; {drift.n_undated_documents} documents without a date "
        "are left out of the drift tables"
    )

    topics = model.topics_
    metrics = RunMetrics.of(documents, passages, topics, model.assignments_)
    record = RunRecord(
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        package_version=__version__,
        config=config,
        corpus=CorpusInfo(
            path=str(corpus.resolve()),
            fingerprint=corpus_fingerprint(documents),
            report=LoadSummary.of(report),
        ),
        embedder=EmbedderInfo(name=embedder.name, id=embedder.id, dim=int(embeddings.shape[1])),
        catalog=CatalogInfo(path=str(catalog.path), ids=tuple(catalog.ids)),
        model=asdict(model.params_),
        embedding_cache=asdict(stats),
        metrics=metrics,
        drift=drift.info(),
        timings=timings,
    )

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
