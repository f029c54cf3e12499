"""The run record: what run.json says about a run, as typed dataclasses.

The pipeline builds a :class:`RunRecord`; ``narratives.runs`` writes it to run.json and reads it
back (``RunRecord.from_dict``), checking each part once, so everything downstream (CLI,
evaluation, exports, dashboard) reads attributes, never nested ``.get`` chains. Records written
by earlier versions (a flat config, no parent) still load.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from narratives.config import TrainConfig
from narratives.drift.settings import DriftInfo, DriftSettings
from narratives.errors import InputError, RunError

if TYPE_CHECKING:
    from narratives.corpus import LoadReport


@dataclass(frozen=True)
class LoadSummary:
    """What loading the corpus kept and dropped."""

    n_read: int = 0
    n_kept: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    n_missing_date: int = 0

    @classmethod
    def of(cls, report: LoadReport) -> LoadSummary:
        return cls(
            n_read=report.n_read,
            n_kept=report.n_kept,
            dropped=dict(report.dropped),
            n_missing_date=report.n_missing_date,
        )


@dataclass(frozen=True)
class CorpusInfo:
    """Where the corpus came from and its fingerprint (same corpus, same fingerprint)."""

    path: str = ""
    fingerprint: str = ""
    report: LoadSummary = field(default_factory=LoadSummary)


@dataclass(frozen=True)
class EmbedderInfo:
    """The embedder of the run: its name, its versioned id (the cache key) and dimension."""

    name: str = ""
    id: str = ""
    dim: int = 0


@dataclass(frozen=True)
class CatalogInfo:
    """The narrative catalog the run was trained with (a copy lies in the run's model/)."""

    path: str = ""
    ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunMetrics:
    """The headline counts of a training."""

    n_documents: int = 0
    n_passages: int = 0
    n_topics: int = 0
    n_catalog_narratives_found: int = 0
    n_documents_with_narrative: int = 0
    outlier_share: float = 0.0
    n_documents_without_date: int = 0

    @classmethod
    def of(
        cls,
        documents: pl.DataFrame,
        passages: pl.DataFrame,
        topics: pl.DataFrame,
        assignments: pl.DataFrame,
        narrative_scores: pl.DataFrame | None = None,
    ) -> RunMetrics:
        """The counts of a run's tables."""
        n_outliers = assignments.filter(pl.col("topic_id") < 0).height
        tagged = (
            narrative_scores.filter(pl.col("tagged"))
            if narrative_scores is not None
            else pl.DataFrame(schema={"doc_id": pl.String, "narrative_id": pl.String})
        )
        return cls(
            n_documents=documents.height,
            n_passages=passages.height,
            n_topics=topics.filter(pl.col("topic_id") >= 0).height,
            n_catalog_narratives_found=tagged["narrative_id"].n_unique(),
            n_documents_with_narrative=tagged["doc_id"].n_unique(),
            outlier_share=round(n_outliers / max(passages.height, 1), 4),
            n_documents_without_date=documents["date"].null_count(),
        )


@dataclass(frozen=True)
class RunRecord:
    """Everything run.json holds about a run.

    ``model`` holds the hyper-parameters the fit resolved (after adapting to the corpus size),
    ``embedding_cache`` the cache's hit counts, ``timings`` each stage's seconds, ``evaluation``
    what `narratives evaluate` stored (None before), ``parent`` the run this one continues.
    """

    created_at: str = ""
    package_version: str = ""
    config: TrainConfig = field(default_factory=TrainConfig)
    corpus: CorpusInfo = field(default_factory=CorpusInfo)
    embedder: EmbedderInfo = field(default_factory=EmbedderInfo)
    catalog: CatalogInfo = field(default_factory=CatalogInfo)
    model: dict[str, Any] = field(default_factory=dict)
    embedding_cache: dict[str, Any] = field(default_factory=dict)
    metrics: RunMetrics = field(default_factory=RunMetrics)
    drift: DriftInfo | None = None
    timings: dict[str, float] = field(default_factory=dict)
    evaluation: dict[str, Any] | None = None
    parent: str | None = None
    name: str = ""
    files: tuple[str, ...] = ()
    table_rows: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (the config nested as in its TOML)."""
        data = asdict(self)
        data["config"] = self.config.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Any, path: Path | None = None) -> RunRecord:
        """Read run.json's data; a missing or mistyped part is a RunError naming the field."""
        where = f"{path}, " if path is not None else ""
        if not isinstance(data, dict):
            raise RunError(f"{where.rstrip(', ')}: corrupt (not a JSON object)")
        try:
            config = TrainConfig.from_dict(data.get("config", {}) or {})
        except InputError as exc:
            raise RunError(f"{where}field 'config.{exc.field}': {exc.reason}") from None
        values: dict[str, Any] = {"config": config}
        parts = {
            "corpus": CorpusInfo,
            "embedder": EmbedderInfo,
            "catalog": CatalogInfo,
            "metrics": RunMetrics,
            "drift": DriftInfo,
        }
        for name, kind in parts.items():
            if data.get(name) is not None:
                values[name] = _part(kind, data[name], f"{where}field '{name}'")
        for name in ("model", "embedding_cache", "timings", "evaluation", "table_rows"):
            if data.get(name) is not None:
                values[name] = _checked(data[name], dict, f"{where}field '{name}'")
        for name in ("created_at", "package_version", "name", "parent"):
            if data.get(name) is not None:
                values[name] = str(data[name])
        if data.get("files") is not None:
            values["files"] = tuple(_checked(data["files"], list, f"{where}field 'files'"))
        return cls(**values)

    def with_files(
        self, name: str, files: list[str], table_rows: dict[str, int] | None = None
    ) -> RunRecord:
        """This record as written under ``name`` with ``files`` in its directory and the row
        counts of the tables written (added to those it had), to check the tables against."""
        rows = self.table_rows | (table_rows or {})
        return replace(self, name=name, files=tuple(sorted(files)), table_rows=rows)


def _checked(value: Any, kind: type, where: str) -> Any:
    if not isinstance(value, kind):
        raise RunError(f"{where}: expected {kind.__name__}, got {type(value).__name__}")
    return value


def _part(kind: type, value: Any, where: str) -> Any:
    """A dataclass part of the record from its JSON object; nested parts are built too."""
    _checked(value, dict, where)
    known = {f.name: f for f in fields(kind)}
    values = {}
    for key, item in value.items():
        if key not in known:
            continue
        if key == "report":
            item = _part(LoadSummary, item, f"{where}.report")
        elif key == "settings":
            item = _part(DriftSettings, item, f"{where}.settings")
        elif isinstance(item, list):
            item = tuple(item)
        values[key] = item
    try:
        return kind(**values)
    except (InputError, TypeError) as exc:
        raise RunError(f"{where}: {exc}") from None
