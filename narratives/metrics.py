"""Pure metrics of topics and narratives: coherence, diversity, partition agreement, P/R/F1.

Functions on sequences, numpy arrays and polars frames, with no run or model behind them, so they
are tested on known answers; ``narratives.evaluate`` puts them together for one run.

- *Coherence*: NPMI of each topic's keyword pairs, counted over the corpus's own passages (one
  passage = one context window), in the token space of the project's analyzer
  (narratives/vectorizer.py) so that keywords and passages are compared lemma to lemma.
- *Diversity*: unique keywords over all keywords of the topics' top lists (1 = no overlap).
- *Stability*: agreement (ARI, NMI) of the passages' topics between fits with other seeds.
- *Agreement with gold labels*: NMI, ARI and purity of a partition, majority mapping of
  predicted classes to labels, and precision, recall and F1 per label.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from itertools import combinations

import numpy as np
import polars as pl
from scipy import sparse

from narratives.schemas import EVALUATION_LABELS, OUTLIER_TOPIC
from narratives.vectorizer import TOKEN_OR_BREAK, TopicWordAnalyzer


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
PRF_SCHEMA = EVALUATION_LABELS


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


def main_narratives(document_narratives: pl.DataFrame) -> pl.DataFrame:
    """(doc_id, narrative_id): of the narratives a document carries (doc_id, narrative_id,
    n_passages, score), the one most of its passages carry (ties: the higher score, then the
    first id); documents that carry none are left out."""
    return (
        document_narratives.sort(
            ["doc_id", "n_passages", "score", "narrative_id"],
            descending=[False, True, True, False],
        )
        .group_by("doc_id", maintain_order=True)
        .first()
        .select("doc_id", "narrative_id")
    )


def multilabel_scores(
    gold: Sequence[Collection[str]], predicted: Sequence[Collection[str]], ids: Sequence[str]
) -> tuple[pl.DataFrame, dict[str, float]]:
    """Precision, recall and F1 of multi-label predictions, per label and averaged.

    ``gold`` and ``predicted`` hold one set of labels per item (an empty set: the item carries
    none). Returns one row per label of ``ids`` (n_gold, n_predicted, n_correct, P, R, F1) and
    micro, macro and samples F1 (the mean over items of each item's F1, the measure of
    SemEval-2025 Task 10; an item with no gold and no predicted label counts as 1), computed
    with scikit-learn.
    """
    from sklearn.metrics import f1_score, precision_recall_fscore_support
    from sklearn.preprocessing import MultiLabelBinarizer

    binarizer = MultiLabelBinarizer(classes=list(ids))
    y_true = binarizer.fit_transform([set(g) & set(ids) for g in gold])
    y_pred = binarizer.transform([set(p) & set(ids) for p in predicted])
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, average=None, zero_division=0.0
    )
    table = pl.DataFrame(
        {
            "narrative_id": list(ids),
            "n_gold": support.astype(np.uint32),
            "n_predicted": y_pred.sum(axis=0).astype(np.uint32),
            "n_correct": (y_true & y_pred).sum(axis=0).astype(np.uint32),
            "precision": precision.astype(float),
            "recall": recall.astype(float),
            "f1": f1.astype(float),
        }
    )
    summary = {
        "micro_f1": float(f1_score(y_true, y_pred, average="micro", zero_division=0.0)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0.0)),
        "samples_f1": float(f1_score(y_true, y_pred, average="samples", zero_division=1.0)),
        "n_items": len(gold),
        "share_with_narrative": float(y_pred.any(axis=1).mean()) if len(gold) else float("nan"),
        "gold_share_with_narrative": float(y_true.any(axis=1).mean()) if len(gold) else 0.0,
    }
    return table, summary


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
    return topics.select("topic_id", "label", "size").with_columns(
        pl.Series("terms", terms, dtype=pl.List(pl.String)),
        pl.Series("npmi", scores, dtype=pl.Float64),
    )
