"""An analyst's decisions on single passages, kept in the analyst's own catalog file.

``narratives label RUN PASSAGE NARRATIVE --yes|--no`` and the dashboard's confirm / reject
buttons call :func:`record_feedback`. The decision is appended as a ``[[feedback]]`` table (the
passage's text, its id, the run and the date) to the user's catalog: the file the run was trained
with when that is the user's own, else ``<models_dir>/catalog.toml``, a copy of the shipped
catalog made on first use. The shipped catalog is never edited. The next ``narratives train``
reads the file (``<models_dir>/catalog.toml`` is picked up when no other catalog is named), and
the detector learns from each decision as an example or a counter-example.

The file is rewritten atomically (a temporary file renamed over it) and checked to load before
it replaces the old one, so an interrupted or bad write never damages the catalog.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from narratives.catalog import Catalog, Feedback, is_shipped, load_catalog
from narratives.errors import InputError

if TYPE_CHECKING:
    from narratives.runs import Run

USER_CATALOG = "catalog.toml"
"""The user's catalog in the models directory, made from the shipped one on first feedback."""


def user_catalog_path(models_dir: Path) -> Path:
    """Where feedback goes when the run used the shipped catalog."""
    return Path(models_dir) / USER_CATALOG


def feedback_target(catalog_path: Path | None, models_dir: Path) -> Path:
    """The file a decision on a run trained with ``catalog_path`` is written to."""
    if catalog_path and not is_shipped(catalog_path) and Path(catalog_path).is_file():
        return Path(catalog_path)
    return user_catalog_path(models_dir)


@dataclass(frozen=True)
class FeedbackResult:
    """Where the decision went and how many decisions that catalog now holds."""

    path: Path
    feedback: Feedback
    n_feedback: int
    created: bool


def record_feedback(
    target: Path,
    *,
    narrative: str,
    text: str,
    carries: bool,
    passage_id: str = "",
    run: str = "",
    source: Path | None = None,
) -> FeedbackResult:
    """Append one decision to the catalog ``target`` (created from ``source``, by default the
    shipped catalog, when it does not exist yet); returns where it went."""
    target = Path(target)
    if is_shipped(target):
        raise InputError("the shipped catalog is never edited; name your own file", path=target)
    created = not target.exists()
    base = _read_text(source if created else target, created)
    catalog = load_catalog(source) if created else load_catalog(target)
    if narrative not in catalog.ids:
        raise InputError(
            f"unknown narrative '{narrative}' (the catalog has: {', '.join(catalog.ids)})",
            path=target,
            field="narrative",
        )
    if not text.strip():
        raise InputError("the passage has no text", field="passage_id")
    entry = Feedback(
        narrative=narrative,
        text=" ".join(text.split()),
        carries=carries,
        passage_id=passage_id,
        date=datetime.now(UTC).date().isoformat(),
        run=run,
    )
    content = base.rstrip("\n") + "\n\n" + _feedback_toml(entry)
    _replace(target, content)
    written = load_catalog(target)
    return FeedbackResult(target, entry, len(written.feedback), created)


def _read_text(path: Path | None, created: bool) -> str:
    from narratives.catalog import default_catalog_path

    path = Path(path) if path is not None else default_catalog_path()
    text = path.read_text(encoding="utf-8")
    if created:
        note = (
            "# Your narrative catalog: a copy of the shipped one, with your feedback appended as\n"
            "# [[feedback]] tables by `narratives label` and the dashboard. Edit it freely.\n\n"
        )
        return note + text
    return text


def _feedback_toml(entry: Feedback) -> str:
    """One ``[[feedback]]`` table; strings are written as JSON strings (valid TOML basic strings
    for any text)."""
    lines = ["[[feedback]]"]
    for key in ("narrative", "passage_id", "carries", "date", "run", "text"):
        value = getattr(entry, key)
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif value:
            lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


def _replace(target: Path, content: str) -> None:
    """Write ``content`` to ``target`` through a checked temporary file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(content, encoding="utf-8")
    try:
        load_catalog(tmp)
    except InputError:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, target)


def feedback_counts(catalog: Catalog) -> dict[str, tuple[int, int]]:
    """Per narrative id: (confirmed, rejected) decisions in the catalog."""
    counts = {n.id: (0, 0) for n in catalog.narratives}
    for item in catalog.feedback:
        yes, no = counts[item.narrative]
        counts[item.narrative] = (yes + item.carries, no + (not item.carries))
    return counts


def record_run_feedback(
    run: Run,
    passage_id: str,
    narrative: str,
    carries: bool,
    *,
    models_dir: Path,
    catalog: Path | None = None,
) -> FeedbackResult:
    """Record a decision on one passage of ``run`` (the CLI's ``narratives label`` and the
    dashboard's buttons): into ``catalog`` when given, else the run's own user catalog, else
    ``<models_dir>/catalog.toml`` (made from the catalog the run was trained with)."""
    import polars as pl

    passage = run.scan("passages").filter(pl.col("passage_id") == passage_id).collect()
    if passage.is_empty():
        raise InputError(
            f"no passage '{passage_id}' in run {run.name} (ids look like "
            f"{run.table('passages', columns=['passage_id'])['passage_id'][0]!r})",
            field="passage_id",
        )
    trained_with = Path(run.record.catalog.path) if run.record.catalog.path else None
    target = Path(catalog) if catalog else feedback_target(trained_with, models_dir)
    stored = run.model_dir / "catalog.toml"
    return record_feedback(
        target,
        narrative=narrative,
        text=passage["text"][0],
        carries=carries,
        passage_id=passage_id,
        run=run.name,
        source=stored if stored.is_file() else None,
    )
