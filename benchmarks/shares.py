"""Narrative shares, measured: the artificial-prevalence protocol (APP) on narratives_de_dev.

For every narrative and every target prevalence from 0 to 30%, samples of held-out labelled
headlines are drawn with exactly that share of positives (QuaPy's APP, with replacement), and
each method estimates the share from the detector's tags and scores; the mean absolute error
over targets and repetitions is reported per method and narrative.

The detector is fitted on the whole headlines_de corpus (as an analyst's run would be) with a
catalog, and scored on the held-out fold of the dev set. Two-fold: the fold a catalog's queries
were tuned on is never the one it is scored on (``--catalog-a`` was tuned without fold A, etc.;
by default the catalogs of benchmarks/folds.py; the shipped catalog saw both folds). The error
rates come from:

- ``catalog``: the catalog's examples, counter-examples and feedback, scored by cross-validation
  (what a run without a labelled sample uses);
- ``other fold``: the other dev fold as a labelled sample of the corpus (``--calibration``).
  The fold catalog's queries were tuned on that fold, so its rates are in-sample (too good):
  shown to make that visible, not as a figure to trust;
- ``unseen``: a labelled sample no catalog was ever tuned on (the never-read fresh headlines,
  parts 2 and 4 of benchmarks/labels, one reader each by the same codebook): what an analyst's
  own ``--calibration`` sample is;
- ``run``: what a run with the unseen sample does: the sample where it has enough items (10
  positives, 30 negatives), else the catalog;
- ``oracle``: not a method but a bound: the rates of both held-out folds pooled, test items
  included, as each fold's own catalog tags them. The APP resamples a fold's few positives, so
  its true-positive rate is that of 3 to 9 items and swings between the folds; no labelled
  sample, however large, can give rates closer to both folds than this pool.

Methods: cc (counted tags), acc, pcc, pacc (narratives.shares), and QuaPy's ACC, PACC and EMQ
(Saerens et al. 2002) on the same predictions, as the reference implementation.

    python -m benchmarks.shares --out benchmarks/results/shares.json
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.folds import UNSEEN_CATALOG, fold_of
from benchmarks.narratives import DEV, FRESH, FRESH2, HEADLINES, Corpus, on_kept
from benchmarks.report import write_report
from narratives.catalog import load_catalog
from narratives.detect import NarrativeDetector
from narratives.labels import load_label_sets
from narratives.shares import DEFAULT_METHOD, error_rates
from narratives.shares.estimate import estimate
from narratives.shares.rates import Items

TARGETS = np.linspace(0.0, 0.3, 7)
UNSEEN_SAMPLE = ((FRESH, "2"), (FRESH2, "4"))
"""Labelled headlines (file, part) that were never read while any catalog was tuned."""
OURS = ("cc", "acc", "pcc", "pacc")


def labelled_items(corpus: Corpus) -> pl.DataFrame:
    """The labelled headlines: dev items (fold A or B, the fold of their own id also where they
    are scored as the document they repeat) and the unseen sample (fold "unseen"), less any
    unseen item that is, or repeats, a dev item."""
    dev = load_label_sets(DEV, label_column="narratives", keep=("sample",)).with_columns(
        pl.col("doc_id").map_elements(fold_of, return_dtype=pl.String).alias("fold")
    )
    dev = on_kept(dev, corpus)
    unseen = [
        on_kept(load_label_sets(path, label_column="narratives", keep=("sample", "part")), corpus)
        .filter(pl.col("part") == part)
        .drop("part")
        for path, part in UNSEEN_SAMPLE
    ]
    unseen = (
        pl.concat(unseen)
        .with_columns(pl.lit("unseen").alias("fold"))
        .filter(~pl.col("doc_id").is_in(dev["doc_id"].implode()))
    )
    return pl.concat([dev.select(unseen.columns), unseen])


def scored_items(corpus: Corpus, detector: NarrativeDetector, gold: pl.DataFrame) -> pl.DataFrame:
    """Per labelled item and narrative: carries (gold), tagged, query, score, fold, sample."""
    scores = detector.scores_table(corpus.passages)
    evidence = scores.group_by("doc_id", "narrative_id").agg(
        pl.col("tagged").any(), pl.col("query").any(), pl.col("score").max()
    )
    joined = evidence.join(gold, on="doc_id").sort("doc_id", "narrative_id")  # a fixed order
    return joined.with_columns(
        pl.col("labels").list.contains(pl.col("narrative_id")).alias("carries")
    )


def items_of(frame: pl.DataFrame, random_negatives: bool) -> Items:
    if random_negatives:
        frame = frame.filter(pl.col("carries") | (pl.col("sample") == "random"))
    return Items(
        frame["carries"].to_numpy(),
        frame["tagged"].to_numpy(),
        frame["query"].to_numpy(),
        frame["score"].to_numpy().astype(float),
        "sample",
    )


def app_errors(
    test: Items, rates, calibration: Items, rng, *, size: int, repeats: int
) -> dict[str, float]:
    """Mean absolute share error of each method over the APP targets."""
    pos, neg = np.flatnonzero(test.carries), np.flatnonzero(~test.carries)
    errors: dict[str, list[float]] = {m: [] for m in (*OURS, "quapy-acc", "quapy-pacc", "emq")}
    if not len(pos) or not len(neg):
        return {}
    posterior = rates.posterior(test.query, test.score)
    quapy = _quapy(rates, calibration)
    for target in TARGETS:
        for _ in range(repeats):
            k = round(target * size)
            idx = np.r_[rng.choice(pos, k), rng.choice(neg, size - k)]
            p = posterior[idx]
            for method in OURS:
                got = estimate(
                    method,
                    np.array([size]),
                    np.array([test.tagged[idx].sum()]),
                    np.array([p.sum()]),
                    np.array([(p**2).sum()]),
                    rates,
                    n_bootstrap=10,
                )["share"][0]
                errors[method].append(abs(got - target))
            for name, (quantifier, hard) in quapy.items():
                x = test.tagged[idx].astype(int) if hard else np.column_stack([1 - p, p])
                errors[name].append(abs(float(quantifier.aggregate(x)[1]) - target))
    return {m: float(np.mean(v)) for m, v in errors.items() if v}


def _quapy(rates, calibration: Items) -> dict:
    """QuaPy's ACC, PACC and EMQ fitted on the calibration items' predictions."""
    from quapy.method.aggregative import ACC, EMQ, PACC
    from sklearn.linear_model import LogisticRegression

    dummy = LogisticRegression().fit([[0], [1]], [0, 1])
    y = calibration.carries.astype(int)
    post = rates.posterior(calibration.query, calibration.score)
    probs = np.column_stack([1 - post, post])
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        acc = ACC(dummy, fit_classifier=False)
        acc.aggregation_fit(calibration.tagged.astype(int), y)
        pacc = PACC(dummy, fit_classifier=False)
        pacc.aggregation_fit(probs, y)
        emq = EMQ(dummy, fit_classifier=False)
        emq.aggregation_fit(probs, y)
        emq.train_prevalence = np.array([1 - y.mean(), y.mean()])
    out["quapy-acc"] = (acc, True)
    out["quapy-pacc"] = (pacc, False)
    out["emq"] = (emq, False)
    return out


def fitted_fold(
    corpus: Corpus, gold: pl.DataFrame, held_out: str, catalog_path: Path | None
) -> tuple[NarrativeDetector, pl.DataFrame]:
    """The detector with the catalog that never saw ``held_out``, and every labelled item it
    scores."""
    catalog = load_catalog(catalog_path)
    detector = NarrativeDetector(catalog).fit(corpus.passages, corpus.embeddings, corpus.encode)
    return detector, scored_items(corpus, detector, gold)


def held_out_items(folds: dict[str, tuple[NarrativeDetector, pl.DataFrame]]) -> pl.DataFrame:
    """Every dev item as the detector that never saw its fold scores it (both folds pooled)."""
    return pl.concat([frame.filter(pl.col("fold") == fold) for fold, (_, frame) in folds.items()])


def run_fold(
    args,
    held_out: str,
    detector: NarrativeDetector,
    frame: pl.DataFrame,
    pooled: pl.DataFrame,
) -> list[dict]:
    rows = []
    for k, narrative in enumerate(detector.catalog.ids):
        part = frame.filter(pl.col("narrative_id") == narrative)
        test = items_of(part.filter(pl.col("fold") == held_out), random_negatives=False)
        other = part.filter(~pl.col("fold").is_in([held_out, "unseen"]))
        sample = items_of(part.filter(pl.col("fold") == "unseen"), random_negatives=True)
        sources = {
            "catalog": detector.calibration_[narrative],
            "other fold": items_of(other, random_negatives=True),
            "unseen": sample,
        }
        sources["run"] = sample if error_rates(sample).enough else sources["catalog"]
        sources["oracle"] = items_of(
            pooled.filter(pl.col("narrative_id") == narrative), random_negatives=False
        )
        for source, items in sources.items():
            rng = np.random.default_rng([args.seed, k])  # the same test samples for each source
            rates = error_rates(items, args.seed)
            errors = app_errors(test, rates, items, rng, size=args.size, repeats=args.repeats)
            if errors:
                rows.append(
                    {
                        "held_out": held_out,
                        "narrative": narrative,
                        "calibration": source,
                        "n_positives_held_out": test.n_positives,
                        "n_calibration": [rates.n_positives, rates.n_negatives],
                        **errors,
                    }
                )
    return rows


def to_markdown(rows: list[dict]) -> str:
    methods = [m for m in (*OURS, "quapy-acc", "quapy-pacc", "emq") if m in rows[0]]
    lines = []
    for source in ("catalog", "other fold", "unseen", "run", "oracle"):
        subset = [r for r in rows if r["calibration"] == source]
        if not subset:
            continue
        lines += [
            f"Error rates from: {source}. Mean absolute share error over targets 0-30%, "
            "both held-out folds:",
            "",
            "| narrative | " + " | ".join(methods) + f" | {DEFAULT_METHOD} / cc | best / cc |",
            "|---|" + "---|" * (len(methods) + 2),
        ]
        frame = (
            pl.DataFrame(subset)
            .group_by("narrative", maintain_order=True)
            .agg(*(pl.col(m).mean() for m in methods))
        )
        for row in [*frame.iter_rows(named=True), _mean_row(frame, methods)]:
            best = min(row[m] for m in methods if m != "cc")
            lines.append(
                f"| {row['narrative']} | "
                + " | ".join(f"{row[m]:.3f}" for m in methods)
                + f" | {row[DEFAULT_METHOD] / max(row['cc'], 1e-9):.2f}"
                + f" | {best / max(row['cc'], 1e-9):.2f} |"
            )
        lines.append("")
    return "\n".join(lines)


def _mean_row(frame: pl.DataFrame, methods: list[str]) -> dict:
    return {"narrative": "**mean**", **{m: float(frame[m].mean()) for m in methods}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--catalog-a",
        type=Path,
        default=UNSEEN_CATALOG["A"],
        help="catalog whose queries never saw fold A (default: %(default)s)",
    )
    parser.add_argument(
        "--catalog-b",
        type=Path,
        default=UNSEEN_CATALOG["B"],
        help="catalog whose queries never saw fold B (default: %(default)s)",
    )
    parser.add_argument("--embedder", default="use-multilingual")
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--size", type=int, default=200, help="items per APP sample")
    parser.add_argument("--repeats", type=int, default=20, help="samples per target")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if not HEADLINES.exists() or not DEV.exists():
        raise SystemExit("missing ../shared/corpora/headlines_de or narratives_de_dev")
    start = time.perf_counter()
    corpus = Corpus(HEADLINES, args.embedder, args.cache_dir)
    gold = labelled_items(corpus)
    folds = {
        "A": fitted_fold(corpus, gold, "A", args.catalog_a),
        "B": fitted_fold(corpus, gold, "B", args.catalog_b),
    }
    pooled = held_out_items(folds)
    rows = [
        row
        for fold, (detector, frame) in folds.items()
        for row in run_fold(args, fold, detector, frame, pooled)
    ]
    write_report(
        rows,
        to_markdown(rows),
        args.out,
        seconds=round(time.perf_counter() - start, 1),
        catalogs={"A": str(args.catalog_a), "B": str(args.catalog_b)},
        size=args.size,
        repeats=args.repeats,
    )


if __name__ == "__main__":
    main()
