"""Boolean keyword queries over lemmas: the analyst's part of a narrative definition.

Analysts write narratives the way they write Media Cloud or GDELT queries, for example
``Gegenoffensive AND (scheitern OR Misserfolg* OR "keine Erfolge")``, and the query is evaluated
on each passage (headline plus teaser, or a paragraph) of a German-first, multilingual corpus.

Syntax (operators in upper case only; ``and``, ``or``, ``not`` and ``near`` are ordinary words)::

    query    := or_expr
    or_expr  := and_expr ("OR" and_expr)*
    and_expr := near_expr (["AND"] near_expr)*      # side by side means AND
    near_expr:= unary ("NEAR/" INT unary)*          # NEAR/n, n >= 1; plain NEAR is NEAR/5
    unary    := "NOT" unary | atom
    atom     := "(" or_expr ")" | PHRASE | TERM

A TERM is a word (letters, digits, hyphens, apostrophes) with an optional leading and/or
trailing ``*``; a PHRASE is one or more such words in quotes (``"..."``, ``„...“``, ``“...”``).

Matching. A passage is tokenised as :data:`narratives.vectorizer.TOKEN_OR_BREAK` does it
(hyphenated compounds stay one token, ``.!?;:`` and newlines break sentences) and each token
position carries its lower-cased surface form, its lower-cased simplemma lemma in the passage
language and, for a hyphenated token, the forms of its parts ("Nato-Beitritt" also matches
``Nato`` and ``Beitritt``). Stop words are kept, so "nicht" and "keine" can be queried.

- A plain TERM matches a position when the term's lower-cased form or one of its lemmas (in
  every configured language) equals one of the position's forms.
- ``Misserfolg*`` matches forms starting with "misserfolg", ``*munition`` forms ending with it,
  ``*munition*`` forms containing it. Wildcard stems are not lemmatised.
- A PHRASE matches its words at consecutive positions of one sentence. An apostrophe splits a
  word as the passage tokeniser does, so ``Russia's`` is the phrase ``"Russia s"``.
- ``a NEAR/n b`` matches when a match of ``a`` and one of ``b`` lie at most ``n`` positions apart,
  in either order, anywhere in the passage (sentence breaks take up no position; overlapping
  matches are 0 apart, so ``Nato NEAR/1 Beitritt`` matches "Nato-Beitritt"). Its operands must
  have positions: terms, phrases, OR-groups of them or other NEARs.
- ``NOT x`` is true when ``x`` does not match; ``a NOT b`` is ``a AND NOT b``.

What simplemma (2.x, non-greedy) does and does not merge, so that queries get written right:

- German lemmatisation is case-sensitive. Write nouns capitalised: ``Krieg`` is the noun, while
  lower-case ``krieg`` also lemmatises to the verb "kriegen" (``beitritt`` to "beitreten",
  ``erfolge`` to "erfolgen") and then matches those verbs too.
- Finite verb forms and participles go to the infinitive ("scheiterte", "gescheitert",
  "gescheiterte", "eroberten" -> scheitern, erobern). Some inflected participle adjectives
  lemmatise only to the participle ("gescheiterten", "gelieferten" -> gescheitert, geliefert);
  the matcher lemmatises that once more, so ``scheitern`` and ``liefern`` match them too.
- Known nouns lose their inflection ("Gegenoffensiven", "Misserfolge", "Beitritts", "Dörfer"),
  unknown compounds keep it ("Munitionsmangels" stays as it is): use ``Munitionsmangel*``.
- German separable verbs split in a main clause are rejoined (:mod:`narratives.query.separable`):
  in "Die Munition geht ihnen aus" or "Kiew erobert Cherson zurück" the stem also carries the
  whole verb's lemma, so ``ausgehen`` and ``zurückerobern`` (or their participles
  ``ausgegangen``, ``zurückerobert``, which lemmatise to them) match, and so do the nouns that
  lower-case to the same form (``Vorrücken``). Write exclusions the same way: a ``NOT`` of
  ``"rückt vor"`` misses "Russland rückt in der Ukraine vor", one of ``Vorrücken`` does not.
- English passages are lemmatised in English ("failed" -> fail, "troops" -> troop), but many
  words are unknown to it ("counteroffensives"): use ``counteroffensive*``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from narratives.defaults import DEFAULT_LANGUAGES
from narratives.query.batch import TokenBatch
from narratives.query.parse import QuerySyntaxError, parse_query
from narratives.query.tokens import QueryTokens, Span, shared_analyzer, tokenize
from narratives.query.tree import (
    DEFAULT_NEAR_DISTANCE,
    And,
    Near,
    Node,
    Not,
    Or,
    Phrase,
    Query,
    Term,
)
from narratives.vectorizer import TopicWordAnalyzer

__all__ = [
    "DEFAULT_NEAR_DISTANCE",
    "And",
    "Near",
    "Node",
    "Not",
    "Or",
    "Phrase",
    "Query",
    "QuerySyntaxError",
    "QueryTokens",
    "Span",
    "Term",
    "TokenBatch",
    "match_matrix",
    "parse_query",
    "sentence_windows",
    "tokenize",
]

BATCH_SIZE = 20_000
"""Passages tokenised and matched together: bounds the memory of one presence matrix."""


def match_matrix(
    queries: Sequence[Query | None],
    texts: Sequence[str],
    languages: tuple[str, ...] = DEFAULT_LANGUAGES,
    *,
    window: int | None = None,
    batch_size: int = BATCH_SIZE,
) -> np.ndarray:
    """Which passages each query matches: a bool array of shape (len(texts), len(queries)).

    Each text is tokenised once for all queries; a ``None`` query (a narrative defined without
    keywords) gives a column of False, a ``None`` text is read as empty. With ``window``, a
    query is tested on every run of ``window`` consecutive sentences of a longer text and
    matches the text when it matches one of them: a claim is made within a few sentences, and
    a NOT clause then excludes what stands near the claim, not what a long passage mentions
    in passing ("Finnland" three sentences away from "Mitgliedschaft der Ukraine").

    Texts are matched ``batch_size`` at a time as a :class:`~narratives.query.batch.TokenBatch`
    (terms, AND, OR and NOT as sparse column operations, positions only where a phrase or NEAR
    may match), and identical windows are tokenised and tested once.
    """
    analyzer = shared_analyzer(tuple(languages))
    result = np.zeros((len(texts), len(queries)), dtype=bool)
    active = [(column, query) for column, query in enumerate(queries) if query is not None]
    if not active:
        return result
    for start in range(0, len(texts), batch_size):
        part = texts[start : start + batch_size]
        window_of, row_of, batch = _window_batch(part, window, analyzer)
        for column, query in active:
            hit = query.matches_batch(batch)
            result[start + row_of[hit[window_of]], column] = True
    return result


def _window_batch(
    texts: Sequence[str | None], window: int | None, analyzer: TopicWordAnalyzer
) -> tuple[np.ndarray, np.ndarray, TokenBatch]:
    """The distinct sentence windows of ``texts`` as a batch, each tokenised once, with two
    aligned arrays: the window and the row of ``texts`` of each (row, window) pair, so that
    repeated headlines and repeated sentences are matched once."""
    seen: dict[str, int] = {}
    window_of: list[int] = []
    row_of: list[int] = []
    for row, text in enumerate(texts):
        for part in sentence_windows(text or "", window):
            window_of.append(seen.setdefault(part, len(seen)))
            row_of.append(row)
    batch = TokenBatch([tokenize(part, analyzer) for part in seen], analyzer.languages)
    return np.asarray(window_of, dtype=np.int64), np.asarray(row_of, dtype=np.int64), batch


def sentence_windows(text: str, window: int | None) -> list[str]:
    """``text`` itself, or every run of ``window`` consecutive sentences of it when it has more
    (sentences as narratives.text splits them, lines included)."""
    if window is None:
        return [text]
    from narratives.text import split_sentences

    sentences = [s for line in text.split("\n") if line.strip() for s in split_sentences(line)]
    if len(sentences) <= window:
        return [text]
    return ["\n".join(sentences[i : i + window]) for i in range(len(sentences) - window + 1)]
