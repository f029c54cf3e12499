"""Which topic of a retrain continues which topic of its parent run (`train --parent`).

Two pieces of evidence, as MONIC (Spiliopoulou et al. 2006) and BERTrend do:

- **shared passages**: the passages both runs hold (same passage id and text), cross-tabulated
  by the parent's topic and the new topic. ``overlap`` is the share of the parent topic's shared
  passages that went to the new topic;
- **centroid cosine** between mean passage embeddings, for what shared passages cannot tell
  (a parent topic with too few passages in the new corpus).

Relations, with these thresholds:

- a parent topic sends at least ``SPLIT_SHARE`` of its shared passages, and at least
  ``MIN_SHARED`` passages, to each of two or more new topics: each is ``split`` from it (new ids);
- a new topic receives, from each of two or more parent topics, at least ``MIN_SHARED`` passages
  that are at least ``SPLIT_SHARE`` of its own shared passages and of that parent's: it is
  ``merged`` from them (a new id). A handful of stray passages is no evidence of either: a
  subject new to the corpus that took three passages of an old topic is ``new``, and the old
  topic still continues where the rest of it went;
- otherwise a one-to-one pair with ``overlap >= MATCH_SHARE`` (or, for a parent topic with fewer
  than ``MIN_SHARED`` shared passages, the best centroid cosine ``>= MATCH_COSINE``, BERTrend's
  merge threshold) is ``continued``: the new topic keeps the parent's id;
- a new topic with no relation is ``new``, a parent topic with none is ``gone``.

New ids start above every id the parent and its own lineage ever used, so an id never comes back
for another topic.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from narratives.schemas import LINEAGE, OUTLIER_TOPIC

SPLIT_SHARE = 0.25
MATCH_SHARE = 0.5
MATCH_COSINE = 0.7
MIN_SHARED = 5


def centroids(embeddings: np.ndarray, topics: np.ndarray) -> dict[int, np.ndarray]:
    """Unit mean embedding of each topic (outliers left out)."""
    found = {}
    for topic in np.unique(topics):
        if topic == OUTLIER_TOPIC:
            continue
        mean = embeddings[topics == topic].mean(axis=0)
        found[int(topic)] = mean / (np.linalg.norm(mean) or 1.0)
    return found


def _cosines(parent: dict[int, np.ndarray], new: dict[int, np.ndarray]) -> dict[tuple, float]:
    return {(p, t): float(parent[p] @ new[t]) for p in parent for t in new}


def topic_lineage(
    shared: pl.DataFrame,
    parent_centroids: dict[int, np.ndarray],
    new_centroids: dict[int, np.ndarray],
    first_new_id: int,
) -> tuple[pl.DataFrame, dict[int, int]]:
    """The lineage table and the public id of each new topic.

    ``shared`` holds one row per passage both runs have: parent_topic_id and topic_id (the new
    fit's own ids). Outliers are left out on both sides.
    """
    counts = (
        shared.filter((pl.col("parent_topic_id") >= 0) & (pl.col("topic_id") >= 0))
        .group_by("parent_topic_id", "topic_id")
        .agg(pl.len().alias("n"))
    )
    parent_sizes = dict(counts.group_by("parent_topic_id").agg(pl.col("n").sum()).iter_rows())
    new_sizes = dict(counts.group_by("topic_id").agg(pl.col("n").sum()).iter_rows())
    cell = {(p, t): n for p, t, n in counts.iter_rows()}
    cosine = _cosines(parent_centroids, new_centroids)
    targets = {
        p: [t for (q, t), n in cell.items() if q == p and n >= max(MIN_SHARED, SPLIT_SHARE * s)]
        for p, s in parent_sizes.items()
    }
    sources = {
        t: [
            p
            for (p, u), n in cell.items()
            if u == t and n >= max(MIN_SHARED, SPLIT_SHARE * s, SPLIT_SHARE * parent_sizes[p])
        ]
        for t, s in new_sizes.items()
    }
    edges: list[tuple[int | None, int | None, str]] = []
    for p, ts in targets.items():
        if len(ts) >= 2:
            edges += [(p, t, "split") for t in ts]
    for t, ps in sources.items():
        if len(ps) >= 2:
            edges += [(p, t, "merged") for p in ps if (p, t, "split") not in edges]
    linked_parents = {p for p, _, _ in edges}
    linked_new = {t for _, t, _ in edges}
    for p, ts in targets.items():
        if len(ts) == 1 and p not in linked_parents and ts[0] not in linked_new:
            t = ts[0]
            if cell[(p, t)] >= MATCH_SHARE * parent_sizes[p] and parent_sizes[p] >= MIN_SHARED:
                edges.append((p, t, "continued"))
                linked_parents.add(p)
                linked_new.add(t)
    by_cosine = sorted(cosine.items(), key=lambda item: -item[1])
    for (p, t), value in by_cosine:
        if value < MATCH_COSINE:
            break
        thin = parent_sizes.get(p, 0) < MIN_SHARED
        if thin and p not in linked_parents and t not in linked_new:
            edges.append((p, t, "continued"))
            linked_parents.add(p)
            linked_new.add(t)
    ids = {t: p for p, t, relation in edges if relation == "continued"}
    next_id = first_new_id
    for t in sorted(new_centroids):
        if t not in ids:
            ids[t] = next_id
            next_id += 1
    edges += [(None, t, "new") for t in sorted(new_centroids) if t not in linked_new]
    edges += [(p, None, "gone") for p in sorted(parent_centroids) if p not in linked_parents]
    rows = [
        {
            "parent_topic_id": p,
            "topic_id": None if t is None else ids[t],
            "relation": relation,
            "overlap": (cell.get((p, t), 0) / parent_sizes[p]) if p in parent_sizes else None,
            "similarity": cosine.get((p, t)),
        }
        for p, t, relation in edges
    ]
    table = pl.DataFrame(rows, schema=LINEAGE) if rows else pl.DataFrame(schema=LINEAGE)
    return table.sort("relation", "topic_id", "parent_topic_id", nulls_last=True), ids


def first_free_id(parent_topics: pl.DataFrame, parent_lineage: pl.DataFrame | None) -> int:
    """One above every topic id the parent and its own lineage used."""
    used = parent_topics["topic_id"].to_list()
    if parent_lineage is not None and not parent_lineage.is_empty():
        used += parent_lineage["parent_topic_id"].drop_nulls().to_list()
        used += parent_lineage["topic_id"].drop_nulls().to_list()
    return max([*used, OUTLIER_TOPIC]) + 1
