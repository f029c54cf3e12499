"""How good are a run's narratives? One run evaluated end to end.

``evaluate_run`` opens what the run stores through its load API (``Run.config``,
``Run.embedder()``, ``Run.catalog()``), computes the metrics of ``narratives.metrics`` on it and
returns a plain record plus tables, which the CLI prints and stores in the run:

- coherence (NPMI) and diversity of the topics' keywords, the outlier share;
- stability: the model refitted with other seeds on the same embeddings;
- with gold labels, per document (a gold label belongs to a document; a document's topic is its
  main topic, the topic of most of its passages, and its narrative the catalogued narrative most
  of its passages carry), NMI, ARI and purity of topics and of catalogued narratives against the
  labels, and precision, recall and F1 of each catalogued narrative mapped to a label.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from narratives.config import TrainConfig
from narratives.errors import InputError
from narratives.labels import corpus_labels_source, load_labels
from narratives.metrics import (
    PRF_SCHEMA,
    ari,
    coherence_table,
    label_prf,
    main_narratives,
    main_topics,
    majority_mapping,
    nmi,
    purity,
    stability,
    tokenise,
    topic_diversity,
)
from narratives.runs import Run
from narratives.schemas import OUTLIER_TOPIC
from narratives.vectorizer import TopicWordAnalyzer

NO_NARRATIVE = "(none)"
"""The stand-in 'narrative' of documents none of whose passages carries a catalogued one."""

UNIT_NOTE = (
    "per document: a document's topic is its main topic (the topic of most of its passages; "
    "ties go to a real topic before the outliers, then to the lower id), its narrative the "
    "catalogued narrative most of its passages carry; outliers count as one cluster; documents "
    "without a gold label are left out"
)


@dataclass
class Evaluation:
    """What ``evaluate_run`` found: a plain record (stored under "evaluation" in run.json) and
    tables (``evaluation_topics``: coherence per topic; ``evaluation_labels``: P/R/F1 per label,
    empty without gold labels)."""

    record: dict[str, Any]
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)


def evaluate_run(
    run: Run,
    labels: str | Path | pl.DataFrame | None = None,
    *,
    label_column: str = "narrative",
    id_column: str = "doc_id",
    labels_from_corpus: bool = True,
    labels_required: bool = False,
    mapping: Mapping[str, str] | None = None,
    stability_seeds: Sequence[int] | None = None,
    top_n: int = 10,
    log: Callable[[str], None] | None = None,
) -> Evaluation:
    """Evaluate a run: coherence, diversity, outliers, stability and, with gold labels, agreement.

    ``labels`` is a labels file (CSV, JSONL, Parquet) or a (doc_id, label) frame; without it, a
    run trained on a tabular corpus file that has ``label_column`` takes the labels from there
    (unless ``labels_from_corpus`` is false; ``labels_required`` makes their absence an error).
    ``mapping`` sends catalogued narrative ids to gold labels (default: each narrative to the
    label it overlaps most). ``stability_seeds`` are the seeds of the refits (default: the run's
    seed + 1 and + 2; empty to skip).
    """
    say = log or (lambda _message: None)
    timings: dict[str, float] = {}
    config = run.config
    gold, source = _gold_labels(run, labels, label_column, id_column, labels_from_corpus)
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
    topics = run.table("topics")
    start = time.perf_counter()
    analyzer = run_analyzer(config)
    documents = tokenise(passages["text"].to_list(), analyzer)
    topic_table = coherence_table(topics, documents, analyzer, top_n)
    timings["coherence"] = round(time.perf_counter() - start, 3)
    real = topic_table.filter(pl.col("topic_id") != OUTLIER_TOPIC)
    record: dict[str, Any] = {
        "evaluated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "n_passages": passages.height,
        "n_documents": int(passages["doc_id"].n_unique()),
        "n_topics": real.height,
        "n_catalog_narratives": int(real["narrative_id"].drop_nulls().n_unique()),
        "outlier_share": float((assignments["topic_id"] == OUTLIER_TOPIC).mean() or 0.0),
        "coherence_npmi": _mean(real["npmi"]),
        "coherence_top_n": top_n,
        "topic_diversity": topic_diversity(real["terms"].to_list()),
    }
    start = time.perf_counter()
    record["stability"] = _stability_record(
        run, assignments, config, _stability_seeds(config.seed, stability_seeds), say
    )
    timings["stability"] = round(time.perf_counter() - start, 3)
    start = time.perf_counter()
    record["labels"], label_table = _labels_record(
        run,
        assignments,
        topics,
        gold,
        source,
        labels=labels,
        label_column=label_column,
        id_column=id_column,
        mapping=mapping,
        say=say,
    )
    timings["labels"] = round(time.perf_counter() - start, 3)
    record["timings"] = timings
    return Evaluation(
        record=record,
        tables={"evaluation_topics": topic_table, "evaluation_labels": label_table},
    )


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
    topics: pl.DataFrame,
    gold: pl.DataFrame | None,
    source: str | None,
    *,
    labels: str | Path | pl.DataFrame | None,
    label_column: str,
    id_column: str,
    mapping: Mapping[str, str] | None,
    say: Callable[[str], None],
) -> tuple[dict[str, Any] | None, pl.DataFrame]:
    """Agreement with the gold labels and P/R/F1 per label (None and an empty table without).

    An id that matches no document is reported against the labels file and its id column.
    """
    if gold is None:
        return None, pl.DataFrame(schema=PRF_SCHEMA)
    say(f"gold labels: {source}, column '{label_column}'")
    try:
        agreement, label_table = label_agreement(
            assignments.select("passage_id", "doc_id", "topic_id"),
            topics,
            gold,
            mapping,
            run.record.catalog.ids,
        )
    except InputError as exc:
        if exc.field != "doc_id":
            raise
        path = Path(str(labels)) if isinstance(labels, (str, Path)) else None
        raise InputError(exc.reason, path=path, field=id_column) from exc
    return {"source": source, "column": label_column, **agreement}, label_table


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
    from narratives.model import NarrativeModel

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
    catalog = run.catalog()
    results = []
    for number, seed in enumerate(seeds, start=1):
        say(f"stability: refitting with seed {seed} ({number} of {len(seeds)})")
        model = NarrativeModel.from_config(config, embedder, catalog, seed=seed)
        results.append(model.fit(passages, embeddings).assignments_["topic_id"].to_numpy())
    return results


def _gold_labels(
    run: Run,
    labels: str | Path | pl.DataFrame | None,
    label_column: str,
    id_column: str,
    from_corpus: bool,
) -> tuple[pl.DataFrame | None, str | None]:
    """(doc_id, label[, row]) frame and where it came from, or (None, None) without labels."""
    if isinstance(labels, pl.DataFrame):
        return labels.select("doc_id", "label"), "given table"
    if labels is not None:
        path = Path(labels)
        corpus = corpus_labels_source(run.record)
        same = corpus is not None and path.resolve() == corpus[0].resolve()
        frame = load_labels(path, id_column=id_column, label_column=label_column, generate_ids=same)
        return frame, str(path)
    corpus = corpus_labels_source(run.record) if from_corpus else None
    if corpus is None:
        return None, None
    try:
        frame = load_labels(
            corpus[0], id_column=corpus[1], label_column=label_column, generate_ids=True
        )
    except InputError as exc:
        if exc.field == label_column and exc.row is None:
            return None, None
        raise
    return frame, f"{corpus[0]} (the run's corpus)"


def label_agreement(
    assignments: pl.DataFrame,
    topics: pl.DataFrame,
    gold: pl.DataFrame,
    mapping: Mapping[str, str] | None = None,
    known_narratives: Collection[str] | None = None,
) -> tuple[dict[str, Any], pl.DataFrame]:
    """Agreement of topics and catalogued narratives with gold labels, per document.

    ``assignments`` (passage_id, doc_id, topic_id) give each document its main topic, ``topics``
    its narrative_id, ``gold`` (doc_id, label) the labels. Returns NMI, ARI and purity of the main
    topics and of the narratives (documents without one count as NO_NARRATIVE), and P/R/F1 per
    label of the narratives mapped to labels (``mapping``, or each narrative to the label most of
    its documents carry).
    """
    main = main_topics(assignments).join(
        main_narratives(assignments, topics), on="doc_id", how="left"
    )
    labelled = gold.filter(pl.col("label").is_not_null()).select("doc_id", "label")
    joined = main.join(labelled, on="doc_id", how="inner")
    if joined.height == 0:
        example = ", ".join(repr(e) for e in main["doc_id"].head(3).to_list())
        raise InputError(
            f"none of the {labelled.height} labelled ids is a document of the run (its ids look "
            f"like {example}); check --id-column",
            field="doc_id",
        )
    truth = joined["label"].to_list()
    narrative_pred = joined["narrative_id"].to_list()
    if mapping is None:
        chosen = {k: v[0] for k, v in majority_mapping(narrative_pred, truth).items()}
        rule = "each catalogued narrative to the gold label most of its documents carry"
    else:
        chosen = _checked_mapping(mapping, known_narratives, set(truth))
        rule = "given by the user"
    prf = label_prf(narrative_pred, truth, chosen)
    record = {
        "unit": UNIT_NOTE,
        "n_documents": joined.height,
        "n_labels": len(set(truth)),
        "n_unlabelled_documents": main.height - joined.height,
        "topics": _agreement(truth, joined["topic_id"].to_list()),
        "narratives": _agreement(truth, [n or NO_NARRATIVE for n in narrative_pred]),
        "narrative_coverage": float(np.mean([n is not None for n in narrative_pred])),
        "mapping": {
            narrative: {"label": label, "share_of_its_documents": _share(joined, narrative, label)}
            for narrative, label in sorted(chosen.items())
        },
        "mapping_rule": rule,
        "macro_f1": _mean(prf["f1"]),
    }
    return record, prf


def _share(joined: pl.DataFrame, narrative: str, label: str) -> float:
    """Share of the documents carrying ``narrative`` whose gold label is ``label``."""
    carrying = joined.filter(pl.col("narrative_id") == narrative)
    return round(float((carrying["label"] == label).mean() or 0.0), 4)


def _agreement(truth: Sequence, predicted: Sequence) -> dict[str, float]:
    return {
        "nmi": nmi(truth, predicted),
        "ari": ari(truth, predicted),
        "purity": purity(truth, predicted),
    }


def _checked_mapping(
    mapping: Mapping[str, str], known: Collection[str] | None, labels: set[str]
) -> dict[str, str]:
    for narrative, label in mapping.items():
        if known and narrative not in known:
            raise InputError(
                f"unknown narrative id '{narrative}' (the run's catalog has: "
                f"{', '.join(sorted(known))})",
                field="map",
            )
        if label not in labels:
            raise InputError(f"label {label!r} is not among the gold labels", field="map")
    return dict(mapping)
