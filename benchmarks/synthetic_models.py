"""What the models of a synthetic run would have found: its topics and its catalogued narratives.

Topics are numbered by size as BERTopic numbers them, each passage is assigned to its planted
topic (``assignments``), and ``topics`` lists them labelled by their keywords. Narratives: a
passage of a planted narrative topic carries that narrative most of the time (the detector's
recall), a few passages of other topics carry it too (a passage can carry several narratives),
and every passage has a head score for every narrative, high where it carries it. The evidence is
mostly the narrative's query, else its head, and rarely an analyst's feedback. Everything comes
from the generator passed in, vectorised over passages x narratives.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from benchmarks.synthetic_text import TOPIC_WORDS

RECALL = 0.9
"""Share of a planted narrative topic's passages that carry the narrative."""
STRAY = 0.004
"""Share of every other passage that carries the narrative as well."""
QUERY_SHARE, FEEDBACK_SHARE = 0.7, 0.01


def topic_numbering(topic: np.ndarray, n_topics: int) -> tuple[np.ndarray, np.ndarray]:
    """Topic sizes and the new id of each topic: by size, largest first, as BERTopic numbers."""
    sizes = np.bincount(topic[topic >= 0], minlength=n_topics)
    order = np.argsort(-sizes, kind="stable")
    new_id = np.empty(n_topics, dtype=np.int32)
    new_id[order] = np.arange(n_topics, dtype=np.int32)
    return sizes, new_id


def assignments_table(
    passages: pl.DataFrame, topic: np.ndarray, new_id: np.ndarray, rng: np.random.Generator
) -> pl.DataFrame:
    """Each passage's topic id (-1 for outliers) and a probability."""
    from narratives.schemas import ASSIGNMENTS, conform

    topic_id = np.where(topic < 0, -1, new_id[np.maximum(topic, 0)]).astype(np.int32)
    probability = np.where(topic < 0, 0.0, rng.beta(6, 2, len(topic))).astype(np.float32)
    assignments = pl.DataFrame(
        {
            "passage_id": passages["passage_id"],
            "doc_id": passages["doc_id"],
            "topic_id": topic_id,
            "probability": probability,
        }
    )
    return conform(assignments, ASSIGNMENTS)


def topics_table(
    assignments: pl.DataFrame, sizes: np.ndarray, new_id: np.ndarray, labels: list[str]
) -> pl.DataFrame:
    """One row per topic that has passages (outliers first), labelled by its keywords, with its
    first 3 passages."""
    from narratives.schemas import TOPICS, conform

    representatives = (
        assignments.group_by("topic_id", maintain_order=True)
        .agg(pl.col("passage_id").head(3))
        .to_dict(as_series=False)
    )
    reps = dict(zip(representatives["topic_id"], representatives["passage_id"], strict=True))
    rows = []
    n_outliers = int((assignments["topic_id"] < 0).sum())
    if n_outliers:
        rows.append(
            {
                "topic_id": -1,
                "label": "outliers",
                "keywords": [],
                "size": n_outliers,
                "representative_passage_ids": reps.get(-1, []),
            }
        )
    for old in np.argsort(new_id):  # old topic numbers, largest topic first
        if sizes[old] == 0:
            continue
        rows.append(
            {
                "topic_id": int(new_id[old]),
                "label": labels[old],
                "keywords": TOPIC_WORDS[old][:10],
                "size": int(sizes[old]),
                "representative_passage_ids": reps.get(int(new_id[old]), []),
            }
        )
    return conform(pl.DataFrame(rows, schema=TOPICS), TOPICS).sort("topic_id")


def narrative_tags(
    topic: np.ndarray, catalog_ids: list[str], narrative_ids: list[str], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(scores, query, tagged, evidence) arrays of shape (passages, narratives): evidence is an
    index into narratives.detect.EVIDENCE (query, head, feedback), -1 where untagged.

    ``topic`` holds each passage's planted topic (the first ``len(catalog_ids)`` topics are the
    catalogued narratives, -1 outliers); ``narrative_ids`` is the catalog's order."""
    n, k = len(topic), len(narrative_ids)
    planted = np.full((n, k), False)
    for column, narrative_id in enumerate(narrative_ids):
        if narrative_id in catalog_ids:
            planted[:, column] = topic == catalog_ids.index(narrative_id)
    draw = rng.random((n, k))
    tagged = np.where(planted, draw < RECALL, draw < STRAY)
    why = rng.random((n, k))
    evidence = np.where(why < QUERY_SHARE, 0, np.where(why < 1 - FEEDBACK_SHARE, 1, 2))
    evidence = np.where(tagged, evidence, -1).astype(np.int8)
    scores = np.where(tagged, rng.beta(6, 2, (n, k)), rng.beta(2, 6, (n, k))).astype(np.float32)
    return scores, evidence == 0, tagged, evidence


def narratives_table(catalog, narrative_ids: list[str], tagged: np.ndarray) -> pl.DataFrame:
    """One row per catalogued narrative (schemas.NARRATIVES) with plausible calibration."""
    from narratives.schemas import NARRATIVES

    rows = []
    for column, narrative_id in enumerate(narrative_ids):
        narrative = catalog.get(narrative_id)
        has_query = narrative.query is not None
        rows.append(
            {
                "narrative_id": narrative_id,
                "label_de": narrative.label_de,
                "label_en": narrative.label_en,
                "n_examples": len(narrative.examples),
                "n_counter_examples": len(narrative.counter_examples),
                "n_confirmed": 0,
                "n_rejected": 0,
                "has_query": has_query,
                "query_recall": 0.8 if has_query else float("nan"),
                "head_threshold": 0.5,
                "head_expected_precision": 0.85,
                "n_passages": int(tagged[:, column].sum()),
            }
        )
    return pl.DataFrame(rows, schema=NARRATIVES)


def narrative_run_tables(
    catalog,
    catalog_ids: list[str],
    passages: pl.DataFrame,
    assignments: pl.DataFrame,
    topic: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, pl.DataFrame]:
    """narratives, narrative_scores and topic_narratives of a synthetic run."""
    from narratives.detect import scores_table, topic_narratives

    ids = list(catalog.ids)
    scores, query, tagged, evidence = narrative_tags(topic, catalog_ids, ids, rng)
    table = scores_table(passages, ids, scores, query, tagged, evidence)
    return {
        "narratives": narratives_table(catalog, ids, tagged),
        "narrative_scores": table,
        "topic_narratives": topic_narratives(assignments, table),
    }
