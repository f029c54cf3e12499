"""The narrative catalog: named narratives that keep their ids across runs, defined precisely.

A catalog is a TOML file of ``[[narrative]]`` tables. A narrative is a claim, not a subject, so
it is defined by what carries it and what does not although it is on the same subject:

- ``id``, ``label_de``, ``label_en``, ``description``;
- ``examples``: sentences that carry the narrative;
- ``counter_examples`` (optional, but not empty when given): sentences on the same subject that
  do not carry it ("Die Gegenoffensive kommt voran" for a failed counteroffensive);
- ``query`` (optional): a Boolean query over lemmas (narratives.query), e.g.
  ``Gegenoffensive AND (scheiter* OR gescheitert OR "keine Erfolge")``.

An analyst's decisions on single passages (``narratives label``, or the dashboard) are appended
to the user's catalog file as ``[[feedback]]`` tables (narrative, passage_id, text, carries,
date); they count as examples (``carries = true``) or counter-examples, and the detector learns
from them at the next training. The shipped catalog is never edited.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from narratives.errors import InputError, read_toml
from narratives.query import Query, QuerySyntaxError, parse_query

_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_REQUIRED = ("id", "label_de", "label_en", "description", "examples")
_KNOWN = (*_REQUIRED, "counter_examples", "query")
_FEEDBACK_KEYS = ("narrative", "text", "carries")


@dataclass(frozen=True)
class Feedback:
    """An analyst's decision on one passage: it carries the narrative, or it does not."""

    narrative: str
    text: str
    carries: bool
    passage_id: str = ""
    date: str = ""
    run: str = ""


@dataclass(frozen=True)
class Narrative:
    """One catalogued narrative."""

    id: str
    label_de: str
    label_en: str
    description: str
    examples: tuple[str, ...]
    counter_examples: tuple[str, ...] = ()
    query: Query | None = None
    feedback: tuple[Feedback, ...] = ()

    def texts(self) -> list[str]:
        """The texts whose embeddings define the narrative: label, description and examples."""
        return [self.label_de, self.description, *self.examples]

    def positives(self) -> list[str]:
        """What carries the narrative: its examples and the passages confirmed by feedback."""
        return [*self.examples, *(f.text for f in self.feedback if f.carries)]

    def negatives(self) -> list[str]:
        """What does not although it is on the subject: counter-examples and rejected passages."""
        return [*self.counter_examples, *(f.text for f in self.feedback if not f.carries)]


@dataclass(frozen=True)
class Catalog:
    """An ordered set of narratives read from ``path``."""

    path: Path
    narratives: tuple[Narrative, ...]
    feedback: tuple[Feedback, ...] = field(default=(), repr=False)

    @property
    def ids(self) -> list[str]:
        return [n.id for n in self.narratives]

    def get(self, narrative_id: str) -> Narrative:
        for narrative in self.narratives:
            if narrative.id == narrative_id:
                return narrative
        raise KeyError(narrative_id)

    @property
    def queries(self) -> list[Query | None]:
        """Each narrative's query (None where it has none), in catalog order."""
        return [n.query for n in self.narratives]


def default_catalog_path() -> Path:
    """The catalog shipped inside the package."""
    return Path(str(resources.files("narratives") / "data" / "catalog.toml"))


def is_shipped(path: Path) -> bool:
    """Whether ``path`` is the catalog shipped with the package (never edited)."""
    return Path(path).resolve() == default_catalog_path().resolve()


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Read and validate a catalog TOML; ``None`` reads the shipped one.

    Every problem names the file, the entry (row = its position among the ``[[narrative]]`` or
    ``[[feedback]]`` tables) and the field.
    """
    path = Path(path) if path is not None else default_catalog_path()
    data = read_toml(path, "catalog")
    entries = data.get("narrative")
    if not isinstance(entries, list) or not entries:
        raise InputError("no [[narrative]] entries", path=path, field="narrative")
    narratives: list[Narrative] = []
    seen: set[str] = set()
    for row, entry in enumerate(entries, start=1):
        narrative = _parse_entry(entry, path=path, row=row)
        if narrative.id in seen:
            raise InputError(f"duplicate id '{narrative.id}'", path=path, row=row, field="id")
        seen.add(narrative.id)
        narratives.append(narrative)
    _check_sentences_unique(narratives, path)
    feedback = _parse_feedback(data.get("feedback", []), seen, path)
    narratives = [
        _with_feedback(n, [f for f in feedback if f.narrative == n.id]) for n in narratives
    ]
    return Catalog(path=path, narratives=tuple(narratives), feedback=tuple(feedback))


def _with_feedback(narrative: Narrative, feedback: list[Feedback]) -> Narrative:
    if not feedback:
        return narrative
    return Narrative(**{**narrative.__dict__, "feedback": tuple(feedback)})


def _parse_entry(entry: object, *, path: Path, row: int) -> Narrative:
    if not isinstance(entry, dict):
        raise InputError("a [[narrative]] entry must be a table", path=path, row=row)
    for key in _REQUIRED:
        if key not in entry:
            raise InputError("missing", path=path, row=row, field=key)
    for key in entry:
        if key not in _KNOWN:
            raise InputError(
                f"unknown key (known: {', '.join(_KNOWN)})", path=path, row=row, field=key
            )
    narrative_id = entry["id"]
    if not isinstance(narrative_id, str) or not _ID_PATTERN.match(narrative_id):
        raise InputError(
            f"id {narrative_id!r} must be lower-case letters, digits, '-' or '_'",
            path=path,
            row=row,
            field="id",
        )
    for key in ("label_de", "label_en", "description"):
        if not isinstance(entry[key], str) or not entry[key].strip():
            raise InputError("must be a non-empty string", path=path, row=row, field=key)
    where = {"path": path, "row": row}
    examples = _sentences(entry["examples"], field="examples", **where)
    counter = ()
    if "counter_examples" in entry:
        counter = _sentences(entry["counter_examples"], field="counter_examples", **where)
    both = set(examples) & set(counter)
    if both:
        raise InputError(
            f"{sorted(both)[0]!r} is both an example and a counter-example of '{narrative_id}'",
            field="counter_examples",
            **where,
        )
    return Narrative(
        id=narrative_id,
        label_de=entry["label_de"].strip(),
        label_en=entry["label_en"].strip(),
        description=entry["description"].strip(),
        examples=examples,
        counter_examples=counter,
        query=_query(entry.get("query"), narrative_id, **where),
    )


def _sentences(value: object, *, path: Path, row: int, field: str) -> tuple[str, ...]:
    """A non-empty list of non-empty sentences, each once."""
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(e, str) and e.strip() for e in value)
    ):
        raise InputError("must be a non-empty list of sentences", path=path, row=row, field=field)
    sentences = tuple(e.strip() for e in value)
    repeated = next((s for i, s in enumerate(sentences) if s in sentences[:i]), None)
    if repeated is not None:
        raise InputError(f"{repeated!r} is listed twice", path=path, row=row, field=field)
    return sentences


def _query(value: object, narrative_id: str, *, path: Path, row: int) -> Query | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InputError("must be a non-empty query string", path=path, row=row, field="query")
    try:
        return parse_query(value)
    except QuerySyntaxError as exc:
        raise InputError(
            f"narrative '{narrative_id}': {exc.reason}", path=path, row=row, field="query"
        ) from None


def _check_sentences_unique(narratives: Iterable[Narrative], path: Path) -> None:
    """No sentence may define two narratives (as an example of both, or an example of one and a
    counter-example of another): the detector could not learn from it."""
    owner: dict[str, tuple[str, str]] = {}
    for row, narrative in enumerate(narratives, start=1):
        for kind, sentences in (
            ("examples", narrative.examples),
            ("counter_examples", narrative.counter_examples),
        ):
            for sentence in sentences:
                key = sentence.casefold()
                if key in owner and owner[key][0] != narrative.id:
                    other, other_kind = owner[key]
                    if kind == "counter_examples" and other_kind == "counter_examples":
                        continue
                    raise InputError(
                        f"{sentence!r} is also in {other_kind} of '{other}'; each sentence "
                        "may define one narrative",
                        path=path,
                        row=row,
                        field=kind,
                    )
                owner.setdefault(key, (narrative.id, kind))


def _parse_feedback(entries: Any, ids: set[str], path: Path) -> list[Feedback]:
    """The ``[[feedback]]`` tables; the last decision on a (narrative, passage) pair wins."""
    if not isinstance(entries, list):
        raise InputError("must be an array of [[feedback]] tables", path=path, field="feedback")
    decided: dict[tuple[str, str], Feedback] = {}
    for row, entry in enumerate(entries, start=1):
        where = {"path": path, "row": row}
        if not isinstance(entry, dict):
            raise InputError("a [[feedback]] entry must be a table", **where, field="feedback")
        for key in _FEEDBACK_KEYS:
            if key not in entry:
                raise InputError("missing in [[feedback]]", **where, field=key)
        if entry["narrative"] not in ids:
            raise InputError(
                f"unknown narrative {entry['narrative']!r} in [[feedback]]",
                **where,
                field="narrative",
            )
        if not isinstance(entry["text"], str) or not entry["text"].strip():
            raise InputError("must be a non-empty string", **where, field="text")
        if not isinstance(entry["carries"], bool):
            raise InputError("must be true or false", **where, field="carries")
        item = Feedback(
            narrative=entry["narrative"],
            text=entry["text"].strip(),
            carries=entry["carries"],
            passage_id=str(entry.get("passage_id", "")),
            date=str(entry.get("date", "")),
            run=str(entry.get("run", "")),
        )
        decided.pop((item.narrative, item.passage_id or item.text), None)
        decided[(item.narrative, item.passage_id or item.text)] = item
    return list(decided.values())
