"""Parsing a query: the lexer and the recursive-descent parser, with errors that name the
position and what was expected there."""

from __future__ import annotations

import re
from dataclasses import dataclass

from narratives.errors import InputError
from narratives.query.tokens import HYPHENS
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

_WORD = re.compile(r"[^\W_]+(?:['’\-‐‑][^\W_]+)*")
"""A query word: letters/digits, hyphens and apostrophes only between them."""

_OPEN_QUOTES = '"„“'
_CLOSE_QUOTES = '"“”'
_DELIMITERS = frozenset("()" + _OPEN_QUOTES + _CLOSE_QUOTES)


class QuerySyntaxError(InputError):
    """A query that cannot be parsed; the message names the 1-based character position and
    what was expected there, so that an analyst can fix the query without guessing."""

    def __init__(self, position: int, message: str) -> None:
        self.position = position
        super().__init__(f"position {position}: {message}")


@dataclass(frozen=True, slots=True)
class _Lexeme:
    """One lexical unit of a query: kind, 1-based position, text as written, parsed value."""

    kind: str  # "(", ")", "AND", "OR", "NOT", "NEAR", "atom", "end"
    position: int
    text: str
    value: Term | Phrase | int | None = None


def _word_atom(word: str, position: int) -> Term | Phrase:
    """The term (or, split at apostrophes, the phrase) that ``word`` at ``position`` writes."""
    if word.strip("*") == "":
        raise QuerySyntaxError(
            position, "'*' alone is not a term; put it before or after a word (Misserfolg*)"
        )
    leading, trailing = word.startswith("*"), word.endswith("*")
    core = word[leading : len(word) - trailing]
    hyphen_end = trailing and core[-1:] in "-‐‑" and _WORD.fullmatch(core[:-1] or "-")
    if hyphen_end:  # "Nato-*": the compounds that start with "Nato-"
        return Term(core.translate(HYPHENS), leading, trailing)
    if not _WORD.fullmatch(core):
        for offset, char in enumerate(core, position + leading):
            if char == "*":
                raise QuerySyntaxError(offset, "'*' can only stand at the start or end of a term")
            if not (char.isalnum() or char in "'’-‐‑"):
                hint = " (operators are upper case, as in NEAR/3)" if char == "/" else ""
                raise QuerySyntaxError(offset, f"unexpected character {char!r} in a term{hint}")
        raise QuerySyntaxError(
            position, f"a hyphen or apostrophe must stand between letters or digits in {word!r}"
        )
    parts = re.split("['’]", core.translate(HYPHENS))
    if len(parts) == 1:
        return Term(parts[0], leading, trailing)
    last = len(parts) - 1
    words = (Term(part, leading and k == 0, trailing and k == last) for k, part in enumerate(parts))
    return Phrase(tuple(words))


def _phrase_atom(text: str, start: int, end: int) -> Term | Phrase:
    """The phrase between the quotes at 0-based ``start`` and ``end`` of ``text``."""
    words: list[Term] = []
    for match in re.finditer(r"\S+", text[start + 1 : end]):
        atom = _word_atom(match.group(), start + 2 + match.start())
        words.extend(atom.words if isinstance(atom, Phrase) else (atom,))
    if not words:
        raise QuerySyntaxError(start + 1, "empty phrase; expected a word between the quotes")
    return words[0] if len(words) == 1 else Phrase(tuple(words))


def _word_lexeme(word: str, position: int) -> _Lexeme:
    """An operator, ``NEAR/n`` or a term, from a run of non-delimiter characters."""
    if word in ("AND", "OR", "NOT"):
        return _Lexeme(word, position, word)
    if word == "NEAR":
        return _Lexeme("NEAR", position, word, DEFAULT_NEAR_DISTANCE)
    if word.startswith("NEAR/"):
        number = word[5:]
        if not re.fullmatch("[0-9]+", number):
            found = f"found {number!r}" if number else "found nothing"
            raise QuerySyntaxError(
                position + 5, f"expected a whole number after 'NEAR/' (as in NEAR/3), {found}"
            )
        if int(number) < 1:
            raise QuerySyntaxError(position + 5, f"{word}: the distance of NEAR must be at least 1")
        return _Lexeme("NEAR", position, word, int(number))
    return _Lexeme("atom", position, word, _word_atom(word, position))


def _lex(text: str) -> list[_Lexeme]:
    """The lexemes of a query, ending with an "end" lexeme after its last character."""
    lexemes: list[_Lexeme] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()":
            lexemes.append(_Lexeme(char, i + 1, char))
            i += 1
        elif char in _OPEN_QUOTES or char in _CLOSE_QUOTES:
            end = next((j for j in range(i + 1, n) if text[j] in _CLOSE_QUOTES), None)
            if end is None:
                raise QuerySyntaxError(
                    i + 1, f"the phrase opened by {char} is never closed; expected a closing quote"
                )
            lexemes.append(_Lexeme("atom", i + 1, text[i : end + 1], _phrase_atom(text, i, end)))
            i = end + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in _DELIMITERS:
                j += 1
            lexemes.append(_word_lexeme(text[i:j], i + 1))
            i = j
    lexemes.append(_Lexeme("end", n + 1, ""))
    return lexemes


class _Parser:
    """Recursive descent over the lexemes, by the grammar in the module docstring."""

    def __init__(self, text: str) -> None:
        self.lexemes = _lex(text)
        self.at = 0
        self.depth = 0
        # id(node) -> position and name of the operator that leaves the node without positions
        self.blockers: dict[int, tuple[int, str]] = {}

    def peek(self) -> _Lexeme:
        return self.lexemes[self.at]

    def take(self) -> _Lexeme:
        lexeme = self.lexemes[self.at]
        self.at += 1
        return lexeme

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise QuerySyntaxError(1, "the query is empty; expected a term, a phrase or '('")
        root = self.parse_or()
        if self.peek().kind == ")":
            raise QuerySyntaxError(self.peek().position, "unmatched ')'; no '(' is open here")
        return root

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while self.peek().kind == "OR":
            self.take()
            children.append(self.parse_and())
        if len(children) == 1:
            return children[0]
        flat = [g for c in children for g in (c.children if isinstance(c, Or) else (c,))]
        return Or(tuple(flat))

    def parse_and(self) -> Node:
        children = [self.parse_near()]
        operators: list[tuple[int, str]] = []
        while True:
            lexeme = self.peek()
            if lexeme.kind == "AND":
                self.take()
                operators.append((lexeme.position, "AND"))
            elif lexeme.kind in ("atom", "(", "NOT"):
                operators.append((lexeme.position, "an implicit AND (operands side by side)"))
            else:
                break
            children.append(self.parse_near())
        if len(children) == 1:
            return children[0]
        flat = [g for c in children for g in (c.children if isinstance(c, And) else (c,))]
        node = And(tuple(flat))
        self.blockers[id(node)] = operators[0]
        return node

    def parse_near(self) -> Node:
        left = self.parse_unary()
        while self.peek().kind == "NEAR":
            near = self.take()
            self.require_positions(left, near)
            right = self.parse_unary()
            self.require_positions(right, near)
            left = Near(left, right, near.value)
        return left

    def parse_unary(self) -> Node:
        if self.peek().kind != "NOT":
            return self.parse_atom()
        operator = self.take()
        node = Not(self.parse_unary())
        self.blockers[id(node)] = (operator.position, "NOT")
        return node

    def parse_atom(self) -> Node:
        lexeme = self.take()
        if lexeme.kind == "atom":
            return lexeme.value
        if lexeme.kind == "(":
            self.depth += 1
            inner = self.parse_or()
            close = self.peek()
            if close.kind != ")":
                raise QuerySyntaxError(
                    close.position,
                    f"expected ')' to close the '(' at position {lexeme.position}, "
                    f"found {_found(close)}",
                )
            self.take()
            self.depth -= 1
            return inner
        if lexeme.kind == ")" and self.depth == 0:
            raise QuerySyntaxError(lexeme.position, "unmatched ')'; no '(' is open here")
        before = self.lexemes[self.at - 2] if self.at >= 2 else None
        after = f" after {before.text!r}" if before else ""
        raise QuerySyntaxError(
            lexeme.position, f"expected a term, a phrase or '('{after}, found {_found(lexeme)}"
        )

    def require_positions(self, node: Node, near: _Lexeme) -> None:
        """Refuse a NEAR operand without positions, naming the operator that removes them."""
        while not node.positional and isinstance(node, Or):
            node = next(child for child in node.children if not child.positional)
        if node.positional:
            return
        position, name = self.blockers[id(node)]
        raise QuerySyntaxError(
            position,
            f"{name} cannot be inside an operand of {near.text} (position {near.position}); "
            "NEAR joins terms, phrases, OR-groups of them and other NEARs",
        )


def _found(lexeme: _Lexeme) -> str:
    """How an error message names the lexeme found instead of the one expected."""
    return "the end of the query" if lexeme.kind == "end" else repr(lexeme.text)


def parse_query(text: str) -> Query:
    """Parse a Boolean keyword query; a :class:`QuerySyntaxError` names what is wrong where."""
    return Query(text, _Parser(text).parse())
