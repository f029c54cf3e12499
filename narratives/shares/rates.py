"""The detector's measured errors per narrative, from labelled items it did not learn from.

A share estimated from tags is only as good as the error rates behind its correction. The items
come from three sources, each scored without rating itself:

- the catalog: the narrative's examples (positives) against its counter-examples and the other
  narratives' examples (negatives), with the head's out-of-fold scores (cross-validation) and
  the query matched as it is;
- the analyst's feedback (confirmed and rejected passages), scored the same way;
- a labelled sample of the run's own documents (``--calibration FILE``), scored by the fitted
  detector: the closest to the corpus, so it is preferred where it has enough items.

From them: the true- and false-positive rates of the tags (for adjusted classify-and-count) and
a posterior, a logistic calibration of (query, head score) to P(carries), with the mean
posterior of positives and negatives (for probabilistic adjusted classify-and-count).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MIN_POSITIVES = 10
MIN_NEGATIVES = 30
"""Below these, a narrative's error rates say too little: its shares are counted (method cc)."""


@dataclass(frozen=True)
class Items:
    """Labelled items of one narrative with what the detector says of them."""

    carries: np.ndarray
    tagged: np.ndarray
    query: np.ndarray
    score: np.ndarray
    source: str = ""

    @property
    def n_positives(self) -> int:
        return int(self.carries.sum())

    @property
    def n_negatives(self) -> int:
        return int((~self.carries).sum())

    def __add__(self, other: Items) -> Items:
        return Items(
            np.r_[self.carries, other.carries].astype(bool),
            np.r_[self.tagged, other.tagged].astype(bool),
            np.r_[self.query, other.query].astype(bool),
            np.r_[self.score, other.score].astype(float),
            "+".join(s for s in (self.source, other.source) if s),
        )


@dataclass(frozen=True)
class ErrorRates:
    """What the items say about one narrative's detector."""

    n_positives: int
    n_negatives: int
    tpr: float
    fpr: float
    mean_posterior_positive: float
    mean_posterior_negative: float
    posterior_coef: tuple[float, float, float] = field(default=(0.0, 0.0, 0.0))
    source: str = ""

    @property
    def enough(self) -> bool:
        """Whether there are enough items to correct the shares with."""
        return self.n_positives >= MIN_POSITIVES and self.n_negatives >= MIN_NEGATIVES

    def posterior(self, query: np.ndarray, score: np.ndarray) -> np.ndarray:
        """P(carries) of items with these query matches and head scores."""
        a, b, c = self.posterior_coef
        logit = a * np.asarray(query, dtype=float) + b * np.asarray(score, dtype=float) + c
        return 1.0 / (1.0 + np.exp(-np.clip(logit, -30, 30)))


def error_rates(items: Items, seed: int = 0) -> ErrorRates:
    """Rates and a posterior calibration from ``items`` (positives and negatives both needed
    for the posterior; the posterior's means are out-of-fold, so no item rates itself)."""
    y = items.carries.astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    tpr = float(items.tagged[y].mean()) if n_pos else float("nan")
    fpr = float(items.tagged[~y].mean()) if n_neg else float("nan")
    coef, m1, m0 = (0.0, 0.0, 0.0), float("nan"), float("nan")
    if n_pos >= 2 and n_neg >= 2:
        x = np.column_stack([items.query.astype(float), items.score.astype(float)])
        coef = _platt(x, y, seed)
        oof = _out_of_fold_posterior(x, y, seed)
        m1, m0 = float(oof[y].mean()), float(oof[~y].mean())
    return ErrorRates(n_pos, n_neg, tpr, fpr, m1, m0, coef, items.source)


def _platt(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[float, float, float]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1.0, random_state=seed).fit(x, y)
    return float(model.coef_[0][0]), float(model.coef_[0][1]), float(model.intercept_[0])


def _out_of_fold_posterior(x: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    folds = int(min(5, y.sum(), (~y).sum()))
    if folds < 2:
        return np.full(len(y), y.mean())
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    model = LogisticRegression(C=1.0, random_state=seed)
    return cross_val_predict(model, x, y, cv=splitter, method="predict_proba")[:, 1]
