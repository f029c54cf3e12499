"""Narrative shares an analyst can trust: each share corrected for the detector's measured errors.

Between the detector and the drift tables: ``narrative_rates`` measures each narrative's errors
on labelled items (narratives.shares.rates), ``corrected_prevalence`` estimates every period x
outlet share with them (narratives.shares.estimate) and adds the columns ``share_raw`` (counted
tags), ``share`` (corrected), ``ci_low``/``ci_high`` (bootstrap over documents and labelled items
together), ``method`` and ``n_calibration`` to the narrative prevalence table. Where a narrative
has fewer than MIN_POSITIVES labelled positives or MIN_NEGATIVES negatives, its shares are
counted (method ``cc``, Wilson intervals) and the table says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from narratives.drift.periods import ALL_SOURCES, period_start
from narratives.drift.stats import wilson_interval
from narratives.errors import InputError
from narratives.schemas import NARRATIVES, UNKNOWN_SOURCE
from narratives.shares.estimate import DEFAULT_METHOD, METHODS, estimate
from narratives.shares.rates import MIN_NEGATIVES, MIN_POSITIVES, ErrorRates, Items, error_rates

if TYPE_CHECKING:
    from narratives.catalog import Catalog
    from narratives.config import ShareSettings
    from narratives.runs import Run

__all__ = [
    "DEFAULT_METHOD",
    "METHODS",
    "MIN_NEGATIVES",
    "MIN_POSITIVES",
    "ErrorRates",
    "Items",
    "ShareEstimate",
    "corrected_prevalence",
    "document_evidence",
    "error_rates",
    "estimates_table",
    "item_shares",
    "narrative_rates",
    "read_calibration",
    "run_estimates",
    "sample_items",
    "share_estimates",
    "stored_estimates",
]


@dataclass(frozen=True)
class ShareEstimate:
    """How one narrative's shares were estimated."""

    narrative_id: str
    method: str
    rates: ErrorRates

    @property
    def n_calibration(self) -> int:
        return self.rates.n_positives + self.rates.n_negatives


def share_estimates(
    catalog_items: dict[str, Items],
    scores: pl.DataFrame,
    catalog: Catalog,
    settings: ShareSettings,
    *,
    seed: int = 0,
) -> dict[str, ShareEstimate]:
    """Each narrative's method and error rates for a run: from the labelled sample named in
    ``settings.calibration`` where it has enough items, else from the catalog and feedback."""
    sample = None
    if settings.calibration:
        sample = sample_items(
            scores,
            read_calibration(settings, catalog),
            catalog.ids,
            settings.calibration_unit,
        )
    return narrative_rates(catalog_items, sample, method=settings.method, seed=seed)


def read_calibration(settings: ShareSettings, catalog: Catalog) -> pl.DataFrame:
    """The labelled sample (doc_id, labels as narrative ids) of ``settings.calibration``."""
    from narratives.agreement import catalog_label_sets
    from narratives.labels import load_label_sets

    path = Path(settings.calibration)
    sets = load_label_sets(
        path,
        id_column=settings.calibration_id_column,
        label_column=settings.calibration_column,
        keep=("sample",),
    )
    translated, _ = catalog_label_sets(sets.select("doc_id", "labels"), catalog)
    if translated is None:
        names = sorted({label for labels in sets["labels"].to_list() for label in labels})
        raise InputError(
            f"the labels must name catalog narratives (by id or label); found {names[:5]}",
            path=path,
            field=settings.calibration_column,
        )
    return translated.with_columns(sets["sample"])


def stored_estimates(
    narratives: pl.DataFrame, method: str | None = None
) -> dict[str, ShareEstimate]:
    """The estimates a run stored in its ``narratives`` table (``method`` overrides theirs,
    falling back to cc where the rates cannot carry it)."""
    out = {}
    for row in narratives.iter_rows(named=True):
        rates = ErrorRates(
            n_positives=row["n_calibration_positives"],
            n_negatives=row["n_calibration_negatives"],
            tpr=row["tpr"],
            fpr=row["fpr"],
            mean_posterior_positive=row["mean_posterior_positive"],
            mean_posterior_negative=row["mean_posterior_negative"],
            posterior_coef=(
                row["posterior_query"],
                row["posterior_score"],
                row["posterior_intercept"],
            ),
            source=row["calibration_source"],
        )
        chosen = method or row["share_method"]
        usable = chosen == "cc" or (rates.enough and _usable(rates, chosen))
        out[row["narrative_id"]] = ShareEstimate(
            row["narrative_id"], chosen if usable else "cc", rates
        )
    return out


def estimates_table(estimates: dict[str, ShareEstimate]) -> pl.DataFrame:
    """The columns the ``narratives`` table keeps of each narrative's share estimate."""
    rows = [
        {
            "narrative_id": e.narrative_id,
            "share_method": e.method,
            "calibration_source": e.rates.source,
            "n_calibration_positives": e.rates.n_positives,
            "n_calibration_negatives": e.rates.n_negatives,
            "tpr": e.rates.tpr,
            "fpr": e.rates.fpr,
            "mean_posterior_positive": e.rates.mean_posterior_positive,
            "mean_posterior_negative": e.rates.mean_posterior_negative,
            "posterior_query": e.rates.posterior_coef[0],
            "posterior_score": e.rates.posterior_coef[1],
            "posterior_intercept": e.rates.posterior_coef[2],
        }
        for e in estimates.values()
    ]
    return pl.DataFrame(rows, schema=ESTIMATE_COLUMNS)


ESTIMATE_COLUMNS = {
    name: dtype
    for name, dtype in NARRATIVES.items()
    if name == "narrative_id"
    or list(NARRATIVES).index(name) >= list(NARRATIVES).index("share_method")
}
"""The columns of the ``narratives`` table that describe a narrative's share estimate."""


def document_evidence(scores: pl.DataFrame) -> pl.DataFrame:
    """Per document and narrative: tagged (a passage carries it), query (a passage matched it)
    and score (the highest head score of its passages)."""
    return scores.group_by("doc_id", "narrative_id").agg(
        pl.col("tagged").any(), pl.col("query").any(), pl.col("score").max()
    )


def sample_items(
    scores: pl.DataFrame, gold: pl.DataFrame, ids: list[str], unit: str = "document"
) -> dict[str, Items]:
    """Labelled items of the run itself (``gold``: doc_id or passage_id in column ``doc_id``,
    ``labels`` a list of narrative ids), with what the fitted detector says of them.

    Where ``gold`` has a ``sample`` column with "random" rows (a sample drawn at random besides
    items drawn by keywords, as in narratives_de_dev), only those serve as negatives: items drawn
    by keywords are rich in near misses and would overstate the false-positive rate."""
    key = "doc_id" if unit == "document" else "passage_id"
    evidence = (
        document_evidence(scores)
        if unit == "document"
        else scores.select("passage_id", "narrative_id", "tagged", "query", "score")
    )
    labelled = gold.rename({"doc_id": key})
    random_negatives = "sample" in labelled.columns and bool((labelled["sample"] == "random").any())
    out = {}
    for narrative in ids:
        rows = labelled.join(
            evidence.filter(pl.col("narrative_id") == narrative), on=key, how="inner"
        )
        if random_negatives:
            rows = rows.filter(
                (pl.col("sample") == "random") | pl.col("labels").list.contains(narrative)
            )
        out[narrative] = Items(
            carries=rows["labels"].list.contains(narrative).to_numpy(),
            tagged=rows["tagged"].to_numpy(),
            query=rows["query"].to_numpy(),
            score=rows["score"].to_numpy().astype(float),
            source="sample",
        )
    return out


def narrative_rates(
    catalog_items: dict[str, Items],
    sample: dict[str, Items] | None = None,
    *,
    method: str = DEFAULT_METHOD,
    seed: int = 0,
) -> dict[str, ShareEstimate]:
    """Each narrative's error rates and the method its shares get: the labelled sample of the
    run when it has enough items (it is closest to the corpus), else the catalog and feedback
    items; ``cc`` where neither has enough, or where ``method`` is ``cc``."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r} (choose one of {', '.join(METHODS)})")
    out = {}
    for narrative, items in catalog_items.items():
        chosen = error_rates(items, seed)
        if sample and narrative in sample:
            from_sample = error_rates(sample[narrative], seed)
            if from_sample.enough:
                chosen = from_sample
        used = method if chosen.enough and _usable(chosen, method) else "cc"
        out[narrative] = ShareEstimate(narrative, used, chosen)
    return out


def _usable(rates: ErrorRates, method: str) -> bool:
    """Whether the rates can correct: the tags (or posteriors) must tell positives apart."""
    if method in ("acc",):
        return rates.tpr - rates.fpr > 0.05
    if method in ("pacc",):
        return rates.mean_posterior_positive - rates.mean_posterior_negative > 0.05
    return True


def corrected_prevalence(
    prevalence: pl.DataFrame,
    documents: pl.DataFrame,
    scores: pl.DataFrame,
    estimates: dict[str, ShareEstimate],
    *,
    period: str,
    by_source: bool = True,
    n_bootstrap: int = 200,
    seed: int = 0,
) -> pl.DataFrame:
    """The narrative prevalence table (counted) with every share corrected: share_raw, share,
    ci_low, ci_high, method, n_calibration, se_sampling and se_calibration."""
    cells = _cells(documents, scores, estimates, period, by_source)
    frames = []
    for narrative, chosen in estimates.items():
        part = cells.filter(pl.col("narrative_id") == narrative)
        result = estimate(
            chosen.method,
            part["n"].to_numpy(),
            part["k"].to_numpy(),
            part["p_sum"].to_numpy(),
            part["p_sq_sum"].to_numpy(),
            chosen.rates,
            n_bootstrap=n_bootstrap,
            seed=seed,
        )
        frames.append(
            part.select("period", "source", "narrative_id").with_columns(
                *(pl.Series(name, values) for name, values in result.items()),
                pl.lit(chosen.method).alias("method"),
                pl.lit(chosen.n_calibration, dtype=pl.UInt32).alias("n_calibration"),
            )
        )
    corrected = pl.concat(frames) if frames else pl.DataFrame()
    joined = (
        prevalence.rename({"share": "share_raw"})
        .drop("ci_low", "ci_high")
        .join(
            corrected.drop_nans().rename({"ci_low": "_low", "ci_high": "_high"}),
            on=["period", "source", "narrative_id"],
            how="left",
        )
    )
    return _with_counted_intervals(joined, estimates)


def _cells(
    documents: pl.DataFrame,
    scores: pl.DataFrame,
    estimates: dict[str, ShareEstimate],
    period: str,
    by_source: bool,
) -> pl.DataFrame:
    """(period, source view, narrative): documents, tagged ones, sums of posteriors."""
    evidence = document_evidence(scores)
    posteriors = []
    for narrative, chosen in estimates.items():
        part = evidence.filter(pl.col("narrative_id") == narrative)
        p = chosen.rates.posterior(part["query"].to_numpy(), part["score"].to_numpy())
        posteriors.append(part.with_columns(pl.Series("p", p, dtype=pl.Float64)))
    dated = documents.filter(pl.col("date").is_not_null()).select(
        "doc_id", pl.col("source").fill_null(UNKNOWN_SOURCE), period_start(period)
    )
    sums = ("n", "k", "p_sum", "p_sq_sum")
    by_outlet = (
        pl.concat(posteriors)
        .join(dated, on="doc_id")
        .group_by("period", "source", "narrative_id")
        .agg(
            pl.len().cast(pl.UInt32).alias("n"),
            pl.col("tagged").sum().cast(pl.UInt32).alias("k"),
            pl.col("p").sum().alias("p_sum"),
            (pl.col("p") ** 2).sum().alias("p_sq_sum"),
        )
    )
    # Every cell is a sum, so the all-outlets view adds up the outlets' cells instead of
    # grouping a second copy of every document (a million documents x 8 narratives).
    everywhere = (
        by_outlet.group_by("period", "narrative_id")
        .agg(pl.col("n", "k").sum().cast(pl.UInt32), pl.col("p_sum", "p_sq_sum").sum())
        .with_columns(pl.lit(ALL_SOURCES).alias("source"))
        .select("period", "source", "narrative_id", *sums)
    )
    views = [everywhere, by_outlet.select(everywhere.columns)] if by_source else [everywhere]
    return pl.concat(views).sort("narrative_id", "source", "period")


def _with_counted_intervals(
    frame: pl.DataFrame, estimates: dict[str, ShareEstimate]
) -> pl.DataFrame:
    """Counted narratives (method cc) keep the Wilson interval of their counts and no standard
    errors (their changes are tested on the counts); empty periods keep null shares; the method
    and calibration count are filled on every row."""
    low, high = wilson_interval(frame["n_docs"].to_numpy(), frame["n_period_docs"].to_numpy())
    methods = {n: e.method for n, e in estimates.items()}
    counts = {n: e.n_calibration for n, e in estimates.items()}
    counted = pl.col("method") == "cc"
    return frame.with_columns(
        pl.col("narrative_id").replace_strict(methods, default="cc").alias("method"),
        pl.col("narrative_id")
        .replace_strict(counts, default=0, return_dtype=pl.UInt32)
        .alias("n_calibration"),
        pl.Series("_wilson_low", low).fill_nan(None),
        pl.Series("_wilson_high", high).fill_nan(None),
    ).with_columns(
        pl.when(counted).then(pl.col("share_raw")).otherwise(pl.col("share")).alias("share"),
        pl.when(counted).then(pl.col("_wilson_low")).otherwise(pl.col("_low")).alias("ci_low"),
        pl.when(counted).then(pl.col("_wilson_high")).otherwise(pl.col("_high")).alias("ci_high"),
        *(
            pl.when(counted).then(None).otherwise(pl.col(c)).alias(c)
            for c in ("se_sampling", "se_calibration")
        ),
    )


def run_estimates(
    run: Run, method: str | None = None, settings: ShareSettings | None = None
) -> dict[str, ShareEstimate] | None:
    """The share estimates of a stored run, for recomputing its drift tables: the rates it
    stored, re-measured on a labelled sample where ``settings`` names one (and it has enough
    items: a narrative counted for want of material is then corrected with the settings'
    method); ``method`` overrides the method. None for a run without narrative tables."""
    if not run.has_table("narratives") or "tpr" not in run.table("narratives").columns:
        return None
    estimates = stored_estimates(run.table("narratives"), method)
    if settings is None or not settings.calibration:
        return estimates
    sample = sample_items(
        run.table("narrative_scores"),
        read_calibration(settings, run.catalog()),
        list(estimates),
        settings.calibration_unit,
    )
    for narrative, items in sample.items():
        rates = error_rates(items, run.config.seed)
        if rates.enough:
            chosen = method or settings.method  # stored cc may have meant thin material only
            use = chosen if chosen == "cc" or _usable(rates, chosen) else "cc"
            estimates[narrative] = ShareEstimate(narrative, use, rates)
    return estimates


def item_shares(
    evidence: pl.DataFrame,
    estimates: dict[str, ShareEstimate],
    *,
    n_bootstrap: int = 10,
    seed: int = 0,
) -> pl.DataFrame:
    """Counted and corrected share of each narrative among some items (``evidence``: one row per
    item and narrative with tagged, query, score): a labelled sample, to compare with the share
    its labels give (narratives evaluate), or a whole run (``Run.narratives()``), with the
    bootstrap interval of the corrected share."""
    rows = []
    for narrative, chosen in estimates.items():
        part = evidence.filter(pl.col("narrative_id") == narrative)
        if part.is_empty():
            continue
        p = chosen.rates.posterior(part["query"].to_numpy(), part["score"].to_numpy())
        result = estimate(
            chosen.method,
            np.array([part.height]),
            np.array([part["tagged"].sum()]),
            np.array([p.sum()]),
            np.array([(p**2).sum()]),
            chosen.rates,
            n_bootstrap=n_bootstrap,
            seed=seed,
        )
        rows.append(
            {
                "narrative_id": narrative,
                "n_items": part.height,
                "n_tagged": int(part["tagged"].sum()),
                "share_raw": float(part["tagged"].mean()),
                "share": float(result["share"][0]),
                "ci_low": float(result["ci_low"][0]),
                "ci_high": float(result["ci_high"][0]),
                "share_method": chosen.method,
            }
        )
    return pl.DataFrame(rows, schema=ITEM_SHARES)


ITEM_SHARES = {
    "narrative_id": pl.String,
    "n_items": pl.UInt32,
    "n_tagged": pl.UInt32,
    "share_raw": pl.Float64,
    "share": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "share_method": pl.String,
}
"""The columns of ``item_shares``."""
