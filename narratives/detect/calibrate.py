"""Per-narrative decision thresholds, calibrated on the corpus itself.

A narrative's query is precise but misses phrasings; its head finds more but cannot tell a claim
from a report on the same subject. Which one to trust depends on the narrative and the corpus:
in a corpus of disinformation quotes nearly every passage about MH17 carries the MH17 claim, in
German front pages most passages about the counteroffensive do not carry "it failed".

The corpus says which case holds. Among the passages the head scores at or above a threshold,
the share that the query matches (``rho``), divided by the query's recall (measured on the
narrative's examples and confirmed passages in the corpus's languages, narratives.detect.languages),
estimates the share that carries the narrative.
From that, the precision of what the head adds beyond the query's hits follows, and the
threshold that maximises the expected F1 of "query OR head" is chosen. Where no threshold
reaches ``min_precision``, or the query matches fewer than MIN_QUERY_HITS passages (too few to
judge), the head adds nothing: the narrative is found by its query alone.
No cosine or probability constant is global: every threshold is a quantile of the corpus's own
scores for that narrative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_GRID = np.linspace(0.5, 0.999, 200)
_MIN_RECALL = 0.05
MIN_QUERY_HITS = 5
"""Fewer query hits than this in the corpus say too little about the head: it stays off."""


@dataclass(frozen=True)
class HeadCalibration:
    """How one narrative's head path was calibrated on the corpus."""

    threshold: float
    expected_precision: float
    expected_f1: float
    n_added: int

    @property
    def enabled(self) -> bool:
        return bool(np.isfinite(self.threshold))


def calibrate_head(
    scores: np.ndarray, query_hits: np.ndarray, query_recall: float, min_precision: float
) -> HeadCalibration:
    """The head threshold of one narrative (``inf``: the head adds nothing).

    ``scores`` are the head's probabilities for every passage of the corpus, ``query_hits`` the
    query's matches, ``query_recall`` the share of the narrative's positives its query matches.
    """
    hits = np.asarray(query_hits, dtype=bool)
    n_hits = int(hits.sum())
    recall = max(float(query_recall), _MIN_RECALL)
    expected_positives = n_hits / recall
    best = HeadCalibration(
        threshold=float("inf"),
        expected_precision=float("nan"),
        expected_f1=2 * n_hits / max(n_hits + expected_positives, 1.0),
        n_added=0,
    )
    if n_hits < MIN_QUERY_HITS or scores.size == 0:
        return best
    for threshold in np.unique(np.quantile(scores, _GRID)):
        above = scores >= threshold
        added = int((above & ~hits).sum())
        if added == 0:
            continue
        rho = float(hits[above].mean())
        precision = min(1.0, rho * (1 / recall - 1) / max(1 - rho, 1e-9))
        if precision < min_precision:
            continue
        f1 = 2 * (n_hits + precision * added) / (n_hits + added + expected_positives)
        if f1 > best.expected_f1:
            best = HeadCalibration(float(threshold), precision, f1, added)
    return best
