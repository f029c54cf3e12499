"""The parsed query: a tree of terms, phrases, NEAR, AND, OR and NOT nodes, each able to test a
passage and to say which token ranges satisfied it.

``_present`` is a necessary condition that costs only dictionary look-ups (every term a match
needs occurs in the passage); phrases and NEAR test it before their positional work, which most
passages never reach.

``_vector(batch, mask)`` evaluates a node on a whole :class:`~narratives.query.batch.TokenBatch`:
it returns a bool array that is False outside ``mask`` and equals ``_test`` of each passage
inside it; ``_present_vector`` is ``_present`` for every passage of the batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from narratives.query.tokens import QueryTokens, Span, term_forms, wildcard

if TYPE_CHECKING:
    from narratives.query.batch import TokenBatch

DEFAULT_NEAR_DISTANCE = 5
"""The window of a plain ``NEAR``, in token positions."""


@dataclass(frozen=True, slots=True)
class Term:
    """A word; ``leading_star`` makes it match forms ending with it ("*munition"),
    ``trailing_star`` forms starting with it ("Misserfolg*"), both forms containing it."""

    word: str
    leading_star: bool = False
    trailing_star: bool = False

    @property
    def positional(self) -> bool:
        return True

    def __str__(self) -> str:
        return f"{'*' * self.leading_star}{self.word}{'*' * self.trailing_star}"

    def _hits(self, tokens: QueryTokens) -> Sequence[str]:
        """The forms of ``tokens`` this term matches."""
        if self.leading_star or self.trailing_star:
            matcher = wildcard(self.word.lower(), self.leading_star, self.trailing_star)
            return tuple(matcher.matching(tokens.forms))
        forms = tokens.forms
        return [form for form in term_forms(self.word, tokens.languages) if form in forms]

    def _positions(self, tokens: QueryTokens) -> Sequence[int]:
        """The increasing token positions this term matches."""
        hits = self._hits(tokens)
        if len(hits) == 1:
            return tokens.index[hits[0]]
        return sorted({position for form in hits for position in tokens.index[form]})

    def _test(self, tokens: QueryTokens) -> bool:
        return bool(self._hits(tokens))

    def _present(self, tokens: QueryTokens) -> bool:
        return self._test(tokens)

    def _spans(self, tokens: QueryTokens) -> list[Span]:
        return [(position, position + 1) for position in self._positions(tokens)]

    def _present_vector(self, batch: TokenBatch) -> np.ndarray:
        return batch.term(self.word, self.leading_star, self.trailing_star)

    def _vector(self, batch: TokenBatch, mask: np.ndarray) -> np.ndarray:
        return mask & self._present_vector(batch)


@dataclass(frozen=True, slots=True)
class Phrase:
    """Two or more words at consecutive positions of one sentence."""

    words: tuple[Term, ...]

    @property
    def positional(self) -> bool:
        return True

    def __str__(self) -> str:
        return '"' + " ".join(map(str, self.words)) + '"'

    def _test(self, tokens: QueryTokens) -> bool:
        return self._present(tokens) and bool(self._spans(tokens))

    def _present(self, tokens: QueryTokens) -> bool:
        return all(word._present(tokens) for word in self.words)

    def _present_vector(self, batch: TokenBatch) -> np.ndarray:
        return np.logical_and.reduce([word._present_vector(batch) for word in self.words])

    def _vector(self, batch: TokenBatch, mask: np.ndarray) -> np.ndarray:
        return batch.positional(self, mask & self._present_vector(batch))

    def _spans(self, tokens: QueryTokens) -> list[Span]:
        starts = self.words[0]._positions(tokens)
        if not starts:
            return []
        following = []
        for word in self.words[1:]:
            positions = word._positions(tokens)
            if not positions:
                return []
            following.append(set(positions))
        n, sentences = len(self.words), tokens.sentences
        return [
            (start, start + n)
            for start in starts
            if start + n <= len(sentences)
            and sentences[start] == sentences[start + n - 1]
            and all(start + k in positions for k, positions in enumerate(following, 1))
        ]


@dataclass(frozen=True, slots=True)
class Near:
    """A match of ``left`` and one of ``right`` at most ``distance`` positions apart."""

    left: Node
    right: Node
    distance: int = DEFAULT_NEAR_DISTANCE

    @property
    def positional(self) -> bool:
        return True

    def __str__(self) -> str:
        left = f"({self.left})" if isinstance(self.left, Or) else str(self.left)
        right = f"({self.right})" if isinstance(self.right, Or | Near) else str(self.right)
        return f"{left} NEAR/{self.distance} {right}"

    def _test(self, tokens: QueryTokens) -> bool:
        return bool(self._spans(tokens))

    def _present(self, tokens: QueryTokens) -> bool:
        return self.left._present(tokens) and self.right._present(tokens)

    def _present_vector(self, batch: TokenBatch) -> np.ndarray:
        return self.left._present_vector(batch) & self.right._present_vector(batch)

    def _vector(self, batch: TokenBatch, mask: np.ndarray) -> np.ndarray:
        return batch.positional(self, mask & self._present_vector(batch))

    def _spans(self, tokens: QueryTokens) -> list[Span]:
        """The range from the first to the last token of each close pair of matches."""
        if not self._present(tokens):
            return []
        left = self.left._spans(tokens)
        if not left:
            return []
        right = self.right._spans(tokens)
        found: set[Span] = set()
        for a0, a1 in left:
            for b0, b1 in right:
                if b0 >= a1:
                    gap = b0 - a1 + 1
                elif a0 >= b1:
                    gap = a0 - b1 + 1
                else:
                    gap = 0
                if gap <= self.distance:
                    found.add((min(a0, b0), max(a1, b1)))
        return sorted(found)


@dataclass(frozen=True, slots=True)
class And:
    """All of ``children`` match."""

    children: tuple[Node, ...]

    @property
    def positional(self) -> bool:
        return False

    def __str__(self) -> str:
        return " AND ".join(f"({c})" if isinstance(c, Or) else str(c) for c in self.children)

    def _test(self, tokens: QueryTokens) -> bool:
        return all(child._test(tokens) for child in self.children)

    def _present(self, tokens: QueryTokens) -> bool:
        return all(child._present(tokens) for child in self.children)

    def _present_vector(self, batch: TokenBatch) -> np.ndarray:
        return np.logical_and.reduce([child._present_vector(batch) for child in self.children])

    def _vector(self, batch: TokenBatch, mask: np.ndarray) -> np.ndarray:
        remaining = mask & self._present_vector(batch)
        for child in self.children:
            if not remaining.any():
                break
            remaining = child._vector(batch, remaining)
        return remaining

    def _spans(self, tokens: QueryTokens) -> list[Span]:
        if not self._test(tokens):
            return []
        return [span for child in self.children for span in child._spans(tokens)]


@dataclass(frozen=True, slots=True)
class Or:
    """Any of ``children`` matches; positional when all of them are."""

    children: tuple[Node, ...]

    @property
    def positional(self) -> bool:
        return all(child.positional for child in self.children)

    def __str__(self) -> str:
        return " OR ".join(map(str, self.children))

    def _test(self, tokens: QueryTokens) -> bool:
        return any(child._test(tokens) for child in self.children)

    def _present(self, tokens: QueryTokens) -> bool:
        return any(child._present(tokens) for child in self.children)

    def _present_vector(self, batch: TokenBatch) -> np.ndarray:
        return np.logical_or.reduce([child._present_vector(batch) for child in self.children])

    def _vector(self, batch: TokenBatch, mask: np.ndarray) -> np.ndarray:
        found = np.zeros_like(mask)
        for child in self.children:
            open_rows = mask & ~found
            if not open_rows.any():
                break
            found |= child._vector(batch, open_rows)
        return found

    def _spans(self, tokens: QueryTokens) -> list[Span]:
        return [span for child in self.children for span in child._spans(tokens)]


@dataclass(frozen=True, slots=True)
class Not:
    """``child`` does not match; contributes no spans."""

    child: Node

    @property
    def positional(self) -> bool:
        return False

    def __str__(self) -> str:
        child = self.child
        return f"NOT ({child})" if isinstance(child, And | Or | Near) else f"NOT {child}"

    def _test(self, tokens: QueryTokens) -> bool:
        return not self.child._test(tokens)

    def _present(self, tokens: QueryTokens) -> bool:
        """Whatever the passage holds, a NOT may hold: it never rules a match out early."""
        return True

    def _present_vector(self, batch: TokenBatch) -> np.ndarray:
        return batch.everywhere()

    def _vector(self, batch: TokenBatch, mask: np.ndarray) -> np.ndarray:
        return mask & ~self.child._vector(batch, mask)

    def _spans(self, tokens: QueryTokens) -> list[Span]:
        return []


Node = Term | Phrase | Near | And | Or | Not
"""A node of a parsed query."""


@dataclass(frozen=True)
class Query:
    """A parsed query: the source ``text`` (not compared) and the tree ``root``.

    ``str(query)`` is the canonical form: explicit ``AND``, ``NEAR/n``, parentheses only where
    precedence needs them; parsing it gives the same tree back.
    """

    text: str = field(compare=False)
    root: Node

    def __str__(self) -> str:
        return str(self.root)

    def matches(self, tokens: QueryTokens) -> bool:
        """Whether the passage satisfies the query."""
        return self.root._test(tokens)

    def matches_batch(self, batch: TokenBatch) -> np.ndarray:
        """Whether each passage of ``batch`` satisfies the query (``matches`` for all)."""
        return self.root._vector(batch, batch.everywhere())

    def spans(self, tokens: QueryTokens) -> list[Span]:
        """The token ranges that satisfied the positive parts of the query, sorted, overlapping
        ranges merged; empty when the passage does not match. Shows an analyst why a passage
        was tagged (``tokens.offsets`` turns them into character ranges)."""
        if not self.root._test(tokens):
            return []
        merged: list[Span] = []
        for start, end in sorted(set(self.root._spans(tokens))):
            if merged and start < merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return merged
