"""The learned part of the detector: one linear head per narrative on frozen embeddings.

Each head is a logistic regression on the passage embeddings (centred on the corpus mean, so
what every passage shares does not drown what tells them apart). Its positives are the
narrative's examples and the passages an analyst confirmed; its negatives are the counter-
examples, the rejected passages and the other narratives' examples. The head sees what a
passage is about better than how it is said, so the detector trusts it only where the corpus
shows that its similar passages carry the narrative (narratives.detect.calibrate).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

UNIT_TOLERANCE = 1e-4
"""Rows whose lengths all lie this close to 1 are unit rows already, and are not copied."""


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero); float32 rows that are unit already
    come back as they are, not copied (a million 512-d passages are 2 GB)."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    if len(norms) and np.abs(norms - 1).max() <= UNIT_TOLERANCE:
        return matrix
    norms[norms == 0] = 1.0
    return matrix / norms


def centred(embeddings: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Unit rows of ``embeddings`` minus the corpus mean (one new matrix, scaled in place)."""
    rows = np.asarray(embeddings, dtype=np.float32) - mean.astype(np.float32)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    rows /= norms
    return rows


CHUNK_ROWS = 65_536
"""Rows whose centred lengths are computed at once (in float64: 256 MB at 512 dimensions)."""
NEAR_ZERO = 1e-6
"""A centred row shorter than this is the corpus mean itself: it stays zero, as in centred()."""


class CentredRows:
    """``centred(rows, mean)`` as an operator: ``corpus @ w`` equals ``centred(rows, mean) @ w``
    without the centred matrix, because centring and rescaling commute with a projection:
    ``(r - m) . w / |r - m|``, the lengths computed once. For a million 512-d passages that is
    2 GB the detector no longer holds beside the embeddings."""

    def __init__(self, rows: np.ndarray, mean: np.ndarray) -> None:
        self.rows = np.asarray(rows, dtype=np.float32)
        self.mean = np.asarray(mean, dtype=np.float32)
        mean64 = self.mean.astype(np.float64)
        squared = np.empty(len(self.rows), dtype=np.float64)
        for start in range(0, len(self.rows), CHUNK_ROWS):  # float64, a chunk at a time
            block = self.rows[start : start + CHUNK_ROWS].astype(np.float64)
            block -= mean64
            squared[start : start + CHUNK_ROWS] = np.einsum("ij,ij->i", block, block)
        norms = np.sqrt(squared)
        scale = np.where(norms < NEAR_ZERO, 0.0, 1.0 / np.maximum(norms, NEAR_ZERO))
        self.scale = scale.astype(np.float32)

    def __len__(self) -> int:
        return self.rows.shape[0]

    def __matmul__(self, other: np.ndarray) -> np.ndarray:
        other = np.asarray(other, dtype=np.float32)
        projected = self.rows @ other - self.mean @ other
        return projected * (self.scale[:, None] if projected.ndim == 2 else self.scale)


@dataclass(frozen=True)
class TrainingSet:
    """The labelled material of one narrative, as centred embeddings."""

    positives: np.ndarray
    negatives: np.ndarray

    @property
    def n_positives(self) -> int:
        return int(self.positives.shape[0])


class NarrativeHeads:
    """One logistic regression per narrative (scikit-learn style: ``fit`` returns self)."""

    def __init__(self, c: float = 1.0, seed: int = 0) -> None:
        self.c = c
        self.seed = seed

    def fit(self, sets: Sequence[TrainingSet]) -> NarrativeHeads:
        """Fit each narrative's head on its positives against its negatives (balanced).

        Learned: ``coef_`` (k, dim) and ``intercept_`` (k,); a narrative without positives or
        negatives gets a zero head (probability 0.5 everywhere, never used to tag)."""
        from sklearn.linear_model import LogisticRegression

        dim = next((t.positives.shape[1] for t in sets if t.positives.size), 0)
        self.coef_ = np.zeros((len(sets), dim), dtype=np.float32)
        self.intercept_ = np.zeros(len(sets), dtype=np.float32)
        self.fitted_ = np.zeros(len(sets), dtype=bool)
        for k, training in enumerate(sets):
            if not len(training.positives) or not len(training.negatives):
                continue
            x = np.vstack([training.positives, training.negatives])
            y = np.r_[np.ones(len(training.positives)), np.zeros(len(training.negatives))]
            model = LogisticRegression(
                C=self.c, max_iter=2000, class_weight="balanced", random_state=self.seed
            ).fit(x, y)
            self.coef_[k] = model.coef_[0]
            self.intercept_[k] = model.intercept_[0]
            self.fitted_[k] = True
        return self

    def predict_proba(self, embeddings: np.ndarray | CentredRows) -> np.ndarray:
        """(n, k) probability that a passage is like each narrative's positives (``embeddings``
        centred on the corpus mean: a matrix, or :class:`CentredRows`)."""
        if not isinstance(embeddings, CentredRows):
            embeddings = np.asarray(embeddings, dtype=np.float32)
        logits = embeddings @ self.coef_.T + self.intercept_
        return (1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))).astype(np.float32)
