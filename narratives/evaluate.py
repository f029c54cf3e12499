"""How good are a run's narratives? Coherence, diversity, stability and agreement with gold labels.

The metrics are pure functions on sequences, numpy arrays and polars frames; ``evaluate_run``
puts them together for one run and returns a plain record plus tables, which the CLI prints and
stores in the run.

- *Coherence*: NPMI of each topic's keyword pairs, counted over the corpus's own passages (one
  passage = one context window), in the token space of the project's analyzer
  (narratives/vectorizer.py) so that keywords and passages are compared lemma to lemma.
- *Diversity*: unique keywords over all keywords of the topics' top lists (1 = no overlap).
- *Stability*: agreement (ARI, NMI) of the passages' topics between the run and refits with
  other seeds, on the same embeddings.
- *Agreement with gold labels*: per document (a gold label belongs to a document; a document's
  topic is its main topic, the topic of most of its passages, and its narrative the catalogued
  narrative most of its passages carry), NMI, ARI and purity of topics and of catalogued
  narratives against the labels, and precision, recall and F1 of each catalogued narrative
  mapped to a label.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from scipy import sparse

from narratives.config import TrainConfig
from narratives.embed import Embedder
from narratives.errors import InputError, RunError
from narratives.labels import corpus_labels_source, load_labels
from narratives.runs import Run
from narratives.schemas import OUTLIER_TOPIC
from narratives.vectorizer import TOKEN_OR_BREAK, TopicWordAnalyzer

NO_NARRATIVE = "(none)"
"""The stand-in 'narrative' of documents none of whose passages carries a catalogued one."""

UNIT_NOTE = (
    "per document: a document's topic is its main topic (the topic of most of its passages; "
    "ties go to a real topic before the outliers, then to the lower id), its narrative the "
    "catalogued narrative most of its passages carry; outliers count as one cluster; documents "
    "without a gold label are left out"
)

# Metrics


def npmi_coherence(
    topic_words: Sequence[Sequence[str]], documents: Sequence[Collection[str]]
) -> np.ndarray:
    """Mean NPMI over the pairs of each topic's words, counted over ``documents``.

    A word's probability is the share of documents holding it, a pair's the share holding both.
    NPMI = log(p(a,b) / (p(a) p(b))) / -log p(a,b): 1 for words that always occur together, 0 for
    independent ones, -1 for words never seen together. Words absent from every document are left
    out; a topic with fewer than two known words gets NaN.
    """
    vocabulary = sorted({word for words in topic_words for word in words})
    index = {word: i for i, word in enumerate(vocabulary)}
    rows, cols = [], []
    for row, document in enumerate(documents):
        hits = [index[w] for w in set(document) if w in index]
        rows.extend([row] * len(hits))
        cols.extend(hits)
    n_docs = max(len(documents), 1)
    present = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float64), (rows, cols)),
        shape=(len(documents), len(vocabulary)),
    )
    joint = (present.T @ present).toarray() / n_docs
    scores = np.full(len(topic_words), np.nan)
    for t, words in enumerate(topic_words):
        ids = [index[w] for w in dict.fromkeys(words) if joint[index[w], index[w]] > 0]
        if len(ids) < 2:
            continue
        first, second = np.triu_indices(len(ids), 1)
        a, b = np.asarray(ids)[first], np.asarray(ids)[second]
        p_ab, p_a, p_b = joint[a, b], joint[a, a], joint[b, b]
        with np.errstate(divide="ignore", invalid="ignore"):
            npmi = np.log(p_ab / (p_a * p_b)) / -np.log(p_ab)
        npmi = np.where(p_ab == 0, -1.0, np.where(p_ab >= 1.0, 1.0, npmi))
        scores[t] = float(npmi.mean())
    return scores


def topic_diversity(topic_words: Sequence[Sequence[str]], top_k: int | None = None) -> float:
    """Share of unique words among the topics' top ``top_k`` words (1: no word in two topics)."""
    tops = [list(words)[:top_k] for words in topic_words]
    total = sum(len(words) for words in tops)
    if total == 0:
        return float("nan")
    return len({word for words in tops for word in words}) / total


def nmi(labels_true: Sequence, labels_pred: Sequence) -> float:
    """Normalised mutual information (arithmetic normalisation): 1 = same partition, ~0 = random."""
    from sklearn.metrics import normalized_mutual_info_score

    return float(normalized_mutual_info_score(_codes(labels_true), _codes(labels_pred)))


def ari(labels_true: Sequence, labels_pred: Sequence) -> float:
    """Adjusted Rand index: 1 = same partition, ~0 = chance, negative = worse than chance."""
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(_codes(labels_true), _codes(labels_pred)))


def purity(labels_true: Sequence, labels_pred: Sequence) -> float:
    """Share of items whose cluster's most frequent true label is their own."""
    true, pred = _codes(labels_true), _codes(labels_pred)
    if len(true) == 0:
        return float("nan")
    table = sparse.coo_matrix((np.ones(len(true)), (pred, true))).toarray()
    return float(table.max(axis=1).sum() / len(true))


def _codes(labels: Sequence) -> np.ndarray:
    """Integer codes of any hashable labels (None is a label of its own)."""
    values = ["\0none" if v is None else str(v) for v in labels]
    return np.unique(np.asarray(values, dtype=object).astype(str), return_inverse=True)[1]


def stability(assignments: Sequence[Sequence]) -> dict[str, float]:
    """Mean (and lowest) ARI and NMI over every pair of assignments of the same items."""
    pairs = list(combinations(range(len(assignments)), 2))
    if not pairs:
        return {}
    aris = [ari(assignments[i], assignments[j]) for i, j in pairs]
    nmis = [nmi(assignments[i], assignments[j]) for i, j in pairs]
    return {
        "ari": float(np.mean(aris)),
        "ari_min": float(np.min(aris)),
        "nmi": float(np.mean(nmis)),
        "nmi_min": float(np.min(nmis)),
        "n_fits": len(assignments),
    }


def majority_mapping(
    predicted: Sequence[str | None], gold: Sequence[str]
) -> dict[str, tuple[str, float]]:
    """Each predicted class (None left out) -> (the gold label it overlaps most, that share).

    Ties go to the alphabetically first label.
    """
    frame = pl.DataFrame({"pred": list(predicted), "gold": list(gold)}, schema=_PAIR)
    counts = (
        frame.drop_nulls("pred")
        .group_by("pred", "gold")
        .len()
        .sort(["pred", "len", "gold"], descending=[False, True, False])
        .with_columns((pl.col("len") / pl.col("len").sum().over("pred")).alias("share"))
        .group_by("pred", maintain_order=True)
        .first()
    )
    return {row["pred"]: (row["gold"], row["share"]) for row in counts.iter_rows(named=True)}


_PAIR = {"pred": pl.String, "gold": pl.String}
PRF_SCHEMA = pl.Schema(
    {
        "label": pl.String,
        "narratives": pl.List(pl.String),
        "n_gold": pl.UInt32,
        "n_predicted": pl.UInt32,
        "n_correct": pl.UInt32,
        "precision": pl.Float64,
        "recall": pl.Float64,
        "f1": pl.Float64,
    }
)


def label_prf(
    predicted: Sequence[str | None], gold: Sequence[str], mapping: Mapping[str, str]
) -> pl.DataFrame:
    """Precision, recall and F1 per gold label of the predicted classes ``mapping`` sends to it.

    A document is predicted to carry label L when its predicted class maps to L; classes outside
    ``mapping`` (and None) predict nothing. One row per label that some class maps to.
    """
    frame = pl.DataFrame({"pred": list(predicted), "gold": list(gold)}, schema=_PAIR)
    frame = frame.with_columns(
        pl.col("pred").replace_strict(dict(mapping), default=None, return_dtype=pl.String)
    )
    rows = []
    for label in sorted(set(mapping.values())):
        is_gold, is_pred = frame["gold"] == label, (frame["pred"] == label).fill_null(False)
        n_gold, n_pred = int(is_gold.sum()), int(is_pred.sum())
        correct = int((is_gold & is_pred).sum())
        precision = correct / n_pred if n_pred else 0.0
        recall = correct / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if correct else 0.0
        narratives = sorted(k for k, v in mapping.items() if v == label)
        rows.append((label, narratives, n_gold, n_pred, correct, precision, recall, f1))
    return pl.DataFrame(rows, schema=PRF_SCHEMA, orient="row")


def main_topics(assignments: pl.DataFrame) -> pl.DataFrame:
    """(doc_id, topic_id): each document's main topic, the topic of most of its passages.

    Ties go to a real topic before the outliers, then to the lower topic id.
    """
    return (
        assignments.group_by("doc_id", "topic_id")
        .len()
        .sort(
            ["doc_id", "len", (pl.col("topic_id") == OUTLIER_TOPIC), "topic_id"],
            descending=[False, True, False, False],
        )
        .group_by("doc_id", maintain_order=True)
        .first()
        .select("doc_id", "topic_id")
    )


def main_narratives(assignments: pl.DataFrame, topics: pl.DataFrame) -> pl.DataFrame:
    """(doc_id, narrative_id): the catalogued narrative most of a document's passages carry
    (ties: the first id); documents none of whose passages carries one are left out."""
    return (
        assignments.join(topics.select("topic_id", "narrative_id"), on="topic_id", how="inner")
        .drop_nulls("narrative_id")
        .group_by("doc_id", "narrative_id")
        .len()
        .sort(["doc_id", "len", "narrative_id"], descending=[False, True, False])
        .group_by("doc_id", maintain_order=True)
        .first()
        .select("doc_id", "narrative_id")
    )


# Keywords in the analyzer's token space


def tokenise(texts: Iterable[str], analyzer: Callable[[str], list[str]]) -> list[set[str]]:
    """The set of terms ``analyzer`` finds in each text (lemmas and n-grams for ours)."""
    return [set(analyzer(text)) for text in texts]


def keyword_terms(
    keywords: Sequence[str], analyzer: TopicWordAnalyzer, vocabulary: Collection[str]
) -> list[str]:
    """Analyzer terms of displayed keywords ("diplomatische Lösung" -> "diplomatisch lösung").

    Keywords are shown in their natural spelling; each is mapped back to the term the analyzer
    gives it in the first configured language whose term occurs in ``vocabulary``.
    """
    terms = []
    for keyword in keywords:
        tokens = [t for t in TOKEN_OR_BREAK.findall(keyword) if t]
        candidates = [
            " ".join(keys)
            for lang in analyzer.languages
            if all(keys := [analyzer.term_key(t, lang) for t in tokens]) and keys
        ]
        known = [c for c in candidates if c in vocabulary]
        if known or candidates:
            terms.append((known or candidates)[0])
    return list(dict.fromkeys(terms))


# One run, end to end


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
    config = _run_config(run)
    gold, source = _gold_labels(run, labels, label_column, id_column, labels_from_corpus)
    if gold is None and labels_required:
        raise InputError(
            f"no gold labels: the run's corpus has no column '{label_column}'; pass --labels FILE",
            path=run.record.get("corpus", {}).get("path"),
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
    seeds = _stability_seeds(config.seed, stability_seeds)
    start = time.perf_counter()
    if seeds:
        refits = refit_assignments(run, seeds, config, log=say)
        record["stability"] = {
            "seeds": [config.seed, *seeds],
            "unit": "passage",
            **stability([assignments["topic_id"].to_numpy(), *refits]),
        }
    else:
        record["stability"] = None
    timings["stability"] = round(time.perf_counter() - start, 3)
    start = time.perf_counter()
    label_table = pl.DataFrame(schema=PRF_SCHEMA)
    if gold is None:
        record["labels"] = None
    else:
        say(f"gold labels: {source}, column '{label_column}'")
        try:
            agreement, label_table = label_agreement(
                assignments.select("passage_id", "doc_id", "topic_id"),
                topics,
                gold,
                mapping,
                run.record.get("catalog", {}).get("ids"),
            )
        except InputError as exc:
            if exc.field != "doc_id":
                raise
            path = Path(str(labels)) if isinstance(labels, (str, Path)) else None
            raise InputError(exc.reason, path=path, field=id_column) from exc
        record["labels"] = {"source": source, "column": label_column, **agreement}
    timings["labels"] = round(time.perf_counter() - start, 3)
    record["timings"] = timings
    return Evaluation(
        record=record,
        tables={"evaluation_topics": topic_table, "evaluation_labels": label_table},
    )


def _mean(values: pl.Series) -> float | None:
    finite = values.drop_nulls().drop_nans()
    return float(finite.mean()) if finite.len() else None


def _stability_seeds(seed: int, seeds: Sequence[int] | None) -> list[int]:
    return [seed + 1, seed + 2] if seeds is None else [int(s) for s in seeds]


def _run_config(run: Run) -> TrainConfig:
    """The run's TrainConfig (keys this version does not know are ignored)."""
    stored = run.record.get("config", {}) or {}
    known = {f.name for f in fields(TrainConfig)}
    try:
        return TrainConfig(**{k: v for k, v in stored.items() if k in known})
    except (InputError, TypeError) as exc:
        raise RunError(f"{run.path / 'run.json'}, field 'config': {exc}") from exc


def coherence_table(
    topics: pl.DataFrame,
    documents: Sequence[Collection[str]],
    analyzer: TopicWordAnalyzer,
    top_n: int = 10,
) -> pl.DataFrame:
    """Per topic of a Topics table: the analyzer terms of its top keywords and their NPMI over
    ``documents`` (the passages, tokenised with ``analyzer``); NaN for the outliers."""
    vocabulary = set().union(*documents) if documents else set()
    terms = [
        [] if topic == OUTLIER_TOPIC else keyword_terms(words[:top_n], analyzer, vocabulary)
        for topic, words in zip(topics["topic_id"], topics["keywords"].to_list(), strict=True)
    ]
    scores = npmi_coherence(terms, documents)
    return topics.select("topic_id", "label", "narrative_id", "size").with_columns(
        pl.Series("terms", terms, dtype=pl.List(pl.String)),
        pl.Series("npmi", scores, dtype=pl.Float64),
    )


def run_analyzer(config: TrainConfig) -> TopicWordAnalyzer:
    """The analyzer a run's keywords were counted with (its languages and n-gram range)."""
    return TopicWordAnalyzer(
        languages=tuple(config.languages), ngram_range=tuple(config.ngram_range)
    )


def refit_assignments(
    run: Run,
    seeds: Sequence[int],
    config: TrainConfig | None = None,
    *,
    log: Callable[[str], None] | None = None,
) -> list[np.ndarray]:
    """The passages' topics (in passage order) of the run's model refitted with each seed, on the
    run's embeddings (read from the embedding cache; computed and cached where missing)."""
    from narratives.catalog import load_catalog
    from narratives.embed import EmbeddingCache, default_cache_dir, embed
    from narratives.pipeline import narrative_model

    say = log or (lambda _message: None)
    config = config or _run_config(run)
    passages = run.table("passages")
    texts = passages["text"].to_list()
    embedder = _run_embedder(run, config.embedder, texts)
    cache = None
    if config.cache:
        cache = EmbeddingCache(Path(config.cache_dir) if config.cache_dir else default_cache_dir())
    embeddings = embed(texts, embedder, cache=cache, batch_size=config.batch_size, progress=False)
    stored = run.model_dir / "catalog.toml"
    catalog = load_catalog(stored if stored.is_file() else config.catalog)
    results = []
    for number, seed in enumerate(seeds, start=1):
        say(f"stability: refitting with seed {seed} ({number} of {len(seeds)})")
        model = narrative_model(config, embedder, catalog, seed=seed).fit(passages, embeddings)
        results.append(model.assignments_["topic_id"].to_numpy())
    return results


def _run_embedder(run: Run, name: str, texts: list[str]) -> Embedder:
    """The run's embedder: the fitted one stored in the run, or the named packaged one."""
    import pickle

    from narratives.embed import get_embedder

    stored = run.model_dir / "embedder.pkl"
    if stored.is_file():
        with open(stored, "rb") as handle:
            return pickle.load(handle)
    embedder = get_embedder(run.record.get("embedder", {}).get("name", name))
    if embedder.fitted_on_corpus:
        embedder.fit(texts)
    return embedder


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
