"""German-first topic words: the CountVectorizer behind BERTopic's c-TF-IDF keywords.

Topic keywords should read like the news they come from ("Munition", "Gegenoffensive",
"NATO-Mitgliedschaft"), so tokens keep hyphenated compounds whole, inflected forms are merged by
their simplemma lemma and the stop words of every configured language are dropped. Features are
lowercase lemmas; :func:`display_forms` gives them back their natural spelling.
"""

from __future__ import annotations

import re
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from itertools import pairwise
from typing import Any

import simplemma
import stopwordsiso
from sklearn.feature_extraction.text import CountVectorizer

from narratives.defaults import DEFAULT_LANGUAGES
from narratives.errors import InputError


def _word_set(words: str) -> frozenset[str]:
    """The whitespace-separated words of ``words``, as a set."""
    return frozenset(words.split())


TOKEN_OR_BREAK = re.compile(r"([^\W_]+(?:[-‐‑][^\W_]+)*)|[.!?;:\n]")
"""A word (letters/digits, hyphenated parts kept together) or, as an empty match, a sentence
break; n-grams never span a break."""

NEWS_FILLER_WORDS: dict[str, frozenset[str]] = {
    "de": _word_set(
        "sagen sagte sagt erklären erklärte erklärt betonen betonte betont berichten berichtete "
        "berichtet mitteilen mitgeteilt teilte fügen fügte hinzu heißen hieß heißt zufolge laut "
        "demnach sowie bereits zudem weiterhin zuletzt derzeit bislang inzwischen erneut angabe "
        "angaben montag dienstag mittwoch donnerstag freitag samstag sonntag dpa afp reuters"
    ),
    "en": _word_set(
        "said says told tells reported according monday tuesday wednesday thursday friday "
        "saturday sunday reuters"
    ),
}
"""Words of news prose that are not what a story is about: reporting verbs ("sagte", lemma
"sagen"), attribution ("laut", "zufolge", "nach Angaben"), connective and time adverbs,
weekdays and agency credits. They occur in every topic and would crowd out its keywords;
months and "Prozent" stay, since they can mark an event or an economic story."""

CONTENT_WORDS_KEPT: frozenset[str] = _word_set(
    "kind mine front test problem system information general gott recht rechte rechten "
    "rechter ordnung"
)
"""Stopwordsiso entries that are German content words here: English function words that are
German nouns ("Kinder" lemmatises to "Kind", "Minen" to "Mine", "Front", "General") and German
entries that name issues ("Recht", "die Rechte", "Ordnung", "Gott")."""

_ACRONYM_MAX_CHARS = 5
"""All-caps tokens up to this length are acronyms ("NATO", "EU") and are not lemmatised."""

_MAX_CACHE_ENTRIES = 1_000_000
"""Surface tokens cached per analyzer before the caches start over (bounds memory)."""


class _KeyCache(dict):
    """Surface token -> term key ("" when dropped; None for the sentence-break match ""),
    computed on first sight so that each distinct token is lemmatised once."""

    __slots__ = ("_compute",)

    def __init__(self, compute: Callable[[str], str]) -> None:
        super().__init__()
        self._compute = compute
        self[""] = None

    def __missing__(self, token: str) -> str:
        if len(self) >= _MAX_CACHE_ENTRIES:
            self.clear()
            self[""] = None
        key = self[token] = self._compute(token)
        return key


class TopicWordAnalyzer:
    """Picklable CountVectorizer analyzer: a text -> its lemma unigrams, then its n-grams.

    Each text is lemmatised in one language: the configured language whose stop words it uses
    most (so English "rocket" is not read as the German verb "rocken"). Terms are lowercase
    lemmas of the kept tokens; a token is dropped when it is shorter than
    ``min_token_chars`` (all-caps acronyms such as "EU" excepted), has no letter, or when its
    lowercase surface form or lemma is a stop word. N-grams join consecutive kept tokens of one
    sentence with a space.
    """

    def __init__(
        self,
        languages: tuple[str, ...] = DEFAULT_LANGUAGES,
        ngram_range: tuple[int, int] = (1, 2),
        extra_stop_words: Iterable[str] = (),
        min_token_chars: int = 3,
    ) -> None:
        self.languages = _checked_languages(languages)
        self.ngram_range = _checked_ngram_range(ngram_range)
        self.extra_stop_words = tuple(sorted({word.lower() for word in extra_stop_words}))
        self.min_token_chars = int(min_token_chars)
        self.stop_words = stop_words(self.languages, self.extra_stop_words)
        self._language_markers = {
            lang: frozenset(stopwordsiso.stopwords(lang)) for lang in self.languages
        }
        self._keys = {
            lang: _KeyCache(lambda token, lang=lang: self._term_key(token, lang))
            for lang in self.languages
        }
        self._lemmas: dict[tuple[str, str], str] = {}

    def language_of(self, tokens: list[str]) -> str:
        """The configured language whose stop words occur most among ``tokens`` (ties: first)."""
        if len(self.languages) == 1:
            return self.languages[0]
        hits = self.language_hits(tokens)
        return self.languages[hits.index(max(hits))]

    def language_hits(self, tokens: list[str]) -> list[int]:
        """How many of the first 400 ``tokens`` are stop words of each configured language."""
        lowered = [token.lower() for token in tokens[:400] if token]
        markers = self._language_markers
        return [sum(map(markers[lang].__contains__, lowered)) for lang in self.languages]

    def __call__(self, doc: str) -> list[str]:
        """The terms of ``doc``: unigrams in text order, then n-grams by increasing n."""
        tokens = TOKEN_OR_BREAK.findall(doc)
        keys = map(self._keys[self.language_of(tokens)].__getitem__, tokens)
        sequence = [key for key in keys if key != ""]
        terms = [key for key in sequence if key] if self.ngram_range[0] == 1 else []
        terms += self._ngrams(sequence)
        return terms

    def _ngrams(self, sequence: list[str | None]) -> list[str]:
        """The n-grams (n >= 2 within ``ngram_range``) of kept keys, ``None`` marking breaks."""
        grams: list[str] = []
        for n in range(max(2, self.ngram_range[0]), self.ngram_range[1] + 1):
            if n == 2:
                grams += [f"{a} {b}" for a, b in pairwise(sequence) if a and b]
            else:
                shifted = (sequence[i:] for i in range(n))
                grams += [" ".join(gram) for gram in zip(*shifted, strict=False) if all(gram)]
        return grams

    def _term_key(self, token: str, lang: str) -> str:
        """The term key of a surface token in ``lang``, or "" when the token is dropped."""
        if len(token) < self.min_token_chars and not (len(token) > 1 and token.isupper()):
            return ""
        if not any(map(str.isalpha, token)) or token.lower() in self.stop_words:
            return ""
        key = self.lemma(token, lang).lower()
        return "" if key in self.stop_words else sys.intern(key)

    def lemma(self, token: str, lang: str | None = None) -> str:
        """The cased simplemma lemma of a surface token in ``lang`` (default: the first language).

        All-caps words are lemmatised in title case and given back in capitals ("UKRAINE-KRIEGS"
        -> "UKRAINE-KRIEG"), short ones are acronyms kept as they are ("NATO").
        """
        lang = lang or self.languages[0]
        lemma = self._lemmas.get((token, lang))
        if lemma is None:
            if len(self._lemmas) >= _MAX_CACHE_ENTRIES:
                self._lemmas.clear()
            lemma = self._lemmas[(token, lang)] = self._lemmatize(token, lang)
        return lemma

    def _lemmatize(self, token: str, lang: str) -> str:
        """The simplemma lemma of ``token``, capitals handled as :meth:`lemma` says."""
        if not token.isupper():
            return simplemma.lemmatize(token, lang=lang, greedy=False)
        if len(token) <= _ACRONYM_MAX_CHARS and token.isalnum():
            return token
        return simplemma.lemmatize(token.title(), lang=lang, greedy=False).upper()

    def term_key(self, token: str, lang: str | None = None) -> str:
        """The term key of a surface token ("" when dropped), as the analyzer emits it."""
        return self._keys[lang or self.languages[0]][token] or ""

    def __getstate__(self) -> dict[str, Any]:
        """The constructor arguments only: the caches are rebuilt, not pickled."""
        return {
            "languages": self.languages,
            "ngram_range": self.ngram_range,
            "extra_stop_words": self.extra_stop_words,
            "min_token_chars": self.min_token_chars,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)

    def __repr__(self) -> str:
        return (
            f"TopicWordAnalyzer(languages={self.languages!r}, ngram_range={self.ngram_range!r}, "
            f"extra_stop_words={self.extra_stop_words!r}, min_token_chars={self.min_token_chars})"
        )


def _checked_languages(languages: Iterable[str]) -> tuple[str, ...]:
    """``languages`` as a tuple, each one known to simplemma."""
    checked = tuple(languages)
    if not checked:
        raise InputError("at least one language is needed", field="languages")
    for lang in checked:
        try:
            simplemma.is_known("a", lang=lang)
        except ValueError:
            raise InputError(f"language '{lang}' is not supported", field="languages") from None
    return checked


def _checked_ngram_range(ngram_range: tuple[int, int]) -> tuple[int, int]:
    """``ngram_range`` as a pair of ints with 1 <= low <= high."""
    low, high = (int(n) for n in ngram_range)
    if not 1 <= low <= high:
        raise InputError(f"bad n-gram range {ngram_range!r}", field="ngram_range")
    return low, high


def stop_words(languages: Iterable[str], extra: Iterable[str] = ()) -> frozenset[str]:
    """Lowercase stop words: stopwordsiso and news filler words of ``languages``, less the
    content words kept, plus ``extra``."""
    languages = list(languages)
    words = set(stopwordsiso.stopwords(languages))
    for lang in languages:
        words |= NEWS_FILLER_WORDS.get(lang, frozenset())
    words -= CONTENT_WORDS_KEPT
    words |= {word.lower() for word in extra}
    return frozenset(words)


def build_vectorizer(
    *,
    languages: tuple[str, ...] = DEFAULT_LANGUAGES,
    ngram_range: tuple[int, int] = (1, 2),
    min_df: int | float = 1,
    max_df: float = 1.0,
    extra_stop_words: Iterable[str] = (),
) -> CountVectorizer:
    """A CountVectorizer counting :class:`TopicWordAnalyzer` terms, for BERTopic's c-TF-IDF."""
    analyzer = TopicWordAnalyzer(
        languages=languages, ngram_range=ngram_range, extra_stop_words=extra_stop_words
    )
    return CountVectorizer(analyzer=analyzer, min_df=min_df, max_df=max_df)


def display_forms(texts: Iterable[str], analyzer: TopicWordAnalyzer) -> dict[str, str]:
    """Term key -> its natural spelling, as the texts spell it.

    A unigram shows its most frequent cased lemma; sentence-initial occurrences count only for
    keys never seen elsewhere, so German nouns come out capitalised, verbs and adjectives in lower
    case and "NATO" in capitals. An n-gram shows its most frequent surface wording
    ("diplomatische Lösung", not the lemma pair "diplomatisch Lösung").
    """
    inside: defaultdict[str, Counter[str]] = defaultdict(Counter)
    initial: defaultdict[str, Counter[str]] = defaultdict(Counter)
    grams: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for text in texts:
        _count_forms(text, analyzer, inside, initial, grams)
    forms = {
        key: (inside.get(key) or initial[key]).most_common(1)[0][0] for key in {**initial, **inside}
    }
    forms.update((gram, counts.most_common(1)[0][0]) for gram, counts in grams.items())
    return forms


def _count_forms(
    text: str,
    analyzer: TopicWordAnalyzer,
    inside: defaultdict[str, Counter[str]],
    initial: defaultdict[str, Counter[str]],
    grams: defaultdict[str, Counter[str]],
) -> None:
    """Count the cased lemma of each kept token of ``text`` into ``inside`` or, when it starts
    a sentence, ``initial``, and the surface wording of each n-gram into ``grams``."""
    keys: list[str | None] = []
    surfaces: list[str | None] = []
    at_start = True
    tokens = TOKEN_OR_BREAK.findall(text)
    lang = analyzer.language_of(tokens)
    for token in tokens:
        if not token:
            at_start = True
            keys.append(None)
            surfaces.append(None)
            continue
        key = analyzer.term_key(token, lang)
        counts, at_start = (initial if at_start else inside), False
        if key:
            counts[key][_cased_lemma(token, analyzer.lemma(token, lang))] += 1
            keys.append(key)
            surfaces.append(token)
    low, high = analyzer.ngram_range
    for n in range(max(2, low), high + 1):
        for i in range(len(keys) - n + 1):
            window = keys[i : i + n]
            if all(window):
                grams[" ".join(window)][" ".join(surfaces[i : i + n])] += 1


def _cased_lemma(token: str, lemma: str) -> str:
    """``lemma`` with the initial capital or small letter of the surface ``token``."""
    if token[0].isupper() == lemma[0].isupper() or not lemma[0].isalpha():
        return lemma
    head = lemma[0].upper() if token[0].isupper() else lemma[0].lower()
    return head + lemma[1:]
