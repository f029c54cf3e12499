"""Many passages at once: which forms each passage holds, as a sparse presence matrix, so that a
query's terms, AND, OR and NOT are evaluated as column operations over the whole batch.

Only phrases and NEAR need token positions; they are tested one passage at a time, and only
on the passages whose term presence allows a match (:meth:`Node._present` in vector form).
The result is the same as testing each passage on its own (``Query.matches``).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from narratives.query.tokens import QueryTokens, term_forms


class TokenBatch:
    """The tokenised passages of one batch with a passage × form presence matrix (CSC)."""

    def __init__(self, tokens: Sequence[QueryTokens], languages: tuple[str, ...]) -> None:
        self.tokens = tokens
        self.languages = languages
        self.vocabulary: dict[str, int] = {}
        columns: list[int] = []
        lengths = np.zeros(len(tokens), dtype=np.int64)
        ids = self.vocabulary
        for row, passage in enumerate(tokens):
            forms = passage.forms
            lengths[row] = len(forms)
            for form in forms:
                column = ids.get(form)
                if column is None:
                    column = ids[form] = len(ids)
                columns.append(column)
        indptr = np.concatenate(([0], np.cumsum(lengths)))
        data = np.ones(len(columns), dtype=np.int8)
        shape = (len(tokens), max(len(ids), 1))
        matrix = sp.csr_matrix((data, np.asarray(columns, dtype=np.int64), indptr), shape=shape)
        self.presence = matrix.tocsc()
        self._sorted: list[str] | None = None
        self._reversed: list[str] | None = None
        self._terms: dict[tuple[str, bool, bool], np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.tokens)

    def everywhere(self) -> np.ndarray:
        """A mask of every passage."""
        return np.ones(len(self.tokens), dtype=bool)

    def term(self, word: str, leading: bool, trailing: bool) -> np.ndarray:
        """The passages holding a form the term matches (cached per batch)."""
        key = (word, leading, trailing)
        found = self._terms.get(key)
        if found is None:
            if leading or trailing:
                forms = self._wildcard_forms(word.lower(), leading, trailing)
            else:
                forms = term_forms(word, self.languages)
            columns = [self.vocabulary[form] for form in forms if form in self.vocabulary]
            if columns:
                found = np.asarray(self.presence[:, columns].sum(axis=1)).ravel() > 0
            else:
                found = np.zeros(len(self.tokens), dtype=bool)
            self._terms[key] = found
        return found

    def _wildcard_forms(self, stem: str, leading: bool, trailing: bool) -> list[str]:
        """The batch's forms a wildcard matches: a prefix or suffix is a range of the sorted
        (or sorted reversed) vocabulary, found by bisection; ``*stem*`` scans it."""
        if leading and trailing:
            return [form for form in self.vocabulary if stem in form]
        if trailing:
            if self._sorted is None:
                self._sorted = sorted(self.vocabulary)
            return _prefixed(self._sorted, stem)
        if self._reversed is None:
            self._reversed = sorted(form[::-1] for form in self.vocabulary)
        return [form[::-1] for form in _prefixed(self._reversed, stem[::-1])]

    def positional(self, node, candidates: np.ndarray) -> np.ndarray:
        """``node._test`` on each candidate passage (phrases and NEAR)."""
        out = np.zeros(len(self.tokens), dtype=bool)
        for row in np.flatnonzero(candidates):
            out[row] = node._test(self.tokens[row])
        return out


def _prefixed(ordered: list[str], prefix: str) -> list[str]:
    """The members of the sorted list ``ordered`` that start with ``prefix``."""
    start = bisect_left(ordered, prefix)
    end = start
    while end < len(ordered) and ordered[end].startswith(prefix):
        end += 1
    return ordered[start:end]
