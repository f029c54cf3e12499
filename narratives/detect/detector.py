"""NarrativeDetector: which catalogued narratives each passage carries (zero, one or several).

Evidence, per passage and narrative:

1. the narrative's query (narratives.query), the analyst's stance-aware rule ("Gegenoffensive
   NEAR/10 gescheitert"), which matches on lemmas with negation and phrases;
2. the narrative's linear head (narratives.detect.head), learned from its examples against its
   counter-examples and the other narratives;
3. the analyst's feedback: a passage confirmed or rejected keeps that decision, and so do its
   near-duplicates (the same story in another outlet or snapshot).

A passage carries the narrative when its query matches, or when its head scores it at or above
the narrative's threshold, calibrated on the corpus (narratives.detect.calibrate; often the head
adds nothing because its similar passages show it cannot see the stance), unless feedback
decides otherwise. The head adds a passage to one narrative at most, the one it scores highest:
similarity says what a passage is about, and a passage no query matched is about one thing. A
narrative without a query is found by its head, with the threshold that separates its examples
from its negatives best under cross-validation.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from narratives.catalog import Catalog, Narrative
from narratives.config import DetectorSettings
from narratives.defaults import DEFAULT_LANGUAGES, DEFAULT_SEED
from narratives.detect.calibrate import HeadCalibration, calibrate_head
from narratives.detect.head import CentredRows, NarrativeHeads, TrainingSet, centred, unit_rows
from narratives.detect.languages import corpus_languages, in_languages
from narratives.engine import LOCAL, Engine
from narratives.query import match_matrix
from narratives.shares.rates import Items

if TYPE_CHECKING:
    from narratives.runs import Run

DETECTOR_ARRAYS = "detector.npz"
DETECTOR_STATE = "detector.json"

EVIDENCE = ("query", "head", "feedback")
"""Why a passage carries a narrative: its query matched, its head scored it high enough, or an
analyst confirmed it (or a near-duplicate of it)."""

Encode = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class NarrativeFit:
    """What the detector learned about one narrative."""

    narrative_id: str
    n_positives: int
    n_negatives: int
    n_confirmed: int
    n_rejected: int
    has_query: bool
    query_recall: float
    head: HeadCalibration


class NarrativeDetector:
    """Find the catalogued narratives passage by passage (scikit-learn style).

    ``fit(passages, embeddings, encode)`` learns from the catalog and calibrates on the corpus;
    learned attributes: ``mean_`` (corpus mean embedding), ``heads_``, ``fits_`` (one
    NarrativeFit per narrative), ``corpus_languages_`` (the languages the passages read as, which
    the query recall is measured in), and for the fitted passages ``query_``, ``scores_``,
    ``tagged_`` and ``evidence_`` ((n, k) arrays; evidence as an index into EVIDENCE, -1 for
    none). ``encode`` embeds the catalog's sentences with the same embedder as the passages.
    """

    def __init__(
        self,
        catalog: Catalog,
        settings: DetectorSettings | None = None,
        *,
        seed: int = DEFAULT_SEED,
        languages: tuple[str, ...] = DEFAULT_LANGUAGES,
        log: Callable[[str], None] | None = None,
        engine: Engine | None = None,
    ) -> None:
        self.catalog = catalog
        self.settings = settings
        self.seed = seed
        self.languages = languages
        self.log = log
        self.engine = engine

    @property
    def _settings(self) -> DetectorSettings:
        return self.settings or DetectorSettings()

    @property
    def ids(self) -> list[str]:
        return self.catalog.ids

    def fit(
        self, passages: pl.DataFrame, embeddings: np.ndarray, encode: Encode
    ) -> NarrativeDetector:
        """Learn each narrative's head, calibrate its threshold on ``passages`` and tag them."""
        texts = passages["text"].to_list()
        vectors = unit_rows(embeddings)
        self.mean_ = vectors.mean(axis=0) if len(vectors) else np.zeros(vectors.shape[1])
        corpus = CentredRows(vectors, self.mean_)
        sets, texts_of = self._training_sets(encode)
        self.heads_ = NarrativeHeads(c=self._settings.head_c, seed=self.seed).fit(sets)
        self.query_ = self._match_corpus(texts)
        self.scores_ = self.heads_.predict_proba(corpus)
        self.corpus_languages_ = corpus_languages(texts, self.languages)
        self.fits_ = [
            self._fit_one(k, narrative, sets[k], texts_of[k][0])
            for k, narrative in enumerate(self.catalog.narratives)
        ]
        self.calibration_ = {
            narrative.id: self._calibration_items(k, sets[k], *texts_of[k])
            for k, narrative in enumerate(self.catalog.narratives)
        }
        self._duplicates = self._feedback_vectors(encode)
        self.tagged_, self.evidence_ = self._decide(texts, corpus, self.query_, self.scores_)
        n_tagged = int(self.tagged_.any(axis=1).sum())
        self._say(f"narratives: {n_tagged} of {len(texts)} passages carry a catalogued narrative")
        return self

    def transform(self, passages: pl.DataFrame, embeddings: np.ndarray) -> pl.DataFrame:
        """The narrative scores table of new passages, with the fitted heads and thresholds."""
        texts = passages["text"].to_list()
        corpus = CentredRows(unit_rows(embeddings), self.mean_)
        query = self._match_corpus(texts)
        scores = self.heads_.predict_proba(corpus)
        tagged, evidence = self._decide(texts, corpus, query, scores)
        return scores_table(passages, self.ids, scores, query, tagged, evidence)

    def scores_table(self, passages: pl.DataFrame) -> pl.DataFrame:
        """The narrative scores table of the fitted passages (schemas.NARRATIVE_SCORES)."""
        return scores_table(
            passages, self.ids, self.scores_, self.query_, self.tagged_, self.evidence_
        )

    def narratives_table(self) -> pl.DataFrame:
        """One row per catalogued narrative: its material, its query recall and how its head was
        calibrated, and how many fitted passages carry it (the first columns of
        schemas.NARRATIVES; narratives.shares adds how its shares are estimated)."""
        rows = []
        for k, (narrative, fit) in enumerate(zip(self.catalog.narratives, self.fits_, strict=True)):
            rows.append(
                {
                    "narrative_id": narrative.id,
                    "label_de": narrative.label_de,
                    "label_en": narrative.label_en,
                    "n_examples": len(narrative.examples),
                    "n_counter_examples": len(narrative.counter_examples),
                    "n_confirmed": fit.n_confirmed,
                    "n_rejected": fit.n_rejected,
                    "has_query": fit.has_query,
                    "query_recall": fit.query_recall,
                    "head_threshold": fit.head.threshold if fit.head.enabled else None,
                    "head_expected_precision": fit.head.expected_precision,
                    "n_passages": int(self.tagged_[:, k].sum()),
                }
            )
        from narratives.schemas import NARRATIVES

        own = {k: v for k, v in NARRATIVES.items() if k in rows[0]} if rows else NARRATIVES
        return pl.DataFrame(rows, schema=own)

    def save(self, directory: Path) -> None:
        """Write what ``transform`` needs (corpus mean, heads, thresholds, feedback vectors)."""
        directory.mkdir(parents=True, exist_ok=True)
        arrays = {
            "mean": self.mean_,
            "coef": self.heads_.coef_,
            "intercept": self.heads_.intercept_,
        }
        for k, (yes, no) in enumerate(self._duplicates):
            arrays[f"confirmed_{k}"], arrays[f"rejected_{k}"] = yes, no
        np.savez(directory / DETECTOR_ARRAYS, **arrays)
        fits = [
            {**asdict(fit), "head": {**asdict(fit.head), "threshold": _finite(fit.head.threshold)}}
            for fit in self.fits_
        ]
        state = {"narratives": fits, "settings": asdict(self._settings)}
        (directory / DETECTOR_STATE).write_text(json.dumps(state, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, run: Run) -> NarrativeDetector:
        """The fitted detector a run stores, ready to ``transform`` new passages."""
        state = json.loads((run.model_dir / DETECTOR_STATE).read_text(encoding="utf-8"))
        arrays = np.load(run.model_dir / DETECTOR_ARRAYS)
        config = run.config
        detector = cls(run.catalog(), config.detector, seed=config.seed, languages=config.languages)
        detector.mean_ = arrays["mean"]
        detector.heads_ = NarrativeHeads(c=config.detector.head_c, seed=config.seed)
        detector.heads_.coef_, detector.heads_.intercept_ = arrays["coef"], arrays["intercept"]
        detector.fits_ = [_fit_from_state(item) for item in state["narratives"]]
        detector._duplicates = [
            (arrays[f"confirmed_{k}"], arrays[f"rejected_{k}"]) for k in range(len(detector.fits_))
        ]
        return detector

    def _match_corpus(self, texts: list[str]) -> np.ndarray:
        """Every query on the corpus passages, on the detector's engine (local by default)."""
        engine = self.engine or LOCAL
        return engine.match(
            self.catalog.queries, texts, self.languages, self._settings.query_window
        )

    def _say(self, message: str) -> None:
        if self.log is not None:
            self.log(message)

    def _training_sets(
        self, encode: Encode
    ) -> tuple[list[TrainingSet], list[tuple[list[str], list[str]]]]:
        """Each narrative's positives and negatives (embedded once) and their texts."""
        narratives = self.catalog.narratives
        texts = sorted(
            {t for n in narratives for t in (*n.positives(), *n.negatives(), *n.examples)}
        )
        index = {t: i for i, t in enumerate(texts)}
        vectors = centred(np.asarray(encode(texts), dtype=np.float32), self.mean_)
        sets, positives = [], []
        for narrative in narratives:
            own = set(narrative.positives())
            others = [t for n in narratives if n.id != narrative.id for t in n.examples]
            negative = [t for t in dict.fromkeys([*narrative.negatives(), *others]) if t not in own]
            sets.append(
                TrainingSet(
                    positives=vectors[[index[t] for t in narrative.positives()]],
                    negatives=vectors[[index[t] for t in negative]],
                )
            )
            positives.append((narrative.positives(), negative))
        return sets, positives

    def _fit_one(
        self, k: int, narrative: Narrative, training: TrainingSet, positives: list[str]
    ) -> NarrativeFit:
        confirmed = sum(f.carries for f in narrative.feedback)
        has_query = narrative.query is not None
        recall = float("nan")
        if has_query:
            own = in_languages(positives, self.languages, self.corpus_languages_)
            hits = match_matrix(
                [narrative.query], own, self.languages, window=self._settings.query_window
            )
            recall = float(hits[:, 0].mean())
        if not self._settings.head:
            head = HeadCalibration(float("inf"), float("nan"), float("nan"), 0)
        elif has_query:
            head = calibrate_head(
                self.scores_[:, k], self.query_[:, k], recall, self._settings.head_min_precision
            )
        else:
            head = _cross_validated_threshold(training, self._settings.head_c, self.seed)
        return NarrativeFit(
            narrative_id=narrative.id,
            n_positives=training.n_positives,
            n_negatives=int(training.negatives.shape[0]),
            n_confirmed=confirmed,
            n_rejected=len(narrative.feedback) - confirmed,
            has_query=has_query,
            query_recall=recall,
            head=head,
        )

    def _calibration_items(
        self, k: int, training: TrainingSet, positives: list[str], negatives: list[str]
    ) -> Items:
        """The narrative's labelled material (catalog and feedback) as the detector sees it, each
        item scored by a head that did not learn from it (cross-validation): what the share
        correction measures the detector's errors on (narratives.shares). All of them, in every
        language: measured on benchmarks.shares, keeping only those in the corpus's languages (as
        the head's query recall does) made the corrected shares worse for 5 of 8 narratives."""
        oof, y = _out_of_fold(training, self._settings.head_c, self.seed)
        texts = [*positives, *negatives]
        narrative = self.catalog.narratives[k]
        query = match_matrix(
            [narrative.query], texts, self.languages, window=self._settings.query_window
        )[:, 0]
        score = oof if oof is not None else np.zeros(len(y))
        tagged = query | (score >= self.fits_[k].head.threshold)
        return Items(y.astype(bool), tagged, query, score, source="catalog")

    def _feedback_vectors(self, encode: Encode) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per narrative: the embeddings of its confirmed and of its rejected passages."""
        out = []
        for narrative in self.catalog.narratives:
            yes = [f.text for f in narrative.feedback if f.carries]
            no = [f.text for f in narrative.feedback if not f.carries]
            vectors = (
                centred(np.asarray(encode(yes + no), dtype=np.float32), self.mean_)
                if yes or no
                else np.zeros((0, len(self.mean_)), dtype=np.float32)
            )
            out.append((vectors[: len(yes)], vectors[len(yes) :]))
        return out

    def _decide(
        self, texts: list[str], corpus: CentredRows, query: np.ndarray, scores: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Tags and their evidence: query, else head above its threshold; then feedback, which
        also decides for the passages at least as similar to a confirmed or rejected passage as
        the corpus's top ``duplicate_quantile`` (the same story told again)."""
        thresholds = np.array([f.head.threshold for f in self.fits_], dtype=np.float64)
        head = scores >= thresholds
        if scores.shape[1]:
            head &= scores == scores.max(axis=1, keepdims=True)
        tagged = query | head
        evidence = np.where(query, 0, np.where(head, 1, -1)).astype(np.int8)
        for k, (yes, no) in enumerate(self._duplicates):
            if not len(yes) and not len(no):
                continue
            sim_yes = (corpus @ yes.T).max(axis=1) if len(yes) else np.full(len(texts), -1.0)
            sim_no = (corpus @ no.T).max(axis=1) if len(no) else np.full(len(texts), -1.0)
            level = np.quantile(np.maximum(sim_yes, sim_no), self._settings.duplicate_quantile)
            confirm = (sim_yes >= level) & (sim_yes > sim_no)
            reject = (sim_no >= level) & (sim_no >= sim_yes)
            tagged[confirm, k] = True
            tagged[reject, k] = False
            evidence[confirm | reject, k] = np.where(confirm[confirm | reject], 2, -1)
        return tagged, evidence


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _fit_from_state(item: dict) -> NarrativeFit:
    head = dict(item["head"])
    head["threshold"] = float("inf") if head["threshold"] is None else head["threshold"]
    return NarrativeFit(**{**item, "head": HeadCalibration(**head)})


def _out_of_fold(
    training: TrainingSet, c: float, seed: int
) -> tuple[np.ndarray | None, np.ndarray]:
    """Out-of-fold head probabilities of a narrative's training items, and their labels (None
    where there are too few items for two folds)."""
    from sklearn.model_selection import StratifiedKFold

    x = np.vstack([training.positives, training.negatives])
    y = np.r_[np.ones(len(training.positives)), np.zeros(len(training.negatives))]
    folds = int(min(5, len(training.positives), len(training.negatives)))
    if folds < 2:
        return None, y
    oof = np.zeros(len(y))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y):
        head = NarrativeHeads(c=c, seed=seed).fit(
            [TrainingSet(x[train][y[train] == 1], x[train][y[train] == 0])]
        )
        oof[test] = head.predict_proba(x[test])[:, 0]
    return oof, y


def _cross_validated_threshold(training: TrainingSet, c: float, seed: int) -> HeadCalibration:
    """For a narrative without a query: the head threshold with the best out-of-fold F1 on its
    examples against its negatives."""
    oof, y = _out_of_fold(training, c, seed)
    if oof is None:
        return HeadCalibration(float("inf"), float("nan"), float("nan"), 0)
    best = HeadCalibration(float("inf"), float("nan"), 0.0, 0)
    for threshold in np.unique(oof):
        predicted = oof >= threshold
        tp = float((predicted & (y == 1)).sum())
        f1 = 2 * tp / max(predicted.sum() + (y == 1).sum(), 1)
        if f1 > best.expected_f1:
            best = HeadCalibration(float(threshold), tp / max(predicted.sum(), 1), f1, 0)
    return best


def scores_table(
    passages: pl.DataFrame,
    ids: list[str],
    scores: np.ndarray,
    query: np.ndarray,
    tagged: np.ndarray,
    evidence: np.ndarray,
) -> pl.DataFrame:
    """Long table: one row per passage and narrative (schemas.NARRATIVE_SCORES)."""
    from narratives.schemas import NARRATIVE_SCORES

    n, k = scores.shape
    reasons = dict(enumerate(EVIDENCE))
    frame = pl.DataFrame(
        {
            "passage_id": passages["passage_id"].gather(np.repeat(np.arange(n), k)),
            "doc_id": passages["doc_id"].gather(np.repeat(np.arange(n), k)),
            "narrative_id": pl.Series(ids, dtype=pl.String).gather(np.tile(np.arange(k), n)),
            "score": scores.ravel(),
            "query": query.ravel(),
            "tagged": tagged.ravel(),
            "evidence": pl.Series(evidence.ravel(), dtype=pl.Int8).replace_strict(
                reasons, default=None, return_dtype=pl.String
            ),
        }
    )
    return frame.cast(dict(NARRATIVE_SCORES)).select(list(NARRATIVE_SCORES))
