"""The narrative catalog: named narratives that keep their ids across runs.

A catalog is a TOML file of ``[[narrative]]`` tables (id, label_de, label_en, description,
examples). Its narratives are embedded once per training; passages and discovered topics close to
a narrative's centroid carry its id (see model.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from narratives.errors import InputError, read_toml

_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_REQUIRED = ("id", "label_de", "label_en", "description", "examples")


@dataclass(frozen=True)
class Narrative:
    """One catalogued narrative."""

    id: str
    label_de: str
    label_en: str
    description: str
    examples: tuple[str, ...]

    def texts(self) -> list[str]:
        """The texts whose embeddings define the narrative: label, description and examples."""
        return [self.label_de, self.description, *self.examples]


@dataclass(frozen=True)
class Catalog:
    """An ordered set of narratives read from ``path``."""

    path: Path
    narratives: tuple[Narrative, ...]

    @property
    def ids(self) -> list[str]:
        return [n.id for n in self.narratives]

    def get(self, narrative_id: str) -> Narrative:
        for narrative in self.narratives:
            if narrative.id == narrative_id:
                return narrative
        raise KeyError(narrative_id)


def default_catalog_path() -> Path:
    """The catalog shipped inside the package."""
    return Path(str(resources.files("narratives") / "data" / "catalog.toml"))


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Read and validate a catalog TOML; ``None`` reads the shipped one."""
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
    return Catalog(path=path, narratives=tuple(narratives))


def _parse_entry(entry: object, *, path: Path, row: int) -> Narrative:
    if not isinstance(entry, dict):
        raise InputError("a [[narrative]] entry must be a table", path=path, row=row)
    for key in _REQUIRED:
        if key not in entry:
            raise InputError("missing", path=path, row=row, field=key)
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
    examples = entry["examples"]
    if (
        not isinstance(examples, list)
        or not examples
        or not all(isinstance(e, str) and e.strip() for e in examples)
    ):
        raise InputError(
            "must be a non-empty list of sentences", path=path, row=row, field="examples"
        )
    return Narrative(
        id=narrative_id,
        label_de=entry["label_de"].strip(),
        label_en=entry["label_en"].strip(),
        description=entry["description"].strip(),
        examples=tuple(e.strip() for e in examples),
    )
