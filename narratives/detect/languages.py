"""Which languages a corpus is written in, as the queries read it.

A catalog mixes languages: the shipped one has German and English examples, so that a
multilingual embedder learns each narrative from both. A query, though, is written in the
corpus's language, and its recall on the examples stands in for its recall on the corpus
(narratives.detect.calibrate). Measured on examples the query cannot read (a German query on
English sentences), that recall comes out too low, and the head is trusted with passages the
query excluded on purpose. So the recall is measured on the examples in the corpus's languages.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from narratives.query.tokens import shared_analyzer, tokenize

SAMPLE_PASSAGES = 2_000
"""Passages, evenly spaced through the corpus, whose languages are counted."""
MIN_SHARE = 0.05
"""A language is the corpus's when at least this share of the sampled passages reads as it."""


def language_of(text: str, languages: tuple[str, ...]) -> str:
    """The configured language ``text`` reads as (the one whose stop words it holds most)."""
    return tokenize(text, shared_analyzer(tuple(languages))).language


def corpus_languages(texts: Sequence[str], languages: tuple[str, ...]) -> frozenset[str]:
    """The configured languages that at least MIN_SHARE of the corpus passages read as."""
    if not texts:
        return frozenset(languages)
    step = max(1, len(texts) // SAMPLE_PASSAGES)
    sample = texts[::step]
    counts = Counter(language_of(text, languages) for text in sample)
    return frozenset(lang for lang, n in counts.items() if n >= MIN_SHARE * len(sample))


def in_languages(
    texts: Sequence[str], languages: tuple[str, ...], keep: frozenset[str]
) -> list[str]:
    """The texts that read as one of ``keep``; all of them where none does."""
    kept = [text for text in texts if language_of(text, languages) in keep]
    return kept or list(texts)
