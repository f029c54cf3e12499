"""How good are a run's narratives? One run evaluated end to end.

``evaluate_run`` opens what the run stores through its load API (``Run.config``,
``Run.embedder()``, ``Run.catalog()``), computes the metrics of ``narratives.metrics`` on it and
returns a plain record plus tables, which the CLI prints and stores in the run:

- coherence (NPMI) and diversity of the topics' keywords, the outlier share;
- stability: the model refitted with other seeds on the same embeddings;
- with gold labels, the agreement of narratives.agreement: multi-label precision, recall and
  F1 per narrative where the labels name catalog narratives, partition agreement (NMI, ARI,
  purity, mapped P/R/F1) where they do not.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from narratives.agreement import GoldLabels, label_agreement, narrative_agreement, read_gold
from narratives.config import TrainConfig
from narratives.detect import document_narratives
from narratives.errors import InputError
from narratives.metrics import (
    PRF_SCHEMA,
    coherence_table,
    stability,
    tokenise,
    topic_diversity,
)
from narratives.runs import Run
from narratives.schemas import EVALUATION_NARRATIVES, OUTLIER_TOPIC
from narratives.vectorizer import TopicWordAnalyzer


@dataclass
class Evaluation:
    """What ``evaluate_run`` found: a plain record (stored under "evaluation" in run.json) and
    tables (``evaluation_topics``: coherence per topic; ``evaluation_narratives``: P/R/F1 per
    narrative against labels that name catalog narratives; ``evaluation_labels``: P/R/F1 per
    label otherwise; empty where they do not apply)."""

    record: dict[str, Any]
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)


def evaluate_run(
    run: Run,
    labels: str | Path | pl.DataFrame | None = None,
    *,
    label_column: str = "narrative",
    id_column: str = "doc_id",
    label_unit: str = "document",
    labels_from_corpus: bool = True,
    labels_required: bool = False,
    mapping: Mapping[str, str] | None = None,
    stability_seeds: Sequence[int] | None = None,
    top_n: int = 10,
    log: Callable[[str], None] | None = None,
) -> Evaluation:
    """Evaluate a run: coherence, diversity, outliers, stability and, with gold labels, agreement.

    ``labels`` is a labels file (CSV, JSONL, Parquet) or a frame ((doc_id, label), or (doc_id,
    labels) with lists); without it, a run trained on a tabular corpus file that has
    ``label_column`` takes the labels from there (unless ``labels_from_corpus`` is false;
    ``labels_required`` makes their absence an error). Labels that name catalog narratives are
    compared multi-label per ``label_unit`` (document or passage); other labels as a partition,
    where ``mapping`` sends catalogued narrative ids to gold labels (default: each narrative to
    the label it overlaps most). ``stability_seeds`` are the seeds of the refits (default: the
    run's seed + 1 and + 2; empty to skip).
    """
    say = log or (lambda _message: None)
    timings: dict[str, float] = {}
    config = run.config
    gold = read_gold(run, labels, label_column, id_column, labels_from_corpus)
    if gold is None and labels_required:
        raise InputError(
            f"no gold labels: the run's corpus has no column '{label_column}'; pass --labels FILE",
            path=run.record.corpus.path or None,
            field=label_column,
        )
    passages = run.table("passages")
    assignments = (
        passages.select("passage_id")
        .join(run.table("assignments"), on="passage_id", how="left", maintain_order="left")
        .with_columns(pl.col("topic_id").fill_null(OUTLIER_TOPIC))
    )
    start = time.perf_counter()
    record, topic_table = _topic_quality(run, passages, assignments, top_n)
    timings["coherence"] = round(time.perf_counter() - start, 3)
    start = time.perf_counter()
    record["stability"] = _stability_record(
        run, assignments, config, _stability_seeds(config.seed, stability_seeds), say
    )
    timings["stability"] = round(time.perf_counter() - start, 3)
    start = time.perf_counter()
    tables = {"evaluation_topics": topic_table}
    record["labels"], record["narratives"], label_tables = _labels_record(
        run, assignments, gold, labels=labels, id_column=id_column, unit=label_unit, say=say,
        mapping=mapping,
    )  # fmt: skip
    tables |= label_tables
    timings["labels"] = round(time.perf_counter() - start, 3)
    record["timings"] = timings
    return Evaluation(record=record, tables=tables)


def _topic_quality(
    run: Run, passages: pl.DataFrame, assignments: pl.DataFrame, top_n: int
) -> tuple[dict[str, Any], pl.DataFrame]:
    """Coherence, diversity and counts of the run's topics and narratives."""
    analyzer = run_analyzer(run.config)
    documents = tokenise(passages["text"].to_list(), analyzer)
    topic_table = coherence_table(run.table("topics"), documents, analyzer, top_n)
    real = topic_table.filter(pl.col("topic_id") != OUTLIER_TOPIC)
    record: dict[str, Any] = {
        "evaluated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "n_passages": passages.height,
        "n_documents": int(passages["doc_id"].n_unique()),
        "n_topics": real.height,
        "n_catalog_narratives": run.record.metrics.n_catalog_narratives_found,
        "outlier_share": float((assignments["topic_id"] == OUTLIER_TOPIC).mean() or 0.0),
        "coherence_npmi": _mean(real["npmi"]),
        "coherence_top_n": top_n,
        "topic_diversity": topic_diversity(real["terms"].to_list()),
    }
    return record, topic_table


def _stability_record(
    run: Run,
    assignments: pl.DataFrame,
    config: TrainConfig,
    seeds: list[int],
    say: Callable[[str], None],
) -> dict[str, Any] | None:
    """Agreement of the run's passage topics with refits on other seeds (None without seeds)."""
    if not seeds:
        return None
    refits = refit_assignments(run, seeds, config, log=say)
    return {
        "seeds": [config.seed, *seeds],
        "unit": "passage",
        **stability([assignments["topic_id"].to_numpy(), *refits]),
    }


def _labels_record(
    run: Run,
    assignments: pl.DataFrame,
    gold: GoldLabels | None,
    *,
    labels: str | Path | pl.DataFrame | None,
    id_column: str,
    unit: str,
    mapping: Mapping[str, str] | None,
    say: Callable[[str], None],
) -> tuple[dict[str, Any] | None, dict[str, Any] | None, dict[str, pl.DataFrame]]:
    """(partition agreement, narrative agreement, tables): one of the two, by the kind of the
    gold labels; neither without labels. An id that matches nothing is reported against the
    labels file and its id column."""
    empty = {
        "evaluation_labels": pl.DataFrame(schema=PRF_SCHEMA),
        "evaluation_narratives": pl.DataFrame(schema=EVALUATION_NARRATIVES),
    }
    if gold is None:
        return None, None, empty
    say(f"gold labels: {gold.source}, column '{gold.column}'")
    where = {"source": gold.source, "column": gold.column}
    try:
        if gold.sets is not None:
            agreement, table = narrative_agreement(run, gold.sets, unit)
            return None, {**where, "matched_by": gold.matched_by, **agreement}, {
                **empty, "evaluation_narratives": table
            }  # fmt: skip
        carried = document_narratives(run.table("narrative_scores"))
        agreement, table = label_agreement(
            assignments.select("passage_id", "doc_id", "topic_id"),
            carried,
            gold.single,
            mapping,
            run.record.catalog.ids,
        )
    except InputError as exc:
        if exc.field != "doc_id":
            raise
        path = Path(str(labels)) if isinstance(labels, (str, Path)) else None
        raise InputError(exc.reason, path=path, field=id_column) from exc
    return {**where, **agreement}, None, {**empty, "evaluation_labels": table}


def _mean(values: pl.Series) -> float | None:
    finite = values.drop_nulls().drop_nans()
    return float(finite.mean()) if finite.len() else None


def _stability_seeds(seed: int, seeds: Sequence[int] | None) -> list[int]:
    return [seed + 1, seed + 2] if seeds is None else [int(s) for s in seeds]


def run_analyzer(config: TrainConfig) -> TopicWordAnalyzer:
    """The analyzer a run's keywords were counted with (its languages and n-gram range)."""
    return TopicWordAnalyzer(languages=config.languages, ngram_range=config.model.ngram_range)


def refit_assignments(
    run: Run,
    seeds: Sequence[int],
    config: TrainConfig | None = None,
    *,
    log: Callable[[str], None] | None = None,
) -> list[np.ndarray]:
    """The passages' topics (in passage order) of the run's model refitted with each seed, on the
    run's embeddings (read from the embedding cache; computed and cached where missing)."""
    from narratives.embed import embed, open_cache
    from narratives.model import TopicModel

    say = log or (lambda _message: None)
    config = config or run.config
    passages = run.table("passages")
    embedder = run.embedder()
    embeddings = embed(
        passages["text"].to_list(),
        embedder,
        cache=open_cache(config.cache, config.cache_dir),
        batch_size=config.batch_size,
        progress=False,
    )
    results = []
    for number, seed in enumerate(seeds, start=1):
        say(f"stability: refitting with seed {seed} ({number} of {len(seeds)})")
        model = TopicModel.from_config(config, embedder, seed=seed)
        results.append(model.fit(passages, embeddings).assignments_["topic_id"].to_numpy())
    return results
