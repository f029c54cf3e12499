"""What new articles bring that a run does not know: passages that fit no topic, the candidate
topics they form, and each topic's signal class.

- **Nearest stored passages.** A new passage takes the topic of the run's passages nearest to it
  (cosine), by a vote weighted ``exp(similarity / TAU)`` over its ``K_NEIGHBOURS`` nearest: a
  passage the run already holds gets its own topic back, a new one the topic of its close
  neighbourhood, as the density clustering would have given it. Past ``MAX_REFERENCE`` stored
  passages, a sample of them stratified by topic votes.
- **Unassigned.** A new passage whose nearest stored passage is less similar than
  ``NOVELTY_QUANTILE`` of the run's own passages are to their nearest other passage is kept as
  unassigned (topic -1), not forced into a topic: the threshold is calibrated on the run itself.
- **Candidates.** When at least ``min_topic_size`` passages are unassigned, HDBSCAN clusters them;
  each cluster of that size becomes a candidate topic with a new id, c-TF-IDF keywords against the
  run's passages, and its most central passages as representatives.
- **Signals** (BERTrend's classification, rte-france/BERTrend): a topic's popularity in period t is
  ``P_t = P_{t-1} * exp(-DECAY * days) + n_t`` (n_t its documents); per period, a topic is noise
  below the ``NOISE_QUANTILE`` of all topics' popularity, strong above the ``STRONG_QUANTILE``,
  weak between; its trend is the slope of its popularity over the last ``SLOPE_PERIODS`` periods.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from narratives.detect.head import unit_rows
from narratives.schemas import NOVELTY, OUTLIER_TOPIC

K_NEIGHBOURS = 15
TAU = 0.05
NOVELTY_QUANTILE = 0.02
CALIBRATION_SAMPLE = 2000
MAX_REFERENCE = 20_000
"""Stored passages that vote at most: past it, a sample stratified by topic (proportional), so
that assigning a million passages stays a few minutes of matrix products."""
DECAY = 0.01
"""Per day, as BERTrend's default decay factor."""
NOISE_QUANTILE = 0.10
STRONG_QUANTILE = 0.75
SLOPE_PERIODS = 3


def nearest(
    queries: np.ndarray, stored: np.ndarray, k: int, chunk: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """(similarities, indices) of each query's ``k`` most similar stored rows (unit rows),
    most similar first; computed in chunks so memory stays bounded."""
    k = min(k, stored.shape[0])
    sims = np.empty((queries.shape[0], k), dtype=np.float32)
    index = np.empty((queries.shape[0], k), dtype=np.int64)
    for start in range(0, queries.shape[0], chunk):
        block = queries[start : start + chunk] @ stored.T
        top = np.argpartition(block, -k, axis=1)[:, -k:]
        top_sims = np.take_along_axis(block, top, axis=1)
        order = np.argsort(-top_sims, axis=1, kind="stable")
        sims[start : start + chunk] = np.take_along_axis(top_sims, order, axis=1)
        index[start : start + chunk] = np.take_along_axis(top, order, axis=1)
    return sims, index


@dataclass(frozen=True)
class TopicAssigner:
    """Assigns passages to a run's topics from its stored passages' embeddings and topics."""

    embeddings: np.ndarray
    topics: np.ndarray
    threshold: float

    @classmethod
    def fit(cls, embeddings: np.ndarray, topics: Sequence[int], seed: int = 0) -> TopicAssigner:
        """Keep the stored passages and calibrate the novelty threshold on them: the
        NOVELTY_QUANTILE of their similarity to their nearest other stored passage."""
        vectors = unit_rows(embeddings)
        topics = np.asarray(topics, dtype=np.int64)
        rng = np.random.default_rng(seed)
        if len(vectors) > MAX_REFERENCE:
            from narratives.sampling import stratified_sample

            keep = stratified_sample(pl.Series(topics), MAX_REFERENCE, seed)
            vectors, topics = vectors[keep], topics[keep]
        size = min(CALIBRATION_SAMPLE, len(vectors))
        sample = rng.choice(len(vectors), size=size, replace=False) if size else np.array([], int)
        threshold = 0.0
        if len(vectors) > 1 and size:
            sims, index = nearest(vectors[sample], vectors, 2)
            other = np.where(index[:, 0] == sample, sims[:, 1], sims[:, 0])
            threshold = float(np.quantile(other, NOVELTY_QUANTILE))
        return cls(vectors, topics, threshold)

    def transform(self, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(topic, similarity to the nearest stored passage, unassigned) of each passage."""
        vectors = unit_rows(embeddings)
        if len(vectors) == 0:
            return np.array([], np.int64), np.array([], np.float32), np.array([], bool)
        sims, index = nearest(vectors, self.embeddings, K_NEIGHBOURS)
        weights = np.exp((sims - sims[:, :1]) / TAU)
        labels = self.topics[index]
        candidates = np.unique(self.topics)
        votes = np.stack([(weights * (labels == t)).sum(axis=1) for t in candidates], axis=1)
        topics = candidates[np.argmax(votes, axis=1)]
        unassigned = sims[:, 0] < self.threshold
        return np.where(unassigned, OUTLIER_TOPIC, topics), sims[:, 0], unassigned


def candidate_topics(
    embeddings: np.ndarray, min_topic_size: int, first_id: int, join_threshold: float = 1.0
) -> np.ndarray:
    """Cluster unassigned passages (HDBSCAN on their unit vectors); clusters of at least
    ``min_topic_size`` get ids from ``first_id`` on. A passage HDBSCAN leaves out joins the
    cluster whose centroid it is nearest to when it is within that cluster's spread (its
    members' similarity to the centroid, mean - 2 sd, or its farthest member) or at least
    ``join_threshold`` similar (the run's novelty threshold: as close as the run's passages are
    to their neighbours), as BERTopic reduces outliers by embeddings; the rest stay -1."""
    labels = np.full(len(embeddings), OUTLIER_TOPIC, dtype=np.int64)
    if len(embeddings) < max(min_topic_size, 2):
        return labels
    from hdbscan import HDBSCAN

    vectors = unit_rows(embeddings)
    found = HDBSCAN(
        min_cluster_size=max(min_topic_size, 2),
        min_samples=max(1, min_topic_size // 2),
        allow_single_cluster=True,
    ).fit_predict(vectors)
    clusters = sorted(set(found.tolist()) - {-1})
    if not clusters:
        return labels
    centroids = unit_rows(np.stack([vectors[found == c].mean(axis=0) for c in clusters]))
    member_sims = [vectors[found == c] @ centroids[k] for k, c in enumerate(clusters)]
    spread = np.array([min(m.min(), m.mean() - 2 * m.std()) for m in member_sims])
    similarity = vectors @ centroids.T
    best = similarity.argmax(axis=1)
    within = similarity[np.arange(len(vectors)), best] >= np.minimum(spread[best], join_threshold)
    joined = np.where(found >= 0, np.searchsorted(clusters, found), np.where(within, best, -1))
    labels[joined >= 0] = first_id + joined[joined >= 0]
    return labels


def candidate_keywords(
    cluster_texts: dict[int, list[str]], background: list[str], analyzer, top_n: int = 10
) -> dict[int, list[str]]:
    """c-TF-IDF keywords of each candidate cluster against the run's passages (one more class)."""
    from sklearn.feature_extraction.text import CountVectorizer

    ids = list(cluster_texts)
    classes = [" ".join(cluster_texts[i]) for i in ids] + [" ".join(background)]
    counts = CountVectorizer(analyzer=analyzer).fit(classes)
    matrix = counts.transform(classes).toarray().astype(float)
    vocabulary = counts.get_feature_names_out()
    frequency = matrix.sum(axis=0)
    average = matrix.sum() / len(classes)
    tf = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    scores = tf * np.log1p(average / np.maximum(frequency, 1))
    return {
        topic: [vocabulary[j] for j in np.argsort(-scores[k])[:top_n] if scores[k, j] > 0]
        for k, topic in enumerate(ids)
    }


def signals(prevalence: pl.DataFrame, candidates: set[int]) -> pl.DataFrame:
    """Each topic's decayed popularity, signal class and trend per period (NOVELTY rows of kind
    topic or candidate), from the prevalence table over all outlets."""
    frame = (
        prevalence.filter((pl.col("source") == "*") & (pl.col("topic_id") >= 0))
        .select("period", "topic_id", "n_docs", "n_period_docs", "share")
        .sort("topic_id", "period")
    )
    if frame.is_empty():
        return pl.DataFrame(schema=NOVELTY)
    periods = frame["period"].unique().sort()
    days = periods.diff().dt.total_days().fill_null(0).to_numpy()
    topics = frame["topic_id"].unique().sort().to_list()
    counts = frame.pivot("topic_id", index="period", values="n_docs").sort("period")
    matrix = counts.select([str(t) for t in topics]).fill_null(0).to_numpy().astype(float)
    popularity = np.zeros_like(matrix)
    for t in range(len(periods)):
        previous = popularity[t - 1] * np.exp(-DECAY * days[t]) if t else 0.0
        popularity[t] = previous + matrix[t]
    rows = []
    for t, period in enumerate(periods):
        live = popularity[t][popularity[t] > 0]
        low = np.quantile(live, NOISE_QUANTILE) if live.size else 0.0
        high = np.quantile(live, STRONG_QUANTILE) if live.size else 0.0
        window = popularity[max(0, t - SLOPE_PERIODS + 1) : t + 1]
        slope = (
            np.polyfit(np.arange(len(window)), window, 1)[0] if len(window) > 1 else window[0] * 0
        )
        for j, topic in enumerate(topics):
            value = popularity[t, j]
            signal = "noise" if value <= low else "strong" if value > high else "weak"
            rows.append((period, topic, value, signal, float(slope[j])))
    classes = pl.DataFrame(
        rows,
        schema={
            "period": pl.Date,
            "topic_id": pl.Int32,
            "popularity": pl.Float64,
            "signal": pl.String,
            "trend": pl.Float64,
        },
        orient="row",
    )
    kind = pl.when(pl.col("topic_id").is_in(list(candidates))).then(pl.lit("candidate"))
    return (
        frame.join(classes, on=["period", "topic_id"], how="left")
        .with_columns(kind.otherwise(pl.lit("topic")).alias("kind"))
        .select(NOVELTY.names())
        .cast(dict(NOVELTY))
    )


def unassigned_share(
    documents: pl.DataFrame, new_doc_ids: set[str], unassigned_doc_ids: set[str], period_expr
) -> pl.DataFrame:
    """Per period: the new documents with a passage that fits no topic, among the new ones."""
    dated = documents.filter(
        pl.col("date").is_not_null() & pl.col("doc_id").is_in(list(new_doc_ids))
    )
    return (
        dated.with_columns(period_expr.alias("period"))
        .group_by("period")
        .agg(
            pl.col("doc_id").is_in(list(unassigned_doc_ids)).sum().alias("n_docs"),
            pl.len().alias("n_period_docs"),
        )
        .with_columns(
            (pl.col("n_docs") / pl.col("n_period_docs")).alias("share"),
            pl.lit("unassigned").alias("kind"),
            pl.lit(None, dtype=pl.Int32).alias("topic_id"),
            pl.lit(None, dtype=pl.Float64).alias("popularity"),
            pl.lit(None, dtype=pl.String).alias("signal"),
            pl.lit(None, dtype=pl.Float64).alias("trend"),
        )
        .select(NOVELTY.names())
        .cast(dict(NOVELTY))
        .sort("period")
    )
