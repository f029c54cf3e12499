"""How a run agrees with gold labels, in the two ways labels come.

- Labels that name catalog narratives (by id or by label, one or several per document or
  passage): the detector's narratives are compared item by item, with precision, recall and F1
  per narrative, micro and macro F1, F1-samples and the share of items carrying a narrative. No
  mapping is involved.
- Other labels (a human classification of the documents): a partition is compared with a
  partition. NMI, ARI and purity of the main topics and of the main narratives, and P/R/F1 of
  each narrative mapped to the label most of its documents carry (or as ``--map`` says).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from narratives.catalog import Catalog
from narratives.errors import InputError
from narratives.labels import corpus_labels_source, load_label_sets, load_labels
from narratives.metrics import (
    ari,
    label_prf,
    main_narratives,
    main_topics,
    majority_mapping,
    multilabel_scores,
    nmi,
    purity,
)
from narratives.runs import Run
from narratives.schemas import EVALUATION_NARRATIVES

NO_NARRATIVE = "(none)"
"""The stand-in 'narrative' of documents that carry no catalogued one."""

UNIT_NOTE = (
    "per document: a document's topic is its main topic (the topic of most of its passages; "
    "ties go to a real topic before the outliers, then to the lower id), its narrative the "
    "catalogued narrative most of its passages carry; outliers count as one cluster; documents "
    "without a gold label are left out"
)
UNITS = ("document", "passage")


@dataclass(frozen=True)
class GoldLabels:
    """Gold labels and where they came from; ``sets`` holds (id, labels list) when the labels
    name catalog narratives (then translated to narrative ids), else ``single`` (doc_id, label)."""

    source: str
    column: str
    single: pl.DataFrame | None = None
    sets: pl.DataFrame | None = None
    matched_by: str = ""


def read_gold(
    run: Run,
    labels: str | Path | pl.DataFrame | None,
    label_column: str,
    id_column: str,
    from_corpus: bool,
) -> GoldLabels | None:
    """The gold labels of an evaluation (None without any): a labels file, a given frame, or
    the run's corpus when it is a tabular file with ``label_column``."""
    catalog = run.catalog()
    if isinstance(labels, pl.DataFrame):
        return _classified(labels, "given table", label_column, catalog)
    corpus = corpus_labels_source(run.record)
    if labels is not None:
        path = Path(labels)
        same = corpus is not None and path.resolve() == corpus[0].resolve()
        frame = load_label_sets(
            path, id_column=id_column, label_column=label_column, generate_ids=same
        )
        return _classified_file(frame, path, id_column, label_column, same, catalog, str(path))
    if corpus is None or not from_corpus:
        return None
    try:
        frame = load_label_sets(
            corpus[0], id_column=corpus[1], label_column=label_column, generate_ids=True
        )
    except InputError as exc:
        if exc.field == label_column and exc.row is None:
            return None
        raise
    source = f"{corpus[0]} (the run's corpus)"
    return _classified_file(frame, corpus[0], corpus[1], label_column, True, catalog, source)


def _classified_file(
    sets: pl.DataFrame,
    path: Path,
    id_column: str,
    label_column: str,
    generate_ids: bool,
    catalog: Catalog,
    source: str,
) -> GoldLabels:
    translated, matched_by = catalog_label_sets(sets, catalog)
    if translated is not None:
        return GoldLabels(source, label_column, sets=translated, matched_by=matched_by)
    single = load_labels(
        path, id_column=id_column, label_column=label_column, generate_ids=generate_ids
    )
    return GoldLabels(source, label_column, single=single)


def _classified(frame: pl.DataFrame, source: str, column: str, catalog: Catalog) -> GoldLabels:
    if "labels" in frame.columns:
        translated, matched_by = catalog_label_sets(frame.select("doc_id", "labels"), catalog)
        if translated is None:
            raise InputError("the labels name no catalog narrative", field="labels")
        return GoldLabels(source, column, sets=translated, matched_by=matched_by)
    return GoldLabels(source, column, single=frame.select("doc_id", "label"))


def catalog_label_sets(sets: pl.DataFrame, catalog: Catalog) -> tuple[pl.DataFrame | None, str]:
    """``sets`` (doc_id, labels) with every label translated to a narrative id, when every label
    names a catalog narrative by its id or its German or English label (case-insensitive);
    (None, "") when some label names none."""
    names: dict[str, str] = {}
    for narrative in catalog.narratives:
        for name in (narrative.id, narrative.label_de, narrative.label_en):
            names.setdefault(name.casefold(), narrative.id)
    used = {label for labels in sets["labels"].to_list() for label in labels}
    if not used or any(label.casefold() not in names for label in used):
        return None, ""
    by_id = all(label in catalog.ids for label in used)
    translated = sets.with_columns(
        pl.col("labels").list.eval(
            pl.element()
            .str.to_lowercase()
            .replace_strict({k.lower(): v for k, v in names.items()}, default=None)
        )
    )
    return translated, "catalog ids" if by_id else "catalog labels"


def on_kept_documents(gold: pl.DataFrame, run: Run) -> pl.DataFrame:
    """Gold narrative sets on the run's documents, through the run's ``repeats`` table (see
    ``with_repeats``)."""
    if not run.has_table("repeats"):
        return gold
    return with_repeats(gold, dict(run.table("repeats").iter_rows()))


def with_repeats(gold: pl.DataFrame, repeats: Mapping[str, str]) -> pl.DataFrame:
    """Gold narrative sets (doc_id, labels, ...) where a labelled row the corpus loader dropped
    as a repeat (the same text in the same outlet: ``repeats`` maps it to the document kept) is
    the document it repeats, and carries the union of their labels."""
    if not repeats:
        return gold
    moved = gold.with_columns(pl.col("doc_id").replace(repeats))
    return moved.group_by("doc_id", maintain_order=True).agg(
        pl.col("labels")
        .list.explode(keep_nulls=False, empty_as_null=False)
        .unique(maintain_order=True),
        pl.exclude("doc_id", "labels").first(),
    )


def narrative_agreement(
    run: Run, gold: pl.DataFrame, unit: str = "document"
) -> tuple[dict[str, Any], pl.DataFrame]:
    """Multi-label agreement of the run's narratives with gold narrative sets (id, labels), per
    document (a document carries a narrative when one of its passages does) or per passage."""
    if unit not in UNITS:
        raise InputError(f"must be one of {', '.join(UNITS)}, got {unit!r}", field="label-unit")
    key = "doc_id" if unit == "document" else "passage_id"
    if unit == "document":
        gold = on_kept_documents(gold, run)
    columns = [key, "narrative_id", "tagged", "query", "score"]
    scores = run.table("narrative_scores", columns=columns)
    items = scores.select(pl.col(key).unique())
    labelled = gold.rename({"doc_id": "item"}).join(
        items.rename({key: "item"}), on="item", how="inner"
    )
    if labelled.height == 0:
        example = ", ".join(repr(e) for e in items[key].head(3).to_list())
        raise InputError(
            f"none of the {gold.height} labelled ids is a {unit} of the run (its ids look like "
            f"{example}); check --id-column and --label-unit",
            field="doc_id",
        )
    carried = (
        scores.filter(pl.col("tagged"))
        .group_by(key)
        .agg(pl.col("narrative_id").unique().alias("predicted"))
        .rename({key: "item"})
    )
    joined = labelled.join(carried, on="item", how="left").with_columns(
        pl.col("predicted").fill_null(pl.lit([], dtype=pl.List(pl.String)))
    )
    ids = list(run.record.catalog.ids) or run.catalog().ids
    table, summary = multilabel_scores(
        joined["labels"].to_list(), joined["predicted"].to_list(), ids
    )
    table = table.join(_share_errors(run, scores, labelled, key, ids), on="narrative_id")
    record = {
        "unit": unit,
        "n_unmatched_ids": gold.height - labelled.height,
        "per_narrative": {
            row["narrative_id"]: {
                k: row[k]
                for k in ("precision", "recall", "f1", "n_gold", "abs_error_raw", "abs_error")
            }
            for row in table.iter_rows(named=True)
        },
        "mean_abs_error_raw": float(table["abs_error_raw"].mean()),
        "mean_abs_error": float(table["abs_error"].mean()),
        **summary,
    }
    return record, table.select(list(EVALUATION_NARRATIVES)).cast(dict(EVALUATION_NARRATIVES))


def _share_errors(
    run: Run, scores: pl.DataFrame, labelled: pl.DataFrame, key: str, ids: list[str]
) -> pl.DataFrame:
    """Per narrative: its share among the labelled items by the labels, as counted and as the
    run's share estimates correct it, and the absolute errors of both."""
    from narratives.shares import document_evidence, item_shares, run_estimates

    evidence = document_evidence(scores) if key == "doc_id" else scores
    evidence = evidence.rename({key: "item"}).join(labelled.select("item"), on="item")
    estimates = run_estimates(run) or {}
    shares = item_shares(evidence, estimates).select(
        "narrative_id", "share_raw", "share", "share_method"
    )
    gold = pl.DataFrame(
        {
            "narrative_id": ids,
            "share_gold": [float(labelled["labels"].list.contains(n).mean()) for n in ids],
        }
    )
    return gold.join(shares, on="narrative_id", how="left").with_columns(
        (pl.col("share_raw") - pl.col("share_gold")).abs().alias("abs_error_raw"),
        (pl.col("share") - pl.col("share_gold")).abs().alias("abs_error"),
    )


def label_agreement(
    assignments: pl.DataFrame,
    document_narratives: pl.DataFrame,
    gold: pl.DataFrame,
    mapping: Mapping[str, str] | None = None,
    known_narratives: Collection[str] | None = None,
) -> tuple[dict[str, Any], pl.DataFrame]:
    """Agreement of topics and catalogued narratives with gold labels that are not catalog
    narratives (one label per document): partitions compared.

    ``assignments`` (passage_id, doc_id, topic_id) give each document its main topic,
    ``document_narratives`` (doc_id, narrative_id, n_passages, score) its main narrative,
    ``gold`` (doc_id, label) the labels. Returns NMI, ARI and purity of the main topics and of the
    main narratives (documents without one count as NO_NARRATIVE), and P/R/F1 per label of the
    narratives mapped to labels (``mapping``, or each narrative to the label most of its
    documents carry).
    """
    main = main_topics(assignments).join(
        main_narratives(document_narratives), on="doc_id", how="left"
    )
    labelled = gold.filter(pl.col("label").is_not_null()).select("doc_id", "label")
    joined = main.join(labelled, on="doc_id", how="inner")
    if joined.height == 0:
        example = ", ".join(repr(e) for e in main["doc_id"].head(3).to_list())
        raise InputError(
            f"none of the {labelled.height} labelled ids is a document of the run (its ids look "
            f"like {example}); check --id-column",
            field="doc_id",
        )
    truth = joined["label"].to_list()
    narrative_pred = joined["narrative_id"].to_list()
    if mapping is None:
        chosen = {k: v[0] for k, v in majority_mapping(narrative_pred, truth).items()}
        rule = "each catalogued narrative to the gold label most of its documents carry"
    else:
        chosen = _checked_mapping(mapping, known_narratives, set(truth))
        rule = "given by the user"
    prf = label_prf(narrative_pred, truth, chosen)
    record = {
        "unit": UNIT_NOTE,
        "n_documents": joined.height,
        "n_labels": len(set(truth)),
        "n_unlabelled_documents": main.height - joined.height,
        "topics": _agreement(truth, joined["topic_id"].to_list()),
        "narratives": _agreement(truth, [n or NO_NARRATIVE for n in narrative_pred]),
        "narrative_coverage": float(np.mean([n is not None for n in narrative_pred])),
        "mapping": {
            narrative: {"label": label, "share_of_its_documents": _share(joined, narrative, label)}
            for narrative, label in sorted(chosen.items())
        },
        "mapping_rule": rule,
        "macro_f1": _finite_mean(prf["f1"]),
    }
    return record, prf


def _finite_mean(values: pl.Series) -> float | None:
    finite = values.drop_nulls().drop_nans()
    return float(finite.mean()) if finite.len() else None


def _share(joined: pl.DataFrame, narrative: str, label: str) -> float:
    """Share of the documents carrying ``narrative`` whose gold label is ``label``."""
    carrying = joined.filter(pl.col("narrative_id") == narrative)
    return round(float((carrying["label"] == label).mean() or 0.0), 4)


def _agreement(truth: Sequence, predicted: Sequence) -> dict[str, float]:
    return {
        "nmi": nmi(truth, predicted),
        "ari": ari(truth, predicted),
        "purity": purity(truth, predicted),
    }


def _checked_mapping(
    mapping: Mapping[str, str], known: Collection[str] | None, labels: set[str]
) -> dict[str, str]:
    for narrative, label in mapping.items():
        if known and narrative not in known:
            raise InputError(
                f"unknown narrative id '{narrative}' (the run's catalog has: "
                f"{', '.join(sorted(known))})",
                field="map",
            )
        if label not in labels:
            raise InputError(f"label {label!r} is not among the gold labels", field="map")
    return dict(mapping)
