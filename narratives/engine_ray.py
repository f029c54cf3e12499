"""The Ray engine: embedding, query matching and topic assignment as Ray Data ``map_batches``.

The passages' texts go to Ray's object store as Arrow blocks (shards of at most 20,000); a pool
of actors, one per worker, each holds the embedder (or the queries, or the fitted passages) once
and processes batch after batch. Fitted passages and the embeddings to assign are
put in Ray's object store once and read by every actor without a copy on the same node.
Results carry their row numbers, so the order in which batches finish does not matter.

Without an address Ray starts here with ``workers`` CPUs (default: the machine's). With
``address`` (``ray://head:10001`` or ``auto``) the work goes to that cluster; every node needs
this package installed (``pip install narratives[ray]``) and the embedder's package.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from narratives.errors import InputError

if TYPE_CHECKING:
    from narratives.embed import Embedder
    from narratives.novelty import TopicAssigner
    from narratives.query import Query

SHARD_ROWS = 20_000
"""Passages per Arrow block at most (and at least two blocks per worker)."""

EMBED_BATCH = 256
MATCH_BATCH = 2_000
ASSIGN_BATCH = 4_096


class _Encode:
    """Actor: one embedder, one thread (the actor holds one CPU)."""

    def __init__(self, embedder: Embedder) -> None:
        if hasattr(embedder, "threads"):
            embedder.threads = 1
        self.embedder = embedder

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = self.embedder.encode([str(t) for t in batch["text"]])
        return {"row": batch["row"], "vector": np.asarray(vectors, dtype=np.float32)}


class _Match:
    """Actor: the parsed queries, and the lemma caches it builds as it goes."""

    def __init__(self, queries, languages: tuple[str, ...], window: int | None) -> None:
        self.queries, self.languages, self.window = queries, languages, window

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from narratives.query import match_matrix

        texts = [str(t) for t in batch["text"]]
        hits = match_matrix(self.queries, texts, self.languages, window=self.window)
        return {"row": batch["row"], "hits": hits}


class _Assign:
    """Actor: the fitted passages (a TopicAssigner), the embeddings from the object store and
    which of their rows to assign; a batch is positions into those rows."""

    def __init__(self, assigner: TopicAssigner, vectors, rows: np.ndarray) -> None:
        import ray

        self.assigner = assigner
        self.vectors = ray.get(vectors) if isinstance(vectors, ray.ObjectRef) else vectors
        self.rows = rows

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        positions = batch["data"]
        topics, similarity, unassigned = self.assigner.transform(self.vectors[self.rows[positions]])
        return {
            "row": positions,
            "topic": topics,
            "similarity": similarity,
            "unassigned": unassigned,
        }


class RayEngine:
    """Embedding, matching and assignment on Ray (see the module docstring)."""

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        try:
            import ray
        except ImportError as exc:
            raise InputError(
                "--engine ray needs Ray: pip install 'narratives[ray]'", field="engine"
            ) from exc
        if not ray.is_initialized():
            options = {"include_dashboard": False, "log_to_driver": False}
            if address:
                ray.init(address=address, **options)
            else:
                ray.init(
                    num_cpus=workers or os.cpu_count() or 1,
                    _node_ip_address="127.0.0.1",
                    **options,
                )
        available = int(ray.cluster_resources().get("CPU", 1))
        self.workers = max(1, min(workers or available, available))
        self.address = address

    def _pool(self, **kwargs) -> dict:
        from ray.data import ActorPoolStrategy

        return {
            "compute": ActorPoolStrategy(size=self.workers),
            "num_cpus": 1,
            "batch_format": "numpy",
            **kwargs,
        }

    def _texts(self, texts: Sequence[str]):
        """A Ray dataset of (row, text): one Arrow block per shard of at most ``SHARD_ROWS``
        passages (at least two per worker), put in Ray's object store by the driver, so no task
        reads or reshuffles anything before the actors start."""
        import ray

        frame = pl.DataFrame({"row": np.arange(len(texts), dtype=np.int64), "text": list(texts)})
        size = max(1, -(-frame.height // self._blocks(frame.height)))
        blocks = [frame.slice(start, size).to_arrow() for start in range(0, frame.height, size)]
        return ray.data.from_arrow(blocks or [frame.to_arrow()])

    def _blocks(self, n: int) -> int:
        return max(self.workers * 2, -(-n // SHARD_ROWS))

    @staticmethod
    def _collect(dataset, n: int, column: str, width: int, dtype) -> np.ndarray:
        out = np.zeros((n, width), dtype=dtype)
        for batch in dataset.iter_batches(batch_format="numpy", batch_size=None):
            out[batch["row"]] = np.asarray(batch[column]).reshape(len(batch["row"]), width)
        return out

    def encode(
        self, texts: list[str], embedder: Embedder, batch_size: int, progress: bool
    ) -> np.ndarray:
        """Vectors of ``texts``: an actor per worker embeds batches of the Arrow blocks."""
        self._progress(progress)
        dataset = self._texts(texts).map_batches(
            _Encode,
            fn_constructor_kwargs={"embedder": embedder},
            **self._pool(batch_size=max(batch_size, EMBED_BATCH)),
        )
        rows, vectors = [], []
        for batch in dataset.iter_batches(batch_format="numpy", batch_size=None):
            rows.append(batch["row"])
            vectors.append(np.asarray(batch["vector"], dtype=np.float32))
        order = np.argsort(np.concatenate(rows), kind="stable")
        return np.concatenate(vectors)[order]

    def match(
        self,
        queries: Sequence[Query | None],
        texts: Sequence[str],
        languages: tuple[str, ...],
        window: int | None,
    ) -> np.ndarray:
        """``match_matrix`` of ``texts``, a batch of the Arrow blocks per actor call."""
        self._progress(False)
        if not texts or not any(q is not None for q in queries):
            return np.zeros((len(texts), len(queries)), dtype=bool)
        dataset = self._texts(texts).map_batches(
            _Match,
            fn_constructor_kwargs={
                "queries": list(queries),
                "languages": tuple(languages),
                "window": window,
            },
            **self._pool(batch_size=MATCH_BATCH),
        )
        return self._collect(dataset, len(texts), "hits", len(queries), bool)

    def assign(
        self, assigner: TopicAssigner, embeddings: np.ndarray, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``assigner.transform`` of ``embeddings[rows]``: the matrix goes to the object store
        once, and each actor call gets a batch of row numbers into it."""
        import ray

        rows = np.arange(len(embeddings)) if rows is None else np.asarray(rows, dtype=np.int64)
        n = len(rows)
        if n == 0:
            return assigner.transform(embeddings[:0])
        self._progress(False)
        vectors = ray.put(np.ascontiguousarray(embeddings, dtype=np.float32))
        positions = np.array_split(np.arange(n), self._blocks(n))
        dataset = ray.data.from_numpy([p for p in positions if len(p)]).map_batches(
            _Assign,
            fn_constructor_kwargs={"assigner": assigner, "vectors": vectors, "rows": rows},
            **self._pool(batch_size=ASSIGN_BATCH),
        )
        topics = np.zeros(n, dtype=np.int64)
        similarity = np.zeros(n, dtype=np.float32)
        unassigned = np.zeros(n, dtype=bool)
        for batch in dataset.iter_batches(batch_format="numpy", batch_size=None):
            done = batch["row"]
            topics[done] = batch["topic"]
            similarity[done] = batch["similarity"]
            unassigned[done] = batch["unassigned"]
        return topics, similarity, unassigned

    @staticmethod
    def _progress(show: bool) -> None:
        """Ray Data's progress bars and execution log lines only when progress is asked for."""
        import logging

        from ray.data import DataContext

        context = DataContext.get_current()
        context.enable_progress_bars = show
        context.print_on_execution_start = show
        logging.getLogger("ray.data").setLevel(logging.INFO if show else logging.WARNING)
