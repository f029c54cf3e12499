"""Benchmark the drift engine on 1M and 10M assignment rows, with pandas groupby beside it.

Tables are generated in the real schema and shape of a run (documents with dates over four years
and 15 outlets, 1-4 passages per document, 50 topics plus outliers), seeded. Each size runs in its
own subprocess so that its peak memory (max RSS) is its own.

    python -m benchmarks.drift                           # 1M and 10M rows
    python -m benchmarks.drift --rows 1000000 --out benchmarks/results/drift.json

Measured: prevalence (month x outlet x topic, with Wilson intervals), drift (tests, change points,
statuses), and the same month x outlet x topic aggregation (documents carrying each topic) done
with pandas groupby, for the ratio. Figures are measured, not asserted.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.report import write_report

ROOT = Path(__file__).resolve().parents[1]

N_OUTLETS = 15
N_TOPICS = 50


def generate(n_rows: int, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Documents and assignments with about ``n_rows`` assignment rows."""
    rng = np.random.default_rng(seed)
    n_docs = n_rows * 10 // 25
    per_doc = rng.integers(1, 5, n_docs)
    per_doc[-1] += n_rows - per_doc.sum() if per_doc.sum() < n_rows else 0
    start = date(2022, 1, 1).toordinal()
    documents = pl.DataFrame(
        {
            "doc_id": pl.int_range(n_docs, eager=True).cast(pl.String),
            "date": pl.Series([start] * n_docs) + pl.Series(rng.integers(0, 4 * 365, n_docs)),
            "source": pl.Series(rng.integers(0, N_OUTLETS, n_docs)).cast(pl.String),
        }
    ).with_columns(
        (pl.col("date") - 719163).cast(pl.Int32).cast(pl.Date),
        ("outlet-" + pl.col("source")).alias("source"),
    )
    doc_index = np.repeat(np.arange(n_docs), per_doc)[:n_rows]
    popularity = rng.dirichlet(np.ones(N_TOPICS + 1) * 0.7)
    topics = rng.choice(np.arange(-1, N_TOPICS), size=doc_index.size, p=popularity)
    assignments = pl.DataFrame(
        {
            "passage_id": pl.int_range(doc_index.size, eager=True).cast(pl.String),
            "doc_id": pl.Series(doc_index).cast(pl.String),
            "topic_id": pl.Series(topics, dtype=pl.Int32),
            "probability": pl.Series(rng.random(doc_index.size), dtype=pl.Float32),
        }
    )
    return documents, assignments


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(n_rows: int) -> dict:
    from narratives.drift import DriftSettings, compute_drift, compute_prevalence

    documents, assignments = generate(n_rows)
    result = {"rows": assignments.height, "documents": documents.height}
    start = time.perf_counter()
    prevalence = compute_prevalence(documents, assignments, period="month", by_source=True)
    result["prevalence_s"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    drift = compute_drift(prevalence, DriftSettings(period="month"))
    result["drift_s"] = round(time.perf_counter() - start, 2)
    result["prevalence_rows"] = prevalence.height
    result["drift_rows"] = drift.height
    result["polars_peak_mb"] = round(_peak_mb(), 1)

    documents_pd = documents.to_pandas()
    assignments_pd = assignments.select("doc_id", "topic_id").to_pandas()
    start = time.perf_counter()
    documents_pd["period"] = documents_pd["date"].astype("datetime64[ns]").dt.to_period("M")
    carried = assignments_pd.drop_duplicates(["doc_id", "topic_id"]).merge(
        documents_pd[["doc_id", "source", "period"]], on="doc_id"
    )
    counts = carried.groupby(["period", "source", "topic_id"]).size()
    totals = documents_pd.groupby(["period", "source"]).size()
    shares = counts / totals.reindex(counts.index.droplevel("topic_id")).to_numpy()
    result["pandas_groupby_s"] = round(time.perf_counter() - start, 2)
    result["pandas_cells"] = int(shares.size)
    start = time.perf_counter()
    compute_prevalence(documents, assignments, period="month", by_source=True)
    result["polars_prevalence_again_s"] = round(time.perf_counter() - start, 2)
    result["ratio_polars_prevalence_to_pandas"] = round(
        result["prevalence_s"] / max(result["pandas_groupby_s"], 1e-9), 3
    )
    result["peak_mb"] = round(_peak_mb(), 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, action="append", help="assignment rows (repeatable)")
    parser.add_argument("--out", type=Path, help="write the results as JSON")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child)))
        return
    results = []
    for rows in args.rows or [1_000_000, 10_000_000]:
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.drift", "--child", str(rows)],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        if done.returncode != 0:
            raise SystemExit(done.stderr[-3000:])
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), file=sys.stderr)
    lines = [
        "| rows | prevalence s | drift s | pandas groupby s | polars/pandas | peak MB |",
        "|---|---|---|---|---|---|",
        *(
            f"| {r['rows']:,} | {r['prevalence_s']} | {r['drift_s']} | {r['pandas_groupby_s']} | "
            f"{r['ratio_polars_prevalence_to_pandas']} | {r['peak_mb']} |"
            for r in results
        ),
    ]
    write_report(results, "\n".join(lines), args.out)


if __name__ == "__main__":
    main()
