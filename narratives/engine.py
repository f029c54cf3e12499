"""Where the per-passage work of a training or an assignment runs: here, or on Ray.

Three steps touch every passage and need nothing from the others: embedding, matching the
catalog's queries, and assigning a passage to the topic of its nearest fitted passages. An
engine runs them; the model fit, the detector's calibration and the drift tables stay in the
calling process, in numpy and polars, whatever the engine.

- :class:`LocalEngine` runs them in this process (``workers`` threads for the embedder).
- :class:`narratives.engine_ray.RayEngine` (``pip install narratives[ray]``) runs them as Ray
  Data ``map_batches`` over Arrow blocks of the passages, with one actor per worker that
  holds the embedder, the queries or the fitted passages once.

Both give the same results: the same vectors (to float rounding), the same matches, the same
topics.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from narratives.errors import InputError

if TYPE_CHECKING:
    from narratives.embed import Embedder
    from narratives.novelty import TopicAssigner
    from narratives.query import Query

ENGINES = ("local", "ray")


class Engine(Protocol):
    """The per-passage steps of a training, wherever they run."""

    name: str
    workers: int | None

    def encode(
        self, texts: list[str], embedder: Embedder, batch_size: int, progress: bool
    ) -> np.ndarray:
        """(n, dim) float32 vectors of ``texts`` (the ones the embedding cache misses)."""

    def match(
        self,
        queries: Sequence[Query | None],
        texts: Sequence[str],
        languages: tuple[str, ...],
        window: int | None,
    ) -> np.ndarray:
        """``narratives.query.match_matrix`` of ``texts``."""

    def assign(
        self, assigner: TopicAssigner, embeddings: np.ndarray, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``assigner.transform(embeddings[rows])`` (all rows by default): topic, similarity
        and unassigned of each, without copying ``embeddings[rows]`` whole."""


class LocalEngine:
    """Everything in this process; ``workers`` threads for the embedder (default: its own)."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers

    def encode(
        self, texts: list[str], embedder: Embedder, batch_size: int, progress: bool
    ) -> np.ndarray:
        from narratives.embed import encode_batches

        if self.workers is not None and hasattr(embedder, "threads"):
            embedder.threads = self.workers
        return encode_batches(texts, embedder, batch_size, progress)

    def match(
        self,
        queries: Sequence[Query | None],
        texts: Sequence[str],
        languages: tuple[str, ...],
        window: int | None,
    ) -> np.ndarray:
        from narratives.query import match_matrix

        return match_matrix(queries, texts, languages, window=window)

    def assign(
        self, assigner: TopicAssigner, embeddings: np.ndarray, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if rows is None:
            return assigner.transform(embeddings)
        parts = [
            assigner.transform(embeddings[chunk])
            for chunk in np.array_split(rows, max(1, -(-len(rows) // ASSIGN_CHUNK)))
        ]
        return tuple(np.concatenate([part[k] for part in parts]) for k in range(3))


ASSIGN_CHUNK = 65_536
"""Rows the local engine assigns at a time (bounds the copy of their embeddings)."""

LOCAL = LocalEngine()
"""The engine a training uses unless told otherwise."""


def get_engine(name: str = "local", *, address: str | None = None, workers: int | None = None):
    """The engine called ``name`` ("local" or "ray"); ``address`` is a Ray cluster's (Ray only;
    without it Ray starts locally with ``workers`` CPUs, default the machine's)."""
    if workers is not None and workers < 1:
        raise InputError(f"workers must be at least 1, got {workers}", field="workers")
    if name == "local":
        if address is not None:
            raise InputError("--address needs --engine ray", field="address")
        return LocalEngine(workers)
    if name == "ray":
        from narratives.engine_ray import RayEngine

        return RayEngine(address=address, workers=workers)
    raise InputError(
        f"unknown engine '{name}' (choose one of: {', '.join(ENGINES)})", field="engine"
    )
