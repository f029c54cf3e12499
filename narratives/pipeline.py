"""One training, end to end: corpus -> passages -> embeddings -> topics and narratives -> drift ->
run directory.

Each stage is timed; the timings and the counts go into run.json, so a run says how it was made.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from narratives import __version__
from narratives.catalog import Catalog, load_catalog
from narratives.config import TrainConfig
from narratives.corpus import ColumnMap, LoadReport, load_corpus, load_frame
from narratives.detect import NarrativeDetector, topic_narratives
from narratives.drift import DriftResult, drift_tables
from narratives.embed import (
    Embedder,
    EmbedStats,
    embed,
    get_embedder,
    open_cache,
    save_fitted_embedder,
)
from narratives.engine import LOCAL, Engine
from narratives.errors import print_stderr
from narratives.feedback import user_catalog_path
from narratives.model import TopicModel
from narratives.record import (
    CatalogInfo,
    CorpusInfo,
    EmbedderInfo,
    LoadSummary,
    RunMetrics,
    RunRecord,
)
from narratives.runs import Run, new_run_name, prepare_target, write_run
from narratives.shares import ShareEstimate, estimates_table, share_estimates
from narratives.text import split_passages


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


def _embed_passages(
    passages: pl.DataFrame,
    embedder: Embedder,
    config: TrainConfig,
    timings: dict[str, float],
    *,
    progress: bool,
    say: Callable[[str], None],
    engine: Engine | None = None,
) -> tuple[np.ndarray, EmbedStats]:
    """The passages' embeddings (fitting a corpus-fitted embedder first) and the cache figures;
    what the cache misses is encoded on ``engine``."""
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
            encode=(engine or LOCAL).encode,
        )
    say(
        f"embeddings: {stats.n_encoded} encoded, {stats.n_cached} from cache "
        f"({embedder.name}, {embeddings.shape[1]}-d)"
    )
    return embeddings, stats


def _encoder(embedder: Embedder, config: TrainConfig) -> Callable[[list[str]], np.ndarray]:
    """Embed more texts (the catalog's examples) with the run's embedder and cache."""
    cache = open_cache(config.cache, config.cache_dir)

    def encode(texts: list[str]) -> np.ndarray:
        return embed(texts, embedder, cache=cache, batch_size=config.batch_size, progress=False)

    return encode


def _fit_sample(
    passages: pl.DataFrame, documents: pl.DataFrame, config: TrainConfig, say: Callable[[str], None]
) -> np.ndarray | None:
    """The rows BERTopic is fitted on when the corpus has more than ``[model] fit_sample``
    passages (stratified by month and outlet), else None (all)."""
    limit = config.model.fit_sample
    if limit is None or passages.height <= limit:
        return None
    from narratives.sampling import passage_strata, stratified_sample

    say(f"fit sample: {limit} of {passages.height} passages, stratified by month and outlet")
    return stratified_sample(passage_strata(passages, documents), limit, config.seed)


def resolve_catalog(config: TrainConfig, models_dir: Path) -> Path | None:
    """The catalog a training reads: the configured one; else the user's catalog in the models
    directory (where feedback goes, see narratives.feedback); else None, the shipped one."""
    if config.catalog:
        return Path(config.catalog)
    user = user_catalog_path(models_dir)
    return user if user.is_file() else None


def _narratives_stage(
    passages: pl.DataFrame,
    embeddings: np.ndarray,
    catalog: Catalog,
    encode: Callable[[list[str]], np.ndarray],
    config: TrainConfig,
    timings: dict[str, float],
    *,
    say: Callable[[str], None],
    engine: Engine | None = None,
) -> NarrativeDetector:
    """The catalogued narratives of every passage (timed)."""
    with _stage(timings, "narratives"):
        detector = NarrativeDetector(
            catalog,
            config.detector,
            seed=config.seed,
            languages=config.languages,
            log=say,
            engine=engine,
        )
        detector.fit(passages, embeddings, encode)
    return detector


def _share_stage(
    detector: NarrativeDetector,
    scores: pl.DataFrame,
    catalog: Catalog,
    config: TrainConfig,
    say: Callable[[str], None],
) -> dict[str, ShareEstimate]:
    """How each narrative's shares are estimated (its error rates and method), said."""
    estimates = share_estimates(
        detector.calibration_, scores, catalog, config.shares, seed=config.seed
    )
    _say_estimates(estimates, say)
    return estimates


def _say_estimates(estimates: dict[str, ShareEstimate], say: Callable[[str], None]) -> None:
    counted = [n for n, e in estimates.items() if e.method == "cc"]
    methods = sorted({e.method for e in estimates.values()} - {"cc"})
    say(
        f"shares: corrected ({', '.join(methods) or 'none'}) for "
        f"{len(estimates) - len(counted)} narratives"
        + (f"; counted for {', '.join(counted)} (too few labelled items)" if counted else "")
    )


def _drift_stage(
    documents: pl.DataFrame,
    passages: pl.DataFrame,
    model: TopicModel,
    scores: pl.DataFrame,
    catalog: Catalog,
    estimates: dict[str, ShareEstimate],
    config: TrainConfig,
    timings: dict[str, float],
    *,
    say: Callable[[str], None],
) -> DriftResult:
    """The drift tables of the topics and of the catalogued narratives (timed)."""
    with _stage(timings, "drift"):
        drift = drift_tables(
            documents,
            passages,
            model.assignments_,
            config.drift,
            languages=config.languages,
            narrative_scores=scores,
            narrative_ids=catalog.ids,
            share_estimates=estimates,
            n_bootstrap=config.shares.n_bootstrap,
        )
    say(
        f"drift: {drift.period} periods; {drift.n_undated_documents} documents without a date "
        "are left out of the drift tables"
    )
    return drift


def _run_record(
    *,
    config: TrainConfig,
    corpus: str,
    documents: pl.DataFrame,
    report: LoadReport,
    catalog: Catalog,
    embedder: Embedder,
    embeddings: np.ndarray,
    model: TopicModel,
    stats: EmbedStats,
    metrics: RunMetrics,
    drift: DriftResult,
    timings: dict[str, float],
    parent: str | None = None,
) -> RunRecord:
    """What run.json says about a training: its inputs, settings, figures and timings."""
    return RunRecord(
        parent=parent,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        package_version=__version__,
        config=config,
        corpus=CorpusInfo(
            path=corpus,
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


def _write_trained_run(
    models_dir: Path,
    name: str,
    tables: dict[str, pl.DataFrame],
    record: RunRecord,
    model: TopicModel,
    detector: NarrativeDetector,
    embedder: Embedder,
    catalog: Catalog,
    *,
    overwrite: bool,
    timings: dict[str, float],
) -> Path:
    """Write the run's tables, record, model, fitted embedder and catalog copy (timed)."""

    def write_model(directory: Path) -> None:
        model.save(directory)
        detector.save(directory)
        save_fitted_embedder(embedder, directory / "embedder.pkl")
        (directory / "catalog.toml").write_bytes(Path(catalog.path).read_bytes())

    start = time.perf_counter()
    run_path = write_run(models_dir, name, tables, record, write_model, overwrite=overwrite)
    timings["write"] = round(time.perf_counter() - start, 3)
    return run_path


def _run_tables(
    documents: pl.DataFrame,
    passages: pl.DataFrame,
    model: TopicModel,
    detector: NarrativeDetector,
    scores: pl.DataFrame,
    estimates: dict[str, ShareEstimate],
    drift_tables: dict[str, pl.DataFrame],
) -> dict[str, pl.DataFrame]:
    """Every table a trained run stores, by name."""
    return {
        "documents": documents,
        "passages": passages,
        "topics": model.topics_,
        "assignments": model.assignments_,
        "narratives": detector.narratives_table().join(
            estimates_table(estimates), on="narrative_id", how="left"
        ),
        "narrative_scores": scores,
        "topic_narratives": topic_narratives(model.assignments_, scores),
        **drift_tables,
    }


def _lineage_stage(
    parent: Run | None,
    passages: pl.DataFrame,
    embeddings: np.ndarray,
    model: TopicModel,
    embedder: Embedder,
    config: TrainConfig,
    timings: dict[str, float],
    say: Callable[[str], None],
) -> pl.DataFrame | None:
    """With a parent run: the lineage table, the model relabelled to the parent's ids (timed)."""
    if parent is None:
        return None
    with _stage(timings, "lineage"):
        lineage = _lineage(parent, passages, embeddings, model, embedder, config)
    relations = lineage["relation"].value_counts().sort("relation").iter_rows()
    say("lineage: " + ", ".join(f"{n} {relation}" for relation, n in relations))
    return lineage


def _lineage(
    parent: Run,
    passages: pl.DataFrame,
    embeddings: np.ndarray,
    model: TopicModel,
    embedder: Embedder,
    config: TrainConfig,
) -> pl.DataFrame:
    """Match the new fit's topics to the parent's, relabel the model, return the lineage table.

    The parent's passage vectors come from the embedding cache; centroid cosines are compared
    only when both runs use the same embedder."""
    from narratives.lineage import centroids, first_free_id, topic_lineage

    stored = parent.table("passages").select("passage_id", "text")
    parent_topics = stored.join(
        parent.table("assignments").select(
            "passage_id", pl.col("topic_id").alias("parent_topic_id")
        ),
        on="passage_id",
        how="left",
        maintain_order="left",
    ).with_columns(pl.col("parent_topic_id").fill_null(-1))
    parent_centroids = {}
    if parent.record.embedder.id == embedder.id:
        vectors = embed(
            stored["text"].to_list(),
            embedder,
            cache=open_cache(config.cache, config.cache_dir),
            batch_size=config.batch_size,
            progress=False,
        )
        parent_centroids = centroids(vectors, parent_topics["parent_topic_id"].to_numpy())
    topics = model.assignments_["topic_id"].to_numpy()
    shared = (
        passages.select("passage_id", "text")
        .with_columns(pl.Series("topic_id", topics))
        .join(parent_topics, on=["passage_id", "text"])
    )
    lineage_rows = parent.table("lineage") if parent.has_table("lineage") else None
    table, ids = topic_lineage(
        shared,
        parent_centroids,
        centroids(np.asarray(embeddings), topics),
        first_free_id(parent.table("topics"), lineage_rows),
    )
    model.relabel(ids)
    return table


def load_documents(corpus: object, config: TrainConfig) -> tuple[pl.DataFrame, LoadReport, str]:
    """The corpus's documents, the load report and what run.json names as the corpus: the
    resolved path of a file or directory, or "DataFrame" for an in-memory polars or pandas
    frame (validated with the same rules)."""
    columns = ColumnMap.from_mapping(config.columns)
    if isinstance(corpus, str | Path):
        documents, report = load_corpus(corpus, columns)
        return documents, report, str(Path(corpus).resolve())
    documents, report = load_frame(corpus, columns)
    return documents, report, str(report.path)


def train(
    corpus: str | Path | object,
    config: TrainConfig | None = None,
    *,
    run_name: str | None = None,
    models_dir: Path = Path("models"),
    overwrite: bool = False,
    progress: bool = True,
    log: Callable[[str], None] | None = print_stderr,
    parent: Run | None = None,
    engine: Engine | None = None,
) -> TrainResult:
    """Train on ``corpus`` (a path, or a polars or pandas DataFrame of the corpus columns) with
    ``config`` and write the run; returns its path and figures. With ``parent``, each discovered
    topic is matched to the parent run's topics (narratives.lineage): continued topics keep the
    parent's ids, and the run gains a ``lineage`` table. ``engine`` runs the per-passage steps
    (embedding, query matching, assigning passages outside a fit sample; narratives.engine)."""
    config = config or TrainConfig()
    say = log or (lambda _message: None)
    timings: dict[str, float] = {}

    prepare_target(models_dir, run_name, overwrite=overwrite, say=say)
    with _stage(timings, "load"):
        documents, report, corpus_name = load_documents(corpus, config)
        catalog = load_catalog(resolve_catalog(config, models_dir))
    say(f"corpus: {report.summary()}")
    say(
        f"catalog: {catalog.path} ({len(catalog.ids)} narratives, {len(catalog.feedback)} feedback)"
    )

    with _stage(timings, "passages"):
        passages = split_passages(documents, **asdict(config.passages))
    say(f"passages: {passages.height} from {documents.height} documents")

    embedder = get_embedder(config.embedder, seed=config.seed)
    embeddings, stats = _embed_passages(
        passages, embedder, config, timings, progress=progress, say=say, engine=engine
    )
    encode = _encoder(embedder, config)

    with _stage(timings, "fit"):
        sample = _fit_sample(passages, documents, config, say)
        model = TopicModel.from_config(config, embedder, log=say, engine=engine)
        model.fit(passages, embeddings, sample)
    lineage = _lineage_stage(parent, passages, embeddings, model, embedder, config, timings, say)
    detector = _narratives_stage(
        passages, embeddings, catalog, encode, config, timings, say=say, engine=engine
    )
    scores = detector.scores_table(passages)
    estimates = _share_stage(detector, scores, catalog, config, say)
    drift = _drift_stage(
        documents, passages, model, scores, catalog, estimates, config, timings, say=say
    )

    metrics = RunMetrics.of(documents, passages, model.topics_, model.assignments_, scores)
    record = _run_record(
        config=config,
        corpus=corpus_name,
        documents=documents,
        report=report,
        catalog=catalog,
        embedder=embedder,
        embeddings=embeddings,
        model=model,
        stats=stats,
        metrics=metrics,
        drift=drift,
        timings=timings,
        parent=parent.name if parent is not None else None,
    )
    run_path = _write_trained_run(
        models_dir,
        run_name or new_run_name(Path(corpus_name)),
        _run_tables(documents, passages, model, detector, scores, estimates, drift.tables)
        | {"repeats": report.repeats_table()}
        | ({} if lineage is None else {"lineage": lineage}),
        record,
        model,
        detector,
        embedder,
        catalog,
        overwrite=overwrite,
        timings=timings,
    )
    say(f"run written: {run_path}")
    return TrainResult(run_path=run_path, timings=timings, metrics=metrics)
