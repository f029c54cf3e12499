"""Corpora with a known truth for the drift tests: real seed passages with assigned dates."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
from conftest import SEEDS

from narratives.corpus import load_corpus
from narratives.schemas import ASSIGNMENTS, DOCUMENTS, conform
from narratives.text import split_passages

OUTLETS = ("RT DE", "WELT", "tagesschau")
NARRATIVE = 0


def seed_passages() -> tuple[list[str], list[str]]:
    """Texts of the Rutte seed (the planted narrative) and of the other seeds (background)."""
    documents, _ = load_corpus(SEEDS)
    passages = split_passages(documents)
    planted = passages.filter(pl.col("doc_id") == "seed-004")["text"].to_list()
    others = passages.filter(pl.col("doc_id") != "seed-004")["text"].to_list()
    return planted, others


def planted_corpus(
    rng: np.random.Generator,
    shares: list[float],
    docs_per_month: int = 150,
    first: date = date(2023, 1, 1),
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """One document per passage, month m carrying the planted narrative with share ``shares[m]``.

    Documents, passages and assignments tables; topic 0 is the planted narrative, topics 1-4 the
    background, outlets drawn uniformly.
    """
    planted, others = seed_passages()
    rows, passages, assignments = [], [], []
    for month, share in enumerate(shares):
        day = date(
            first.year + (first.month - 1 + month) // 12, (first.month - 1 + month) % 12 + 1, 1
        )
        carries = rng.random(docs_per_month) < share
        for i, narrative in enumerate(carries):
            doc_id = f"m{month:02d}-{i:04d}"
            pool = planted if narrative else others
            text = pool[rng.integers(len(pool))]
            topic = NARRATIVE if narrative else int(rng.integers(1, 5))
            rows.append(
                {
                    "doc_id": doc_id,
                    "date": day.replace(day=int(rng.integers(1, 28))),
                    "source": OUTLETS[rng.integers(len(OUTLETS))],
                    "text": text,
                }
            )
            passages.append(
                {"passage_id": f"{doc_id}#0", "doc_id": doc_id, "position": 0, "text": text}
            )
            assignments.append(
                {
                    "passage_id": f"{doc_id}#0",
                    "doc_id": doc_id,
                    "topic_id": topic,
                    "probability": 1.0,
                }
            )
    documents = conform(pl.DataFrame(rows), DOCUMENTS)
    passages_frame = pl.DataFrame(passages).with_columns(pl.col("position").cast(pl.UInt32))
    return documents, passages_frame, conform(pl.DataFrame(assignments), ASSIGNMENTS)
