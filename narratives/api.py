"""The Python API: train, open and query runs from a notebook or a script.

Every function here is a thin face over the code the CLI calls, so ``narratives.train`` and
``narratives train`` write the same run. Every query returns a polars DataFrame;
``.to_pandas()`` is one call away. Errors a user can fix are raised as
:class:`~narratives.errors.InputError` (bad corpus, config or catalog, naming the file or
DataFrame, the row and the field) or :class:`~narratives.errors.RunError` (a missing or damaged
run), without the package's internal frames in the traceback.

The names in ``narratives.__all__`` keep working across minor versions.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar

import polars as pl

from narratives.config import TrainConfig, load_config
from narratives.errors import InputError, NarrativesError, print_stderr
from narratives.runs import Run as StoredRun
from narratives.runs import default_models_dir, load_run
from narratives.runs import list_runs as _list_runs

if TYPE_CHECKING:
    from narratives.catalog import Catalog
    from narratives.drift import DriftResult
    from narratives.engine import Engine

P = ParamSpec("P")
R = TypeVar("R")
Of = Literal["narratives", "topics"]
_KEYS = {"narratives": "narrative_id", "topics": "topic_id"}
_ALL_SOURCES = "*"
SHARE_CHOICES = ("acc", "pacc", "pcc", "raw")
"""How ``compute_drift`` may estimate narrative shares (raw: counted tags), as ``--shares``."""


def _public(func: Callable[P, R]) -> Callable[P, R]:
    """Raise the package's own errors from the public call, not from deep inside it: a notebook
    then shows the call and the one-line message, not the package's internals."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except NarrativesError as exc:
            raise exc.with_traceback(None) from None

    return wrapper


@_public
def default_config() -> TrainConfig:
    """The default training configuration, to tweak before :func:`train`.

    ``config.with_overrides(**{"model.min_topic_size": 5, "drift.period": "week"})`` returns a
    validated copy (``narratives config`` prints every key as TOML).
    """
    return TrainConfig()


@_public
def load_catalog(path: str | Path | None = None) -> Catalog:
    """The narrative catalog at ``path`` (default: the shipped one): each narrative's labels,
    description, examples, counter-examples and query. A bad catalog raises InputError naming the
    file, the entry and the field."""
    from narratives.catalog import load_catalog as read_catalog

    return read_catalog(path)


def _config(config: TrainConfig | str | Path | Mapping[str, Any] | None) -> TrainConfig:
    """A TrainConfig from a TrainConfig, a TOML path, a dict of the TOML's tables, or None."""
    if config is None or isinstance(config, str | Path):
        return load_config(config)
    if isinstance(config, TrainConfig):
        return config
    if isinstance(config, Mapping):
        return TrainConfig.from_dict(dict(config))
    raise InputError(
        f"config must be a TrainConfig, a TOML path or a dict, got {type(config).__name__}",
        field="config",
    )


@_public
def train(
    corpus: str | Path | Any,
    *,
    config: TrainConfig | str | Path | Mapping[str, Any] | None = None,
    catalog: str | Path | Catalog | None = None,
    columns: Mapping[str, str] | None = None,
    run: str | None = None,
    models_dir: str | Path | None = None,
    overwrite: bool = False,
    parent: Run | str | Path | None = None,
    engine: str | Engine = "local",
    address: str | None = None,
    workers: int | None = None,
    progress: bool = True,
    verbose: bool = True,
) -> Run:
    """Train on a corpus and write a run; returns the run, ready to query.

    Parameters
    ----------
    corpus
        A corpus path (a directory of ``.txt`` files with an optional manifest, a ``.csv``,
        ``.jsonl`` or ``.parquet`` file), or a polars or pandas DataFrame with a ``text`` column
        and optionally ``doc_id``, ``date``, ``source``, ``title``, ``url`` and ``lang``. A
        DataFrame is validated with the same rules and messages as a file, rows counted from 1.
    config
        A :class:`TrainConfig` (see :func:`default_config`), a TOML file or a dict of its tables.
    catalog
        A narrative catalog file, or a :class:`Catalog` from :func:`load_catalog` (its file is
        read; default: the config's, else yours in the models directory, else the shipped one).
    columns
        Which input columns hold the corpus fields, e.g. ``{"text": "body", "date": "published"}``
        (added to the config's ``[columns]``).
    run
        The run's name (default: ``<corpus>-<UTC timestamp>``).
    models_dir
        Where runs live (default: ``$NARRATIVES_MODELS_DIR`` or ``./models``).
    overwrite
        Replace a run of the same name (atomically, once the new one is complete).
    parent
        A run this retrain continues (a Run, name or path): each discovered topic is matched to
        the parent's by shared passages and centroid cosine; continued topics keep their ids,
        new ones get ids never used before, and the run gains a ``lineage`` table
        (``Run.lineage()``).
    engine, address, workers
        Where embedding, query matching and the assignment of passages outside a fit sample
        run: ``"local"`` (this process, ``workers`` embedder threads) or ``"ray"`` (Ray Data
        actors; a cluster at ``address``, else Ray started here with ``workers`` CPUs). Same
        run either way (README: Large corpora and clusters).
    progress, verbose
        Progress bars and stage messages, on stderr.

    Example
    -------
    >>> import narratives
    >>> run = narratives.train("seeds/", run="seeds-demo", overwrite=True, progress=False,
    ...                        verbose=False)
    >>> run.name
    'seeds-demo'
    >>> run.narratives()["narrative_id"].to_list()[:2]
    ['failed-counteroffensive', 'ammunition-shortage']
    """
    from narratives.pipeline import train as run_training

    settings = _config(config)
    if catalog is not None:
        path = getattr(catalog, "path", catalog)
        settings = settings.with_overrides(catalog=str(path))
    if columns is not None:
        settings = settings.with_overrides(columns=settings.columns | dict(columns))
    directory = Path(models_dir) if models_dir is not None else default_models_dir()
    if parent is not None and not isinstance(parent, StoredRun):
        parent = open_run(parent, directory)
    result = run_training(
        corpus,
        settings,
        run_name=run,
        models_dir=directory,
        overwrite=overwrite,
        progress=progress,
        log=print_stderr if verbose else None,
        parent=parent,
        engine=_engine(engine, address, workers),
    )
    trained = open_run(result.run_path)
    trained.timings = result.timings
    return trained


@_public
def assign(
    run: Run | str | Path,
    corpus: str | Path | Any,
    *,
    name: str | None = None,
    models_dir: str | Path | None = None,
    overwrite: bool = False,
    engine: str | Engine = "local",
    address: str | None = None,
    workers: int | None = None,
    progress: bool = True,
    verbose: bool = True,
) -> Run:
    """Place new articles into a run without refitting and return the new run (what
    ``narratives assign`` does).

    ``run`` is a :class:`Run`, a run name or a path; ``corpus`` a path or a DataFrame, as for
    :func:`train`. Articles the run already holds (by doc_id or text) are skipped; passages that
    fit no topic stay unassigned, and enough of them form candidate topics with new ids. The new
    run (default name ``<run>-<UTC timestamp>``) keeps the topic ids, recomputes the drift over
    the whole span, names its parent and adds a ``novelty`` table (``Run.novelty()``).
    ``engine``, ``address`` and ``workers`` as for :func:`train`.
    """
    from narratives.assign import assign as assign_articles

    if isinstance(run, Run):
        parent = run
    elif isinstance(run, StoredRun):  # a run read by narratives.runs.load_run
        parent = open_run(run.path)
    else:
        parent = open_run(run, models_dir)
    result = assign_articles(
        parent,
        corpus,
        name=name,
        models_dir=Path(models_dir) if models_dir is not None else None,
        overwrite=overwrite,
        progress=progress,
        log=print_stderr if verbose else None,
        engine=_engine(engine, address, workers),
    )
    assigned = open_run(result.run_path)
    assigned.timings = result.timings
    return assigned


def _engine(engine: str | Engine, address: str | None, workers: int | None) -> Engine:
    """An engine by name, or the given one."""
    if isinstance(engine, str):
        from narratives.engine import get_engine

        return get_engine(engine, address=address, workers=workers)
    return engine


@_public
def open_run(name_or_path: str | Path | None = None, models_dir: str | Path | None = None) -> Run:
    """Open a run by name (under ``models_dir``), by path, or the newest run when None.

    A missing, partial or damaged run raises RunError naming the file and the field.

    Example
    -------
    >>> import narratives
    >>> run = narratives.open_run("seeds-demo")
    >>> run.topics().columns[:3]
    ['topic_id', 'label', 'keywords']
    """
    stored = load_run(name_or_path, Path(models_dir) if models_dir is not None else None)
    return Run(path=stored.path, record=stored.record)


@_public
def list_runs(models_dir: str | Path | None = None) -> pl.DataFrame:
    """The complete runs under ``models_dir``, newest first: name, path, created_at, corpus,
    embedder and the numbers of documents, passages, topics and narratives found."""
    summaries = _list_runs(Path(models_dir) if models_dir is not None else None)
    schema = {
        "name": pl.String,
        "path": pl.String,
        "created_at": pl.String,
        "corpus": pl.String,
        "embedder": pl.String,
        "n_documents": pl.Int64,
        "n_passages": pl.Int64,
        "n_topics": pl.Int64,
        "n_narratives": pl.Int64,
        "parent": pl.String,
    }
    rows = [
        {name: str(value) if name == "path" else value for name, value in vars(s).items()}
        for s in summaries
    ]
    return pl.DataFrame(rows, schema=schema)


@dataclass(repr=False)
class Run(StoredRun):
    """A trained run: its tables as polars DataFrames, and its drift recomputed on request.

    Open one with :func:`open_run` or get it from :func:`train`. ``name``, ``path``, ``config``
    (the :class:`TrainConfig` it was trained with) and ``record`` (its run.json) describe it;
    ``table(name)`` reads any stored table as it is.
    """

    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per stage of the training that returned this run (empty for an opened run)."""
    _recomputed: dict[tuple[str, bool], DriftResult] = field(default_factory=dict, repr=False)
    _stamp: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        self._stamp = self._record_stamp()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StoredRun) and self.path.resolve() == other.path.resolve()

    def __hash__(self) -> int:
        return hash(self.path.resolve())

    def _record_stamp(self) -> int:
        try:
            return (self.path / "run.json").stat().st_mtime_ns
        except OSError:
            return 0

    def _refresh(self) -> None:
        """Read the run again when its run.json changed on disk since it was opened (another
        `narratives drift` or evaluate rewrote tables): no query mixes old and new tables."""
        from narratives.runs import read_record

        stamp = self._record_stamp()
        if stamp != self._stamp:
            self.record = read_record(self.path)
            self._cache.clear()
            self._recomputed.clear()
            self._stamp = stamp

    def table(self, name: str, columns: list[str] | None = None) -> pl.DataFrame:
        """The stored table ``name`` as it is (read again when the run changed on disk)."""
        self._refresh()
        return super().table(name, columns)

    def __repr__(self) -> str:
        metrics = self.record.metrics
        return (
            f"Run({self.name!r}, path={str(self.path)!r}: {metrics.n_documents} documents, "
            f"{metrics.n_topics} topics, {len(self.record.catalog.ids)} catalogued narratives)"
        )

    @_public
    def topics(self, *, outliers: bool = False) -> pl.DataFrame:
        """The discovered topics, largest first: topic_id, label, keywords, size (passages),
        n_docs and representative_passage_ids; the outlier topic (-1) only with ``outliers``."""
        docs = self.table("assignments").group_by("topic_id").agg(pl.col("doc_id").n_unique())
        table = (
            self.table("topics")
            .join(docs.rename({"doc_id": "n_docs"}), on="topic_id", how="left")
            .with_columns(pl.col("n_docs").fill_null(0).cast(pl.UInt32))
            .sort(["size", "topic_id"], descending=[True, False])
        )
        if not outliers:
            table = table.filter(pl.col("topic_id") >= 0)
        return table.select(
            "topic_id", "label", "keywords", "size", "n_docs", "representative_passage_ids"
        )

    @_public
    def narratives(self) -> pl.DataFrame:
        """The catalogued narratives in catalog order, with their share of all the run's
        documents: n_docs (documents tagged) of n_documents, share_raw (the tagged share), share
        with ci_low and ci_high (corrected for the detector's errors, see README "How shares are
        estimated"), then share_method and how each is detected and calibrated (the run's
        ``narratives`` table)."""
        from narratives.shares import document_evidence, item_shares, run_estimates

        if not self.has_table("narratives"):
            return pl.DataFrame(schema={"narrative_id": pl.String, "label": pl.String})
        table = self.table("narratives")
        estimates = run_estimates(self) or {}
        shares = item_shares(
            document_evidence(self.table("narrative_scores")),
            estimates,
            n_bootstrap=self.config.shares.n_bootstrap,
            seed=self.config.seed,
        )
        shares = shares.rename({"n_items": "n_documents", "n_tagged": "n_docs"}).select(
            "narrative_id", "n_docs", "n_documents", "share_raw", "share", "ci_low", "ci_high"
        )
        return (
            table.join(shares, on="narrative_id", how="left", maintain_order="left")
            .with_columns(pl.col("label_de").alias("label"))
            .select("narrative_id", "label", *shares.columns[1:], *table.columns[1:])
        )

    @_public
    def documents(
        self, *, narrative: str | None = None, topic: int | None = None, source: str | None = None
    ) -> pl.DataFrame:
        """The run's documents with the narratives each carries, its main topic (the topic of
        most of its passages) and its topic mix; only those carrying ``narrative``, whose main
        topic is ``topic``, or from the outlet ``source``, when given (``topics()["n_docs"]``
        counts every document with a passage in a topic, so it can be larger)."""
        from narratives.export import documents_with_mix

        table = self.derived("documents_with_mix", documents_with_mix)
        if narrative is not None:
            self._check_id(narrative, "narratives")
            table = table.filter(pl.col("narratives").list.contains(narrative))
        if topic is not None:
            self._check_id(topic, "topics")
            table = table.filter(pl.col("main_topic_id") == topic)
        if source is not None:
            sources = table["source"].unique().sort().to_list()
            if source not in sources:
                raise InputError(
                    f"no outlet {source!r} in run {self.name} (outlets: {', '.join(sources)})",
                    field="source",
                )
            table = table.filter(pl.col("source") == source)
        return table

    @_public
    def prevalence(
        self, period: str | None = None, by: str | None = None, *, of: Of = "narratives"
    ) -> pl.DataFrame:
        """Each narrative's (or topic's) share of the documents per period: n_docs,
        n_period_docs, share with ci_low and ci_high (for narratives corrected for the detector's
        errors, with share_raw the tagged share) and small_period.

        ``period`` is day, week, month, quarter, year or auto (default: the run's); ``by="source"``
        gives one series per outlet (default: over all outlets). Another period, or outlets for
        a run trained without them, is computed in memory; the run is not changed.

        Example
        -------
        >>> import narratives
        >>> run = narratives.open_run("seeds-demo")
        >>> yearly = run.prevalence(period="year")
        >>> ammo = yearly.filter(pl.col("narrative_id") == "ammunition-shortage")
        >>> ammo.select("period", "n_docs", "n_period_docs").rows()
        [(datetime.date(2022, 1, 1), 1, 1), (datetime.date(2023, 1, 1), 0, 2), \
(datetime.date(2024, 1, 1), 1, 2)]
        """
        table = self._drift_table("prevalence", period, by, of)
        return _labelled(self, table, of)

    @_public
    def drift(
        self, period: str | None = None, by: str | None = None, *, of: Of = "narratives"
    ) -> pl.DataFrame:
        """Each narrative's (or topic's) change from one period to the next: share,
        share_change, the tested p_value and p_adjusted (Benjamini-Hochberg), change_point with
        its change_p_value, Jensen-Shannon divergences and a status (new, emerging, stable,
        fading, gone, or no data for a period without documents); ``period`` and ``by`` as in
        :meth:`prevalence`."""
        return _labelled(self, self._drift_table("drift", period, by, of), of)

    @_public
    def outlets(self, *, of: Of = "narratives") -> pl.DataFrame:
        """Each outlet's share of each narrative (or topic) against all other outlets: share,
        share_others, lift, the tested p_value and p_adjusted, and representation (over, under
        or as expected); per period and over the whole span (period null)."""
        return _labelled(self, self._stored_table("outlets", of), of)

    @_public
    def keywords(self, topic: int | str) -> pl.DataFrame:
        """A topic's (int id) or narrative's (str id) keywords per period, with the words that
        entered and left since the period before."""
        of: Of = "narratives" if isinstance(topic, str) else "topics"
        self._check_id(topic, of)
        table = self._stored_table("keyword_drift", of)
        return _labelled(self, table.filter(pl.col(_KEYS[of]) == topic).sort("period"), of)

    @_public
    def lineage(self) -> pl.DataFrame:
        """How this run's topics continue its parent's (a run trained with ``parent``; empty
        otherwise): parent_topic_id, topic_id, relation (continued, split, merged, new, gone),
        overlap (share of the parent topic's shared passages) and similarity (centroid cosine),
        with ``parent`` naming the parent run."""
        from narratives.schemas import LINEAGE

        table = self.table("lineage") if self.has_table("lineage") else pl.DataFrame(schema=LINEAGE)
        return table.with_columns(pl.lit(self.record.parent, dtype=pl.String).alias("parent"))

    @_public
    def novelty(self) -> pl.DataFrame:
        """What the articles added by ``narratives assign`` brought (empty for a trained run):
        per period the share of new documents that fit no topic (kind unassigned), and each
        topic's and candidate topic's popularity, signal class (noise, weak, strong) and trend,
        strong and weak signals first."""
        from narratives.schemas import NOVELTY

        if not self.has_table("novelty"):
            return pl.DataFrame(schema=NOVELTY)
        order = pl.col("signal").replace_strict(
            {"strong": 0, "weak": 1, "noise": 2}, default=3, return_dtype=pl.Int8
        )
        return _labelled(
            self,
            self.table("novelty").sort(
                order, "period", "topic_id", descending=[False, True, False]
            ),
            "topics",
        )

    @_public
    def export(self, directory: str | Path, format: str = "parquet") -> list[Path]:
        """Write every export table (as ``narratives export`` does) into ``directory`` as csv,
        parquet or json; returns the files written."""
        from narratives.export import FORMATS, export_run

        if format not in FORMATS:
            raise InputError(
                f"unknown format {format!r} (choose one of {', '.join(FORMATS)})", field="format"
            )
        return export_run(self, format, Path(directory))

    @_public
    def compute_drift(
        self,
        *,
        period: str | None = None,
        by_source: bool | None = None,
        alpha: float | None = None,
        min_change: float | None = None,
        shares: str | None = None,
        calibration: str | Path | None = None,
        save: bool = False,
    ) -> DriftResult:
        """Recompute the run's drift tables with other settings (None keeps those its drift
        tables were computed with): the period, per outlet or not, the significance level, the
        smallest change called emerging or fading, the share method (acc, pacc, pcc or raw; None:
        each narrative's stored method) and a labelled calibration sample. ``save=True``
        replaces the run's drift tables (what ``narratives drift`` does)."""
        from narratives.drift import drift_tables
        from narratives.runs import replace_tables
        from narratives.shares import run_estimates

        self._refresh()
        if shares not in (None, *SHARE_CHOICES):
            raise InputError(
                f"unknown share method {shares!r} (choose one of {', '.join(SHARE_CHOICES)})",
                field="shares",
            )
        current = self.record.drift.settings if self.record.drift else self.config.drift
        changes = {"period": period, "by_source": by_source, "alpha": alpha}
        changes["min_change"] = min_change
        settings = replace(current, **{k: v for k, v in changes.items() if v is not None})
        share_settings = self.config.shares
        if calibration is not None:
            share_settings = replace(share_settings, calibration=str(calibration))
        has_narratives = self.has_table("narrative_scores")
        method = {"raw": "cc"}.get(shares, shares)
        estimates = run_estimates(self, method, share_settings) if has_narratives else None
        result = drift_tables(
            self.table("documents"),
            self.table("passages"),
            self.table("assignments"),
            settings,
            languages=self.config.languages,
            narrative_scores=self.table("narrative_scores") if has_narratives else None,
            narrative_ids=list(self.record.catalog.ids) or None,
            share_estimates=estimates,
            n_bootstrap=share_settings.n_bootstrap,
        )
        if save:
            replace_tables(self.path, result.tables, lambda r: replace(r, drift=result.info()))
            self._stamp = -1
            self._refresh()
        return result

    def _stored_table(self, name: str, of: Of) -> pl.DataFrame:
        _check_of(of)
        return self.table(f"narrative_{name}" if of == "narratives" else name)

    def _drift_table(self, name: str, period: str | None, by: str | None, of: Of) -> pl.DataFrame:
        """A stored drift table, or one recomputed in memory for another period or outlets."""
        _check_of(of)
        if by not in (None, "source"):
            raise InputError(f"by must be None or 'source', got {by!r}", field="by")
        self._refresh()
        stored = self.record.drift
        same_period = period is None or period in (stored.period, stored.settings.period)
        has_outlets = stored.settings.by_source or by is None
        if same_period and has_outlets:
            table = self._stored_table(name, of)
        else:
            key = (period or stored.period, by == "source" or stored.settings.by_source)
            if key not in self._recomputed:
                self._recomputed[key] = self.compute_drift(period=key[0], by_source=key[1])
            tables = self._recomputed[key].tables
            table = tables[f"narrative_{name}" if of == "narratives" else name]
        sources = pl.col("source") == _ALL_SOURCES
        return table.filter(sources).drop("source") if by is None else table.filter(~sources)

    def _check_id(self, value: int | str, of: Of) -> None:
        """An unknown topic or narrative id is an InputError listing the known ones."""
        key = _KEYS[of]
        table = self.table("topics" if of == "topics" else "narratives")
        known = table[key].to_list()
        if isinstance(value, bool) or not isinstance(value, int | str) or value not in known:
            shown = ", ".join(str(k) for k in known[:20])
            raise InputError(
                f"no {of[:-1]} {value!r} in run {self.name} (known: {shown})", field=key
            )


def _check_of(of: str) -> None:
    if of not in _KEYS:
        raise InputError(f"of must be 'narratives' or 'topics', got {of!r}", field="of")


def _labelled(run: Run, table: pl.DataFrame, of: Of) -> pl.DataFrame:
    """``table`` with a ``label`` column after its id (the narrative's German label, the
    topic's label)."""
    key = _KEYS[of]
    if of == "narratives":
        labels = run.table("narratives").select(key, pl.col("label_de").alias("label"))
    else:
        labels = run.table("topics").select(key, "label")
    joined = table.join(labels, on=key, how="left", maintain_order="left")
    position = joined.columns.index(key) + 1
    order = [c for c in joined.columns if c != "label"]
    return joined.select(*order[:position], "label", *order[position:])
