"""Keyword drift: each topic's words in each period, from that period's passages only.

BERTopic's topics_over_time tunes a period's words with the global topic representation
(``global_tuning``) and the previous period's (``evolution_tuning``), so words can leak into a
period in which nobody wrote them. Here a topic's periods are the classes of a c-TF-IDF computed
within the topic: a word scores only where it occurs, and the words that set a period apart from
the topic's other periods rise. The words that entered and left since the topic's previous period
with passages are listed beside them.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy import sparse

from narratives.defaults import DEFAULT_LANGUAGES
from narratives.drift.periods import period_start, resolve_period
from narratives.schemas import KEYWORD_DRIFT, OUTLIER_TOPIC

_SAMPLE_PER_CLASS = 60


def keyword_drift(
    passages: pl.DataFrame,
    assignments: pl.DataFrame,
    documents: pl.DataFrame,
    *,
    period: str = "month",
    languages: tuple[str, ...] = DEFAULT_LANGUAGES,
    top_n: int = 8,
) -> pl.DataFrame:
    """Top words of every topic in every period with passages (outliers and undated left out)."""
    period = resolve_period(period, documents)
    rows = (
        assignments.filter(pl.col("topic_id") != OUTLIER_TOPIC)
        .select("passage_id", "doc_id", "topic_id")
        .join(passages.select("passage_id", "text"), on="passage_id")
        .join(
            documents.filter(pl.col("date").is_not_null()).select("doc_id", period_start(period)),
            on="doc_id",
        )
        .sort("topic_id", "period", "passage_id")
        .with_row_index("row")
    )
    if rows.is_empty():
        return pl.DataFrame(schema=KEYWORD_DRIFT)
    from narratives.vectorizer import build_vectorizer, display_forms

    vectorizer = build_vectorizer(languages=languages, ngram_range=(1, 1))
    try:
        counts = vectorizer.fit_transform(rows["text"].to_list()).tocsr()
    except ValueError:
        return pl.DataFrame(schema=KEYWORD_DRIFT)
    vocabulary = np.asarray(vectorizer.get_feature_names_out())
    classes = rows.group_by("topic_id", "period", maintain_order=True).agg(
        pl.col("row"), pl.len().alias("n_passages")
    )
    class_counts = _class_counts(classes["row"].to_list(), counts)
    keys = _top_keys(classes["topic_id"].to_numpy(), class_counts, vocabulary, top_n)
    sample = [i for members in classes["row"].to_list() for i in members[:_SAMPLE_PER_CLASS]]
    texts = rows["text"].to_list()
    forms = display_forms([texts[i] for i in sample], vectorizer.analyzer)
    keywords = [[forms.get(k, k) for k in row] for row in keys]
    entered, left = _turnover(classes["topic_id"].to_list(), keywords)
    return pl.DataFrame(
        {
            "topic_id": classes["topic_id"],
            "period": classes["period"],
            "n_passages": classes["n_passages"],
            "keywords": keywords,
            "entered": entered,
            "left": left,
        },
        schema=KEYWORD_DRIFT,
    )


def _class_counts(members: list[list[int]], counts: sparse.csr_matrix) -> sparse.csr_matrix:
    """Word counts summed over the passages of each (topic, period) class."""
    row_index = np.concatenate([np.full(len(m), c) for c, m in enumerate(members)])
    col_index = np.concatenate(members)
    indicator = sparse.csr_matrix(
        (np.ones(col_index.size), (row_index, col_index)), shape=(len(members), counts.shape[0])
    )
    return (indicator @ counts).tocsr()


def _top_keys(
    topic_of_class: np.ndarray, class_counts: sparse.csr_matrix, vocabulary: np.ndarray, top_n: int
) -> list[list[str]]:
    """c-TF-IDF within each topic (its periods are the classes): the top words of each class,
    chosen only among words that occur in that class."""
    result: list[list[str]] = [[] for _ in range(class_counts.shape[0])]
    for topic in np.unique(topic_of_class):
        rows = np.flatnonzero(topic_of_class == topic)
        block = class_counts[rows]
        totals = np.asarray(block.sum(axis=1)).ravel()
        frequency = np.asarray(block.sum(axis=0)).ravel()
        average = totals.mean() if totals.size else 0.0
        idf = np.log1p(average / np.maximum(frequency, 1))
        for position, row in enumerate(rows):
            line = block.getrow(position)
            if line.nnz == 0 or totals[position] == 0:
                continue
            scores = line.data / totals[position] * idf[line.indices]
            order = np.lexsort((vocabulary[line.indices], -scores))[:top_n]
            result[row] = vocabulary[line.indices[order]].tolist()
    return result


def _turnover(
    topics: list[int], keywords: list[list[str]]
) -> tuple[list[list[str]], list[list[str]]]:
    """Words new in each class's list and words gone from it, against the topic's previous class."""
    entered: list[list[str]] = []
    left: list[list[str]] = []
    previous_topic, previous = None, None
    for topic, words in zip(topics, keywords, strict=True):
        if topic != previous_topic:
            entered.append([])
            left.append([])
        else:
            entered.append([w for w in words if w not in previous])
            left.append([w for w in previous if w not in words])
        previous_topic, previous = topic, words
    return entered, left
