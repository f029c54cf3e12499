"""Training configuration: every parameter of a training, readable from and writable to TOML.

A run records its full configuration in run.json, and ``narratives train --config FILE`` with that
configuration (as TOML) reproduces the run on the same corpus.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import tomli_w

from narratives.drift import PERIODS as DRIFT_PERIODS
from narratives.drift import DriftSettings
from narratives.errors import InputError, read_toml

_HEADER = (
    "# narratives training configuration: `narratives train CORPUS --config THIS_FILE`.\n"
    "# Keys are documented in the README (Configuration). Command-line flags override them.\n\n"
)
_OPTIONAL_HINTS = {
    "catalog": '"my_catalog.toml"        # default: the shipped catalog',
    "cache_dir": '"/path/to/cache"        # default: ~/.cache/narratives/embeddings',
    "min_topic_size": "20                  # default: adapts to the corpus size",
    "n_neighbors": "15                     # default: adapts to the corpus size",
    "min_samples": "5                      # default: half of min_topic_size",
    "catalog_min_similarity": "0.35        # default: per embedder",
    "outlier_threshold": "0.35             # default: per embedder (TF-IDF+SVD: 0.10)",
}


@dataclass
class TrainConfig:
    """All parameters of `narratives train`; defaults make `narratives train seeds/` work."""

    seed: int = 42
    embedder: str = "use-multilingual"
    catalog: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    min_passage_chars: int = 200
    max_passage_chars: int = 1200
    batch_size: int = 64
    cache: bool = True
    cache_dir: str | None = None
    min_topic_size: int | None = None
    n_neighbors: int | None = None
    n_components: int = 5
    min_samples: int | None = None
    cluster_selection_method: str = "leaf"
    catalog_min_similarity: float | None = None
    reduce_outliers: bool = True
    outlier_threshold: float | None = None
    top_n_words: int = 10
    languages: list[str] = field(default_factory=lambda: ["de", "en"])
    ngram_range: list[int] = field(default_factory=lambda: [1, 2])
    period: str = "auto"
    drift_alpha: float = 0.05
    drift_min_change: float = 0.02
    small_period_docs: int = 10

    def __post_init__(self) -> None:
        self.validate()

    def validate(self, path: Path | None = None) -> None:
        """Reject values that cannot work, naming the field."""

        def bad(name: str, why: str) -> InputError:
            return InputError(f"{why} (got {getattr(self, name)!r})", path=path, field=name)

        if self.min_passage_chars < 0 or self.max_passage_chars < max(50, self.min_passage_chars):
            raise bad("max_passage_chars", "must be >= 50 and >= min_passage_chars")
        if self.batch_size < 1:
            raise bad("batch_size", "must be >= 1")
        if self.min_topic_size is not None and self.min_topic_size < 2:
            raise bad("min_topic_size", "must be >= 2")
        if self.n_neighbors is not None and self.n_neighbors < 2:
            raise bad("n_neighbors", "must be >= 2")
        if self.n_components < 2:
            raise bad("n_components", "must be >= 2")
        if self.min_samples is not None and self.min_samples < 1:
            raise bad("min_samples", "must be >= 1")
        if self.cluster_selection_method not in ("eom", "leaf"):
            raise bad("cluster_selection_method", "must be eom or leaf")
        if self.catalog_min_similarity is not None and not -1 <= self.catalog_min_similarity <= 1:
            raise bad("catalog_min_similarity", "must be between -1 and 1")
        if self.outlier_threshold is not None and not -1 <= self.outlier_threshold <= 1:
            raise bad("outlier_threshold", "must be between -1 and 1")
        if self.top_n_words < 1:
            raise bad("top_n_words", "must be >= 1")
        if not self.languages:
            raise bad("languages", "must name at least one language code")
        if len(self.ngram_range) != 2 or not 1 <= self.ngram_range[0] <= self.ngram_range[1]:
            raise bad("ngram_range", "must be [min, max] with 1 <= min <= max")
        if self.period not in ("auto", *DRIFT_PERIODS):
            raise bad("period", f"must be auto or one of {', '.join(DRIFT_PERIODS)}")
        if not 0 < self.drift_alpha < 1:
            raise bad("drift_alpha", "must be between 0 and 1")
        if self.drift_min_change < 0:
            raise bad("drift_min_change", "must be >= 0")
        if self.small_period_docs < 1:
            raise bad("small_period_docs", "must be >= 1")

    def drift_settings(self) -> DriftSettings:
        """The drift engine's settings from this configuration."""
        return DriftSettings(
            period=self.period,
            alpha=self.drift_alpha,
            min_change=self.drift_min_change,
            small_period_docs=self.small_period_docs,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for run.json and TOML (None values dropped: TOML has no null)."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_dict())

    def to_commented_toml(self) -> str:
        """The TOML of ``to_toml`` with a header and the optional (unset) keys as comments."""
        body = self.to_toml()
        unset = [
            f"# {name} = {_OPTIONAL_HINTS[name]}"
            for name in _OPTIONAL_HINTS
            if getattr(self, name) is None
        ]
        head, sep, tables = body.partition("[columns]")
        hints = "\n".join(unset) + "\n\n" if unset else ""
        return _HEADER + head.rstrip("\n") + "\n\n" + hints + sep + tables

    def with_overrides(self, **overrides: Any) -> TrainConfig:
        """A copy with the given non-None values replaced (CLI flags over the config file)."""
        values = self.to_dict() | {k: v for k, v in overrides.items() if v is not None}
        return TrainConfig(**values)


def load_config(path: str | Path | None) -> TrainConfig:
    """Read a TOML config; unknown keys and bad values name the file and the field."""
    if path is None:
        return TrainConfig()
    path = Path(path)
    data = read_toml(path, "config")
    known = {f.name for f in fields(TrainConfig)}
    for key in data:
        if key not in known:
            raise InputError(
                f"unknown setting (known: {', '.join(sorted(known))})", path=path, field=key
            )
    try:
        config = TrainConfig(**data)
    except InputError as exc:
        raise InputError(exc.reason, path=path, field=exc.field) from exc
    except TypeError as exc:
        raise InputError(f"bad value: {exc}", path=path) from exc
    return config
