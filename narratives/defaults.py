"""The defaults more than one part of the package shares, stated once."""

from __future__ import annotations

DEFAULT_SEED = 42
"""Random seed of a training: the same corpus and seed give the same topics and assignments."""

DEFAULT_LANGUAGES: tuple[str, ...] = ("de", "en")
"""Languages of the stop words and lemmas: German first, English beside it."""

DEFAULT_EMBEDDER = "use-multilingual"
"""The offline embedder a training uses unless told otherwise (see README, Embedders)."""

DEFAULT_FIT_SAMPLE = 25_000
"""Passages BERTopic is fitted on at most; the rest are assigned by nearest fitted passages
(benchmarks/scale.py measures what this costs in agreement with a full fit, and saves)."""
