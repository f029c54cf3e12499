"""Which languages a corpus is written in, as the queries read it.

A catalog mixes languages: the shipped one has German and English examples, so that a
multilingual embedder learns each narrative from both. A query, though, is written in the
corpus's language, and its recall on the examples stands in for its recall on the corpus
(narratives.detect.calibrate). Measured on examples the query cannot read (a German query on
English sentences), that recall comes out too low, and the head is trusted with passages the
query excluded on purpose. So the query's recall is measured on the examples in the corpus's
languages.

A text reads as the configured language whose stop words it holds most; a text without any
(a terse headline: "Kremlin rejects peace plan") says nothing about its language and is counted
for none.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from narratives.query.tokens import shared_analyzer
from narratives.vectorizer import TOKEN_OR_BREAK

SAMPLE_PASSAGES = 2_000
"""Passages, evenly spaced through the corpus, whose languages are counted."""
MIN_SHARE = 0.05
"""A language is the corpus's when at least this share of the sampled passages that read as
some language read as it."""


def reads_as(text: str, languages: tuple[str, ...]) -> str | None:
    """The configured language ``text`` reads as; None when it holds no stop word of any."""
    if len(languages) == 1:
        return languages[0]
    tokens = [token for token in TOKEN_OR_BREAK.findall(text or "") if token]
    hits = shared_analyzer(languages).language_hits(tokens)
    best = max(hits)
    return languages[hits.index(best)] if best else None


def corpus_languages(texts: Sequence[str], languages: tuple[str, ...]) -> frozenset[str]:
    """The configured languages that at least MIN_SHARE of the sampled corpus passages read as
    (all of them when no passage reads as any)."""
    rows = np.unique(np.linspace(0, len(texts) - 1, min(len(texts), SAMPLE_PASSAGES)).astype(int))
    readings = [reads_as(texts[row], languages) for row in rows]
    counts = Counter(lang for lang in readings if lang is not None)
    total = sum(counts.values())
    if not total:
        return frozenset(languages)
    return frozenset(lang for lang, n in counts.items() if n >= MIN_SHARE * total)


def in_languages(
    texts: Sequence[str], languages: tuple[str, ...], keep: frozenset[str]
) -> list[str]:
    """The ``texts`` that read as one of ``keep`` or as no language; all of them where none does."""
    allowed = {*keep, None}
    kept = [text for text in texts if reads_as(text, languages) in allowed]
    return kept or list(texts)
