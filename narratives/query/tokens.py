"""Passages and query terms as the matcher sees them: the forms of each token position, the
forms a term stands for (its lemmas), and the shared wildcard matchers."""

from __future__ import annotations

import itertools
import re
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from narratives.query.separable import PARTICLES, rejoined
from narratives.vectorizer import TOKEN_OR_BREAK, TopicWordAnalyzer

Span = tuple[int, int]
"""A token index range ``(start, end)``, end exclusive, into :attr:`QueryTokens.surfaces`."""

HYPHENS = str.maketrans({"‐": "-", "‑": "-"})
"""Unicode hyphens read as "-", in queries and passages alike."""

MAX_CACHE_ENTRIES = 1_000_000
"""Entries a token or wildcard cache holds before it starts over (bounds memory)."""


@dataclass(frozen=True)
class QueryTokens:
    """One passage as queries see it: the forms of each token position, indexed.

    Positions count words only (sentence breaks take none); ``sentences`` numbers the sentence
    of each position so that phrases do not run across a break. ``forms`` is the set of every
    form (surface, lemma, hyphen part) of the passage, and ``index`` maps each form to its
    increasing positions, built on first use: a corpus batch tests terms on ``forms`` alone,
    and only the passages a phrase or NEAR may match need positions.
    """

    text: str = field(repr=False)
    language: str
    languages: tuple[str, ...]
    surfaces: tuple[str, ...]
    lemmas: tuple[str, ...]
    part_forms: tuple[tuple[str, ...], ...]
    sentences: tuple[int, ...]
    forms: frozenset[str] = field(repr=False, compare=False)
    entry_forms: tuple[frozenset[str], ...] = field(repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.surfaces)

    @cached_property
    def index(self) -> Mapping[str, Sequence[int]]:
        """Each form's increasing token positions."""
        index: dict[str, list[int]] = {}
        for position, forms in enumerate(self.entry_forms):
            for form in forms:
                hits = index.get(form)
                if hits is None:
                    index[form] = [position]
                else:
                    hits.append(position)
        return index

    @cached_property
    def offsets(self) -> tuple[tuple[int, int], ...]:
        """The character range ``(start, end)`` of each token position in ``text``, to
        highlight :meth:`Query.spans` in the passage."""
        return tuple(m.span(1) for m in TOKEN_OR_BREAK.finditer(self.text) if m.group(1))


TokenEntry = tuple[str, str, tuple[str, ...], frozenset[str]]
"""Surface, lemma, part forms and all forms of one surface token (all lower case)."""

_token_caches: weakref.WeakKeyDictionary[TopicWordAnalyzer, dict[str, dict[str, TokenEntry]]]
_token_caches = weakref.WeakKeyDictionary()


def token_entry(analyzer: TopicWordAnalyzer, token: str, lang: str) -> TokenEntry:
    """The forms of a surface token in ``lang``: hyphen parts with their lemmas included."""
    token = token.translate(HYPHENS)
    surface = token.lower()
    cased = analyzer.lemma(token, lang)
    lemma = cased.lower()
    verb = _participle_verb(analyzer, token, cased, lang) or lemma
    parts: list[str] = []
    if "-" in token:
        for part in token.split("-"):
            for form in (part.lower(), analyzer.lemma(part, lang).lower()):
                if form not in parts:
                    parts.append(form)
    return surface, lemma, tuple(parts), frozenset((surface, lemma, verb, *parts))


def _participle_verb(analyzer: TopicWordAnalyzer, token: str, cased: str, lang: str) -> str:
    """The verb of an inflected participle adjective, whose lemma is only the participle
    ("gescheiterten" -> "gescheitert" -> "scheitern"); "" for any other token."""
    if cased == token or not cased.islower() or not cased.endswith(("t", "en")):
        return ""
    verb = analyzer.lemma(cased, lang)
    if verb == cased or not verb.islower() or not verb.endswith(("en", "rn", "ln")):
        return ""
    return verb


def tokenize(text: str, analyzer: TopicWordAnalyzer) -> QueryTokens:
    """The token positions of a passage, lemmatised in the analyzer language it reads as.

    Each distinct surface token is analysed once per analyzer and language (cached), so that
    tagging a corpus costs little more than the regex scan.
    """
    matches = list(TOKEN_OR_BREAK.finditer(text or ""))
    raw = [m.group(1) or "" for m in matches]
    lang = analyzer.language_of(raw)
    caches = _token_caches.get(analyzer)
    if caches is None:
        caches = _token_caches[analyzer] = {}
    cache = caches.setdefault(lang, {})
    entries: list[TokenEntry] = []
    sentences: list[int] = []
    sentence = 0
    known = cache.get
    for token in raw:
        if not token:
            sentence += 1
            continue
        entry = known(token)
        if entry is None:
            if len(cache) >= MAX_CACHE_ENTRIES:
                cache.clear()
            entry = cache[token] = token_entry(analyzer, token, lang)
        entries.append(entry)
        sentences.append(sentence)
    if lang == "de" and any(entry[0] in PARTICLES for entry in entries):
        entries = _with_particle_verbs(text, matches, entries, analyzer)
    surfaces, lemmas, parts, entry_forms = zip(*entries, strict=True) if entries else ((),) * 4
    return QueryTokens(
        text=text or "",
        language=lang,
        languages=analyzer.languages,
        surfaces=surfaces,
        lemmas=lemmas,
        part_forms=parts,
        sentences=tuple(sentences),
        forms=frozenset().union(*entry_forms),
        entry_forms=entry_forms,
    )


def _with_particle_verbs(
    text: str, matches: list[re.Match[str]], entries: list[TokenEntry], analyzer: TopicWordAnalyzer
) -> list[TokenEntry]:
    """``entries`` with each split separable verb's stem also carrying the particle verb."""
    words = [m for m in matches if m.group(1)]
    gaps = [text[a.end() : b.start()] for a, b in itertools.pairwise(words)]
    gaps.append(text[words[-1].end() :])
    found = rejoined([m.group(1) for m in words], gaps, lambda w: analyzer.lemma(w, "de"))
    for position, verb in found.items():
        surface, lemma, parts, forms = entries[position]
        entries[position] = (surface, lemma, parts, forms | {verb})
    return entries


@lru_cache(maxsize=16)
def shared_analyzer(languages: tuple[str, ...]) -> TopicWordAnalyzer:
    """One analyzer per language tuple, so that its lemma and token caches are reused."""
    return TopicWordAnalyzer(languages=languages)


@lru_cache(maxsize=65_536)
def term_forms(word: str, languages: tuple[str, ...]) -> tuple[str, ...]:
    """The lower-cased forms a plain term stands for: itself and its lemma in each language.

    Lemmatised as written (simplemma's German is case-sensitive) and cached, so that each
    distinct term is lemmatised once however many passages it is tested on.
    """
    analyzer = shared_analyzer(languages)
    forms = [word.lower()]
    for lang in languages:
        lemma = analyzer.lemma(word, lang).translate(HYPHENS).lower()
        if lemma not in forms:
            forms.append(lemma)
    return tuple(forms)


class _Wildcard:
    """The passage forms a wildcard stem matches, each distinct form tested once overall."""

    __slots__ = ("_matched", "_seen", "_test")

    def __init__(self, test: Callable[[str], bool]) -> None:
        self._test = test
        self._seen: set[str] = set()
        self._matched: set[str] = set()

    def matching(self, forms: frozenset[str]) -> frozenset[str]:
        """The members of ``forms`` that the stem matches."""
        new = forms - self._seen
        if new:
            if len(self._seen) >= MAX_CACHE_ENTRIES:
                self._seen.clear()
                self._matched.clear()
            self._matched.update(form for form in new if self._test(form))
            self._seen.update(new)
        return forms & self._matched


@lru_cache(maxsize=4096)
def wildcard(stem: str, leading: bool, trailing: bool) -> _Wildcard:
    """The shared matcher of ``*stem``, ``stem*`` or ``*stem*`` (stem in lower case)."""
    if leading and trailing:
        return _Wildcard(lambda form: stem in form)
    if leading:
        return _Wildcard(lambda form: form.endswith(stem))
    return _Wildcard(lambda form: form.startswith(stem))
