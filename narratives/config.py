"""Training configuration: every parameter of a training, in one nested TOML file.

```toml
seed = 42
embedder = "use-multilingual"
languages = ["de", "en"]
[columns]      # input column names
[passages]     # PassageSettings: how articles are split into passages
[model]        # ModelSettings: what TopicModel takes (topic discovery)
[detector]     # DetectorSettings: what NarrativeDetector takes (catalogued narratives)
[shares]       # ShareSettings: how narrative shares are corrected for the detector's errors
[drift]        # DriftSettings: the drift engine's thresholds
```

Each part validates itself once when it is built (from a file, the CLI or Python), and its
defaults live in its own dataclass. A run records its full configuration in run.json, and
``narratives train --config FILE`` with that configuration reproduces the run on the same corpus.
Config files of the earlier flat layout (``min_topic_size = 20`` at the top level) still load,
with a note on where each key now lives.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import tomli_w

from narratives.defaults import (
    DEFAULT_EMBEDDER,
    DEFAULT_FIT_SAMPLE,
    DEFAULT_LANGUAGES,
    DEFAULT_SEED,
)
from narratives.drift.settings import DriftSettings
from narratives.errors import InputError, NarrativesWarning, read_toml
from narratives.validation import (
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_int_pair,
    check_str,
    check_str_list,
)


class ConfigDeprecation(NarrativesWarning, FutureWarning):
    """A configuration that still loads but is written in a layout that will go away."""


@dataclass(frozen=True)
class PassageSettings:
    """How articles are split into passages (``narratives.text.split_passages`` takes these)."""

    min_chars: int = 200
    max_chars: int = 1200

    def __post_init__(self) -> None:
        check_int(self.min_chars, "min_chars", low=0)
        check_int(self.max_chars, "max_chars", low=max(50, self.min_chars))


@dataclass(frozen=True)
class ModelSettings:
    """What ``TopicModel`` takes: BERTopic discovery and representation of the topics.

    ``None`` means "adapt to the corpus" (sizes) or "per embedder" (similarity thresholds).
    ``fit_sample``: above this many passages, BERTopic is fitted on a sample of that size,
    stratified by month and outlet, and the other passages are assigned by their nearest fitted
    passages (narratives.sampling); ``None`` (0 in a TOML file) fits on every passage.
    """

    min_topic_size: int | None = None
    n_neighbors: int | None = None
    n_components: int = 5
    min_samples: int | None = None
    cluster_selection_method: str = "leaf"
    reduce_outliers: bool = True
    outlier_threshold: float | None = None
    top_n_words: int = 10
    n_representative: int = 3
    ngram_range: tuple[int, int] = (1, 2)
    fit_sample: int | None = DEFAULT_FIT_SAMPLE

    def __post_init__(self) -> None:
        check_int(self.min_topic_size, "min_topic_size", low=2, optional=True)
        if self.fit_sample == 0:
            object.__setattr__(self, "fit_sample", None)
        check_int(self.fit_sample, "fit_sample", low=100, optional=True)
        check_int(self.n_neighbors, "n_neighbors", low=2, optional=True)
        check_int(self.n_components, "n_components", low=2)
        check_int(self.min_samples, "min_samples", low=1, optional=True)
        check_choice(self.cluster_selection_method, "cluster_selection_method", ("eom", "leaf"))
        check_bool(self.reduce_outliers, "reduce_outliers")
        check_float(self.outlier_threshold, "outlier_threshold", low=-1, high=1, optional=True)
        check_int(self.top_n_words, "top_n_words", low=1)
        check_int(self.n_representative, "n_representative", low=0)
        object.__setattr__(self, "ngram_range", check_int_pair(self.ngram_range, "ngram_range"))


@dataclass(frozen=True)
class DetectorSettings:
    """What ``NarrativeDetector`` takes: how catalogued narratives are found passage by passage.

    A passage carries a narrative when the narrative's query matches it, or when the narrative's
    linear head scores it at or above a threshold calibrated on the corpus (see
    narratives/detect/). ``query_window`` is the number of consecutive sentences a query must
    match within (None: the whole passage); ``head`` switches the second path off;
    ``head_min_precision`` is the precision the head path must be expected to reach before it
    adds a single passage;
    ``duplicate_quantile`` sets how close a passage must be to one an analyst confirmed or
    rejected to follow that decision.
    """

    query_window: int | None = 3
    head: bool = True
    head_c: float = 1.0
    head_min_precision: float = 0.5
    duplicate_quantile: float = 0.9995

    def __post_init__(self) -> None:
        check_int(self.query_window, "query_window", low=1, optional=True)
        check_bool(self.head, "head")
        check_float(self.head_c, "head_c", low=0, open_low=True)
        check_float(self.head_min_precision, "head_min_precision", low=0, high=1)
        check_float(self.duplicate_quantile, "duplicate_quantile", low=0.5, high=1)


SHARE_METHODS = ("acc", "pacc", "pcc", "cc")


@dataclass(frozen=True)
class ShareSettings:
    """How narrative shares are estimated (narratives.shares): ``method`` acc (default,
    chosen by measurement), pacc, pcc, or cc (counted tags, "raw"); ``calibration`` an optional
    labelled sample of the corpus (ids and narrative labels, read like evaluation labels:
    ``calibration_column``, ``calibration_id_column``, ``calibration_unit``) whose items,
    when enough, measure the detector's errors instead of the catalog; ``n_bootstrap`` draws
    for the intervals."""

    method: str = "acc"
    n_bootstrap: int = 200
    calibration: str | None = None
    calibration_column: str = "narratives"
    calibration_id_column: str = "doc_id"
    calibration_unit: str = "document"

    def __post_init__(self) -> None:
        check_choice(self.method, "method", SHARE_METHODS)
        check_int(self.n_bootstrap, "n_bootstrap", low=10)
        check_str(self.calibration, "calibration", optional=True)
        check_str(self.calibration_column, "calibration_column")
        check_str(self.calibration_id_column, "calibration_id_column")
        check_choice(self.calibration_unit, "calibration_unit", ("document", "passage"))


_SECTIONS = {
    "passages": PassageSettings,
    "model": ModelSettings,
    "detector": DetectorSettings,
    "shares": ShareSettings,
    "drift": DriftSettings,
}

LEGACY_KEYS = {
    "min_passage_chars": ("passages", "min_chars"),
    "max_passage_chars": ("passages", "max_chars"),
    **{
        name: ("model", name)
        for name in (
            "min_topic_size",
            "n_neighbors",
            "n_components",
            "min_samples",
            "cluster_selection_method",
            "reduce_outliers",
            "outlier_threshold",
            "top_n_words",
            "ngram_range",
        )
    },
    "period": ("drift", "period"),
    "drift_alpha": ("drift", "alpha"),
    "drift_min_change": ("drift", "min_change"),
    "small_period_docs": ("drift", "small_period_docs"),
}
"""Keys of the earlier flat layout -> (table, key) of the nested one."""

RETIRED_KEYS = {
    "catalog_min_similarity": "catalogued narratives are found by the detector now ([detector])",
}
"""Keys that no longer do anything: they load, with a note, so that old runs still open."""

_HEADER = (
    "# narratives training configuration: `narratives train CORPUS --config THIS_FILE`.\n"
    "# Keys are documented in the README (Configuration). Command-line flags override them.\n\n"
)
_OPTIONAL_HINTS = {
    "catalog": '"my_catalog.toml"        # default: the shipped catalog',
    "cache_dir": '"/path/to/cache"        # default: ~/.cache/narratives/embeddings',
    "model.min_topic_size": "20            # default: adapts to the corpus size",
    "model.n_neighbors": "15               # default: adapts to the corpus size",
    "model.min_samples": "5                # default: half of min_topic_size",
    "model.outlier_threshold": "0.35       # default: per embedder (TF-IDF+SVD: 0.10)",
    "shares.calibration": '"labelled.csv"   # a labelled sample of the corpus (optional)',
}


@dataclass(frozen=True)
class TrainConfig:
    """All parameters of `narratives train`; the defaults make `narratives train seeds/` work."""

    seed: int = DEFAULT_SEED
    embedder: str = DEFAULT_EMBEDDER
    catalog: str | None = None
    languages: tuple[str, ...] = DEFAULT_LANGUAGES
    columns: dict[str, str] = field(default_factory=dict)
    batch_size: int = 64
    cache: bool = True
    cache_dir: str | None = None
    passages: PassageSettings = field(default_factory=PassageSettings)
    model: ModelSettings = field(default_factory=ModelSettings)
    detector: DetectorSettings = field(default_factory=DetectorSettings)
    shares: ShareSettings = field(default_factory=ShareSettings)
    drift: DriftSettings = field(default_factory=DriftSettings)

    def __post_init__(self) -> None:
        check_int(self.seed, "seed", low=0, high=2**32 - 1)
        check_str(self.embedder, "embedder")
        check_str(self.catalog, "catalog", optional=True)
        object.__setattr__(self, "languages", check_str_list(self.languages, "languages"))
        if not isinstance(self.columns, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.columns.items()
        ):
            raise InputError(
                f"columns must be a table of FIELD = NAME strings, got {self.columns!r}",
                field="columns",
            )
        check_int(self.batch_size, "batch_size", low=1)
        check_bool(self.cache, "cache")
        check_str(self.cache_dir, "cache_dir", optional=True)
        for name, kind in _SECTIONS.items():
            if not isinstance(getattr(self, name), kind):
                raise InputError(f"{name} must be a {kind.__name__}", field=name)

    def to_dict(self) -> dict[str, Any]:
        """Nested plain dict for run.json and TOML (None values dropped: TOML has no null; a
        ``fit_sample`` of None, whose default is not None, is written as 0)."""
        data = _drop_none(asdict(self))
        if self.model.fit_sample is None:
            data.setdefault("model", {})["fit_sample"] = 0
        return data

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_dict())

    def to_commented_toml(self) -> str:
        """The TOML of ``to_toml`` with a header and the optional (unset) keys as comments, each
        in its table."""
        data = self.to_dict()
        tables = {name: data.pop(name, {}) for name in ("columns", *_SECTIONS)}
        parts = [_HEADER + tomli_w.dumps(data) + self._hints("")]
        for name, table in tables.items():
            parts.append(f"[{name}]\n" + tomli_w.dumps(table) + self._hints(name))
        return "\n".join(parts)

    def _hints(self, table: str) -> str:
        """Commented lines for the optional keys of ``table`` ("" = top level) left unset."""
        lines = []
        for dotted, hint in _OPTIONAL_HINTS.items():
            owner, _, key = dotted.rpartition(".")
            value: Any = self if not owner else getattr(self, owner)
            if owner == table and getattr(value, key) is None:
                lines.append(f"# {key} = {hint}\n")
        return "".join(lines)

    def with_overrides(self, **overrides: Any) -> TrainConfig:
        """A copy with the given non-None values replaced (CLI flags over the config file).

        Keys are top-level names or ``table.key`` ("model.min_topic_size", "drift.period").
        """
        values = self.to_dict()
        for key, value in overrides.items():
            if value is None:
                continue
            table, _, name = key.rpartition(".")
            (values.setdefault(table, {}) if table else values)[name] = value
        return TrainConfig.from_dict(values)

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], *, path: Path | None = None, legacy_note: bool = False
    ) -> TrainConfig:
        """Build and validate a config from plain data (a TOML file, run.json); errors name the
        file and the dotted field. Flat keys of the earlier layout are moved to their table (with
        a ConfigDeprecation warning when ``legacy_note``)."""
        data = _nest_legacy(dict(data), path, legacy_note)
        known = {f.name for f in fields(cls)}
        for key in data:
            if key not in known:
                raise InputError(
                    f"unknown setting (known: {', '.join(sorted(known))})", path=path, field=key
                )
        values = dict(data)
        for name, kind in _SECTIONS.items():
            values[name] = _section(kind, data.get(name, {}), name, path)
        if "languages" in values and isinstance(values["languages"], list):
            values["languages"] = tuple(values["languages"])
        try:
            return cls(**values)
        except InputError as exc:
            raise InputError(exc.reason, path=path, field=exc.field) from None

    def drift_settings(self, **overrides: Any) -> DriftSettings:
        """The run's drift settings with the given non-None values replaced."""
        return replace(self.drift, **{k: v for k, v in overrides.items() if v is not None})


def _section(kind: type, data: Any, name: str, path: Path | None) -> Any:
    """One table of the config (``[model]``, ...) as its settings dataclass."""
    if isinstance(data, kind):
        return data
    if not isinstance(data, dict):
        raise InputError(f"must be a table, got {data!r}", path=path, field=name)
    known = {f.name for f in fields(kind)}
    for key in data:
        if key not in known:
            raise InputError(
                f"unknown setting (known in [{name}]: {', '.join(sorted(known))})",
                path=path,
                field=f"{name}.{key}",
            )
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    try:
        return kind(**values)
    except InputError as exc:
        raise InputError(exc.reason, path=path, field=f"{name}.{exc.field}") from None


def _nest_legacy(data: dict[str, Any], path: Path | None, note: bool) -> dict[str, Any]:
    """Move the flat keys of the earlier layout into their tables; drop retired keys."""
    _drop_retired(data, path, note)
    if isinstance(data.get("model"), dict):
        data["model"] = dict(data["model"])
        _drop_retired(data["model"], path, note)
    moved = []
    for key in [k for k in data if k in LEGACY_KEYS]:
        table, name = LEGACY_KEYS[key]
        section = data.setdefault(table, {})
        if not isinstance(section, dict):
            raise InputError(f"must be a table, got {section!r}", path=path, field=table)
        section.setdefault(name, data.pop(key))
        moved.append(f"{key} -> [{table}] {name}")
    if moved and note:
        where = f"{path}: " if path is not None else ""
        warnings.warn(
            f"{where}flat config keys are deprecated; move them: {', '.join(moved)} "
            "(`narratives config` prints the new layout)",
            ConfigDeprecation,
            stacklevel=3,
        )
    return data


def _drop_retired(data: dict[str, Any], path: Path | None, note: bool) -> None:
    for key in [k for k in data if k in RETIRED_KEYS]:
        data.pop(key)
        if note:
            where = f"{path}: " if path is not None else ""
            warnings.warn(
                f"{where}{key} is no longer used: {RETIRED_KEYS[key]}", ConfigDeprecation, 4
            )


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, tuple):
        return list(value)
    return value


def load_config(path: str | Path | None) -> TrainConfig:
    """Read a TOML config; unknown keys and bad values name the file and the field."""
    if path is None:
        return TrainConfig()
    path = Path(path)
    return TrainConfig.from_dict(read_toml(path, "config"), path=path, legacy_note=True)
