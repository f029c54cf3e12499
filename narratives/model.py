"""Topic model: BERTopic discovery and BERTopic representations of the passages.

The only module that imports BERTopic. ``TopicModel.fit`` takes the Passages table and their
embeddings and learns, in two steps:

1. Discovery: every passage goes through BERTopic's own pipeline (UMAP, HDBSCAN, outlier
   reduction), with hyper-parameters that adapt to the corpus size. Topics are what the corpus is
   about, found without a catalog and named by their keywords; which catalogued narratives a
   topic's passages carry is decided passage by passage by the detector (narratives.detect), never
   by renaming a topic after a narrative.
2. Representation: one BERTopic model is fitted on all passages with those topics (BERTopic's
   manual mode), giving c-TF-IDF keywords with the German-aware vectorizer, representative
   passages and topic embeddings; that model is what a run stores and what ``transform`` uses.
"""

from __future__ import annotations

import json
import logging
import math
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from narratives.config import ModelSettings, TrainConfig
from narratives.defaults import DEFAULT_LANGUAGES, DEFAULT_SEED
from narratives.detect.head import unit_rows
from narratives.embed import Embedder
from narratives.engine import LOCAL, Engine
from narratives.errors import InputError
from narratives.schemas import ASSIGNMENTS, OUTLIER_TOPIC, TOPICS, conform
from narratives.vectorizer import build_vectorizer, display_forms

if TYPE_CHECKING:
    from narratives.runs import Run

# Outlier reduction joins an outlier to its nearest topic above this cosine. TF-IDF+SVD cosines
# sit far lower than the neural embedders' (benchmarks/quality.py: 0.35 left 23-30% outliers).
DEFAULT_OUTLIER_THRESHOLD = {"tfidf-svd": 0.10}
FALLBACK_OUTLIER_THRESHOLD = 0.35
OUTLIER_LABEL = "outliers"


@dataclass(frozen=True)
class ResolvedParams:
    """The hyper-parameters one fit actually used (after adapting to corpus size)."""

    n_passages: int
    min_topic_size: int
    min_samples: int
    n_neighbors: int
    n_components: int
    outlier_threshold: float
    n_fit: int | None = None
    """Passages the model was fitted on (fewer than ``n_passages`` with ``fit_sample``)."""


def adapt_min_topic_size(n: int) -> int:
    """Smallest cluster HDBSCAN may call a topic: grows with the square root of the corpus."""
    return int(min(500, max(3, round(math.sqrt(max(n, 1)) / 2))))


def adapt_n_neighbors(n: int) -> int:
    """UMAP neighbourhood: BERTopic's 15 for real corpora, smaller for tiny ones."""
    return int(max(2, min(15, n // 3)))


def bertopic_backend(embedder: Embedder):
    """Wrap an offline embedder so BERTopic embeds through it (never through its default model)."""
    from bertopic.backend import BaseEmbedder

    class OfflineBackend(BaseEmbedder):
        def embed(self, documents, verbose: bool = False) -> np.ndarray:
            return embedder.encode(list(documents))

    return OfflineBackend()


EXACT_KNN_MAX_PASSAGES = 40_000


def exact_knn(embeddings: np.ndarray, k: int, chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Exact cosine k-nearest neighbours of unit rows (self first), in row chunks.

    Handing UMAP these neighbours skips pynndescent, whose just-in-time compilation costs about
    half a minute in every fresh process; up to EXACT_KNN_MAX_PASSAGES rows the exact search is
    also faster, and it is deterministic.
    """
    n = embeddings.shape[0]
    k = min(k, n)
    indices = np.empty((n, k), dtype=np.int32)
    distances = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, chunk):
        sims = embeddings[start : start + chunk] @ embeddings.T
        rows = np.arange(sims.shape[0])
        sims[rows, start + rows] = np.inf
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        part_sims = np.take_along_axis(sims, part, axis=1)
        order = np.lexsort((part, -part_sims), axis=1)
        indices[start : start + chunk] = np.take_along_axis(part, order, axis=1)
        ordered = np.take_along_axis(part_sims, order, axis=1)
        ordered[:, 0] = 1.0
        distances[start : start + chunk] = np.clip(1.0 - ordered, 0.0, 2.0)
    return indices, distances


def umap_for(embeddings: np.ndarray, n_neighbors: int, n_components: int, seed: int):
    """BERTopic's UMAP settings, seeded, with exact neighbours up to EXACT_KNN_MAX_PASSAGES rows
    (pynndescent's approximate search above that)."""
    from umap import UMAP

    from narratives.jit_cache import cache_umap_kernels

    cache_umap_kernels()
    n = embeddings.shape[0]
    extra = {}
    if n <= EXACT_KNN_MAX_PASSAGES:
        indices, distances = exact_knn(embeddings, n_neighbors)
        extra["precomputed_knn"] = (indices, distances, None)
    return UMAP(
        n_neighbors=n_neighbors,
        n_components=n_components,
        min_dist=0.0,
        metric="cosine",
        random_state=seed,
        init="spectral" if n >= 200 else "random",
        low_memory=True,
        **extra,
    )


class TopicModel:
    """Discover the topics of passages with BERTopic; scikit-learn style (``fit`` returns self).

    Learned attributes (set by ``fit``): ``topics_`` (Topics table), ``assignments_``
    (Assignments table), ``topic_model_`` (the fitted BERTopic), ``params_`` (ResolvedParams).
    """

    def __init__(
        self,
        embedder: Embedder,
        settings: ModelSettings | None = None,
        *,
        seed: int = DEFAULT_SEED,
        languages: tuple[str, ...] = DEFAULT_LANGUAGES,
        log: Callable[[str], None] | None = None,
        engine: Engine | None = None,
    ) -> None:
        self.embedder = embedder
        self.settings = settings
        self.seed = seed
        self.languages = languages
        self.log = log
        self.engine = engine

    @property
    def _settings(self) -> ModelSettings:
        return self.settings or ModelSettings()

    @classmethod
    def from_config(
        cls,
        config: TrainConfig,
        embedder: Embedder,
        *,
        seed: int | None = None,
        log: Callable[[str], None] | None = None,
        engine: Engine | None = None,
    ) -> TopicModel:
        """The (unfitted) model that ``config`` describes; ``seed`` overrides its seed;
        ``engine`` assigns the passages outside a fit sample (local by default)."""
        return cls(
            embedder,
            config.model,
            seed=config.seed if seed is None else seed,
            languages=config.languages,
            log=log,
            engine=engine,
        )

    @classmethod
    def load(cls, run: Run) -> TopicModel:
        """The fitted model a run stores (the counterpart of ``save``): its BERTopic model with
        the run's embedder and tables, ready to ``transform`` new passages."""
        from bertopic import BERTopic

        model = cls.from_config(run.config, run.embedder())
        state = json.loads((run.model_dir / "topic_model.json").read_text(encoding="utf-8"))
        model.params_ = ResolvedParams(**state["params"])
        model.id_map_ = {int(k): int(v) for k, v in state.get("id_map", {}).items()}
        bertopic_logger = logging.getLogger("BERTopic")
        level = bertopic_logger.level
        bertopic_logger.setLevel(logging.ERROR)
        try:
            model.topic_model_ = BERTopic.load(
                str(run.model_dir / "bertopic"), embedding_model=bertopic_backend(model.embedder)
            )
        finally:
            bertopic_logger.setLevel(level)
        model.topics_ = run.table("topics")
        model.assignments_ = run.table("assignments")
        return model

    def _say(self, message: str) -> None:
        if self.log is not None:
            self.log(message)

    def fit(
        self, passages: pl.DataFrame, embeddings: np.ndarray, sample: np.ndarray | None = None
    ) -> TopicModel:
        """Learn topics and topic assignments for ``passages`` (rows match ``embeddings``).

        With ``sample`` (row indices), BERTopic is fitted on those passages only and every other
        passage is assigned to a topic by its nearest fitted passages, the rule ``narratives
        assign`` uses for new articles (narratives.novelty.TopicAssigner); one that fits no
        topic is an outlier.
        """
        n = passages.height
        if n == 0:
            raise InputError("no passages to model", field="text")
        if embeddings.shape[0] != n:
            raise ValueError(f"{n} passages but {embeddings.shape[0]} embedding rows")
        embeddings = unit_rows(np.asarray(embeddings, dtype=np.float32))
        texts = passages["text"].to_list()
        rows = np.arange(n) if sample is None else np.unique(np.asarray(sample, dtype=np.int64))
        full = len(rows) == n
        fit_texts = texts if full else [texts[i] for i in rows]
        fit_vectors = embeddings if full else embeddings[rows]
        labels, resolved = self._discover(fit_texts, fit_vectors)
        self.params_ = ResolvedParams(
            n_passages=n, outlier_threshold=self._outlier_threshold(), n_fit=len(rows), **resolved
        )
        if (labels < 0).all():
            raise InputError(
                f"no topic found in {n} passages: the corpus is too small or too uniform to "
                "cluster; add documents or set a smaller [model] min_topic_size",
                field="text",
            )
        fitted, analyzer = self._fit_representation(fit_texts, fit_vectors, labels)
        topics = fitted if full else self._assign_rest(embeddings, rows, fit_vectors, fitted)
        forms = self._keyword_forms(self.topic_model_, fit_texts, fitted, analyzer)
        self.topics_ = self._topics_table(passages, texts, topics, forms)
        self.assignments_ = self._assignments_table(passages, embeddings, topics)
        return self

    def _assign_rest(
        self, embeddings: np.ndarray, rows: np.ndarray, fit_vectors: np.ndarray, fitted: np.ndarray
    ) -> np.ndarray:
        """Topics of every passage: ``fitted`` for the sample ``rows`` (``fit_vectors`` their
        embeddings), the nearest-passage vote
        over the sample for the others. One that no fitted passage is close to is an outlier,
        or, with ``reduce_outliers``, joins the nearest topic centroid at ``outlier_threshold``
        or more, as the fitted passages' outliers did."""
        from narratives.novelty import TopicAssigner

        rest = np.setdiff1d(np.arange(embeddings.shape[0]), rows, assume_unique=True)
        self._say(f"assignment: {len(rest)} passages outside the fit sample, by nearest passages")
        assigner = TopicAssigner.fit(fit_vectors, fitted, seed=self.seed)
        assigned, _, unassigned = (self.engine or LOCAL).assign(assigner, embeddings, rest)
        found = np.unique(fitted[fitted >= 0])
        if self._settings.reduce_outliers and unassigned.any() and len(found):
            centroids = unit_rows(np.stack([fit_vectors[fitted == t].mean(axis=0) for t in found]))
            similarity = embeddings[rest[unassigned]] @ centroids.T
            best = similarity.argmax(axis=1)
            close = similarity[np.arange(len(best)), best] >= self._outlier_threshold()
            assigned[unassigned] = np.where(close, found[best], OUTLIER_TOPIC)
        topics = np.empty(embeddings.shape[0], dtype=np.int64)
        topics[rows] = fitted
        topics[rest] = assigned
        return topics

    def _outlier_threshold(self) -> float:
        if self._settings.outlier_threshold is not None:
            return float(self._settings.outlier_threshold)
        return DEFAULT_OUTLIER_THRESHOLD.get(self.embedder.name, FALLBACK_OUTLIER_THRESHOLD)

    def _discover(self, texts: list[str], embeddings: np.ndarray) -> tuple[np.ndarray, dict]:
        """Cluster the passages with BERTopic; -1 marks outliers."""
        m = len(texts)
        min_size = self._settings.min_topic_size or adapt_min_topic_size(m)
        min_samples = self._settings.min_samples or max(1, min_size // 2)
        n_neighbors = self._settings.n_neighbors or adapt_n_neighbors(m)
        n_components = int(max(2, min(self._settings.n_components, m - 2)))
        resolved = {
            "min_topic_size": min_size,
            "min_samples": min_samples,
            "n_neighbors": n_neighbors,
            "n_components": n_components,
        }
        if m < max(2 * min_size, 10):
            self._say(f"discovery: {m} passages, too few to cluster; kept as outliers")
            return np.full(m, OUTLIER_TOPIC, dtype=np.int64), resolved
        from bertopic import BERTopic
        from hdbscan import HDBSCAN
        from sklearn.feature_extraction.text import CountVectorizer

        self._say(
            f"discovery: BERTopic on {m} passages (UMAP n_neighbors={n_neighbors}, "
            f"HDBSCAN min_cluster_size={min_size})"
        )
        umap_model = umap_for(embeddings, n_neighbors, n_components, self.seed)
        hdbscan_model = HDBSCAN(
            min_cluster_size=min_size,
            min_samples=min_samples,
            metric="euclidean",
            cluster_selection_method=self._settings.cluster_selection_method,
            prediction_data=False,
        )
        discovery = BERTopic(
            embedding_model=bertopic_backend(self.embedder),
            umap_model=umap_model,
            hdbscan_model=hdbscan_model,
            vectorizer_model=CountVectorizer(max_features=20_000),
            calculate_probabilities=False,
            verbose=False,
        )
        docs = texts
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module="umap")
            topics, _ = discovery.fit_transform(docs, embeddings)
        topics = np.asarray(topics, dtype=np.int64)
        has_topics = (topics >= 0).any()
        if self._settings.reduce_outliers and has_topics and (topics < 0).any():
            reduced = discovery.reduce_outliers(
                docs,
                topics.tolist(),
                strategy="embeddings",
                embeddings=embeddings,
                threshold=self._outlier_threshold(),
            )
            topics = np.asarray(reduced, dtype=np.int64)
        n_topics = len(set(topics.tolist()) - {OUTLIER_TOPIC})
        self._say(f"discovery: {n_topics} topics, {int((topics < 0).sum())} outlier passages")
        return topics, resolved

    def _fit_representation(
        self, texts: list[str], embeddings: np.ndarray, labels: np.ndarray
    ) -> tuple[np.ndarray, Callable[[str], list[str]]]:
        """BERTopic in manual mode over the fitted passages: keywords, representatives, topic
        vectors; returns their topics and the vectorizer's analyzer."""
        from bertopic import BERTopic
        from bertopic.cluster import BaseCluster
        from bertopic.dimensionality import BaseDimensionalityReduction
        from bertopic.vectorizers import ClassTfidfTransformer

        vectorizer = build_vectorizer(
            languages=self.languages, ngram_range=self._settings.ngram_range
        )
        topic_model = BERTopic(
            embedding_model=bertopic_backend(self.embedder),
            umap_model=BaseDimensionalityReduction(),
            hdbscan_model=BaseCluster(),
            vectorizer_model=vectorizer,
            ctfidf_model=ClassTfidfTransformer(reduce_frequent_words=True),
            top_n_words=self._settings.top_n_words,
            calculate_probabilities=False,
            verbose=False,
        )
        self._say(f"representation: c-TF-IDF keywords for {len(set(labels.tolist()))} topics")
        topics, _ = topic_model.fit_transform(texts, embeddings, y=labels)
        self.topic_model_ = topic_model
        return np.asarray(topics, dtype=np.int64), vectorizer.analyzer

    @staticmethod
    def _keyword_forms(topic_model, texts: list[str], topics: np.ndarray, analyzer) -> dict:
        """Natural spellings of the topics' keywords, read from a sample of each topic's passages
        (the whole corpus only for keywords the sample misses)."""
        wanted = {
            word
            for topic in set(topics.tolist()) - {OUTLIER_TOPIC}
            for word, _ in (topic_model.get_topic(topic) or [])
        }
        sample = [i for t in np.unique(topics) for i in np.flatnonzero(topics == t)[:200]]
        forms = display_forms([texts[i] for i in sorted(sample)], analyzer)
        if wanted - forms.keys():
            forms = display_forms(texts, analyzer)
        return forms

    def _topics_table(
        self,
        passages: pl.DataFrame,
        texts: list[str],
        topics: np.ndarray,
        forms: dict[str, str],
    ) -> pl.DataFrame:
        ids = passages["passage_id"].to_list()
        first_id = {}
        for text, pid in zip(texts, ids, strict=True):
            first_id.setdefault(text, pid)
        sizes = Counter(topics.tolist())
        representatives = self.topic_model_.get_representative_docs() or {}
        rows = []
        for topic in sorted(sizes):
            words = [] if topic == OUTLIER_TOPIC else self.topic_model_.get_topic(topic) or []
            keywords = [forms.get(word, word) for word, _ in words if word]
            reps = [first_id[d] for d in representatives.get(topic, []) if d in first_id]
            rows.append(
                {
                    "topic_id": topic,
                    "label": self._label(topic, keywords),
                    "keywords": keywords,
                    "size": sizes[topic],
                    "representative_passage_ids": reps[: self._settings.n_representative],
                }
            )
        return conform(pl.DataFrame(rows, schema=TOPICS), TOPICS)

    @staticmethod
    def _label(topic: int, keywords: list[str]) -> str:
        if topic == OUTLIER_TOPIC:
            return OUTLIER_LABEL
        return ", ".join(keywords[:3]) if keywords else f"topic {topic}"

    def _assignments_table(
        self, passages: pl.DataFrame, embeddings: np.ndarray, topics: np.ndarray
    ) -> pl.DataFrame:
        """Each passage's topic and its similarity to that topic's centroid (0 for outliers)."""
        probability = np.zeros(len(topics), dtype=np.float32)
        for topic in np.unique(topics):
            if topic == OUTLIER_TOPIC:
                continue
            members = topics == topic
            centroid = unit_rows(embeddings[members].mean(axis=0, keepdims=True))[0]
            probability[members] = np.clip(embeddings[members] @ centroid, 0.0, 1.0)
        frame = passages.select("passage_id", "doc_id").with_columns(
            pl.Series("topic_id", topics, dtype=pl.Int32),
            pl.Series("probability", probability, dtype=pl.Float32),
        )
        return conform(frame, ASSIGNMENTS)

    def transform(self, passages: pl.DataFrame, embeddings: np.ndarray) -> pl.DataFrame:
        """Assign new passages to the fitted topics (nearest topic embedding, BERTopic's rule),
        under the run's public topic ids."""
        topics, _ = self.topic_model_.transform(passages["text"].to_list(), embeddings)
        public = np.asarray([self.public_id(t) for t in topics], dtype=np.int64)
        return self._assignments_table(passages, unit_rows(embeddings), public)

    def public_id(self, topic: int) -> int:
        """The run's id of a topic of the fitted BERTopic model (they differ after a retrain
        with a parent, whose continued topics keep the parent's ids)."""
        return int(getattr(self, "id_map_", {}).get(int(topic), int(topic)))

    def relabel(self, ids: dict[int, int]) -> TopicModel:
        """Give the fitted topics the ids ``ids`` maps them to (outliers stay -1), in the topics
        and assignments tables; ``transform`` then answers with them too."""
        self.id_map_ = {int(k): int(v) for k, v in ids.items()}
        mapping = pl.col("topic_id").replace_strict(self.id_map_, default=pl.col("topic_id"))
        self.topics_ = self.topics_.with_columns(mapping.cast(pl.Int32)).sort("topic_id")
        self.assignments_ = self.assignments_.with_columns(mapping.cast(pl.Int32))
        return self

    def save(self, directory: Path) -> None:
        """Write the BERTopic model (safetensors) and the resolved parameters into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        bertopic_logger = logging.getLogger("BERTopic")
        level = bertopic_logger.level
        bertopic_logger.setLevel(logging.ERROR)
        try:
            self.topic_model_.save(
                str(directory / "bertopic"),
                serialization="safetensors",
                save_ctfidf=True,
                save_embedding_model=False,
            )
        finally:
            bertopic_logger.setLevel(level)
        state = {
            "params": asdict(self.params_),
            "embedder": self.embedder.id,
            "id_map": {str(k): v for k, v in getattr(self, "id_map_", {}).items()},
        }
        (directory / "topic_model.json").write_text(json.dumps(state, indent=2))
