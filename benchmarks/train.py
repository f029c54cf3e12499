"""Benchmark a training: wall time per stage, passages/s and peak memory, cold and warm cache,
side by side with plain BERTopic (default parameters) on the same passages and embeddings.

Each measurement runs in its own subprocess so that its peak memory (max RSS) is its own.

    python -m benchmarks.train                       # seeds + ../shared/corpora/ukraine_media_en
    python -m benchmarks.train --corpus my.jsonl     # any corpus narratives can read
    python -m benchmarks.train --out benchmarks/results/train.json

The peer is what a BERTopic user would write: ``BERTopic()`` with its default UMAP, HDBSCAN and
CountVectorizer, ``fit_transform(docs, embeddings)`` then ``topics_over_time(docs, dates)``, given
the same passages and the same precomputed embeddings (so embedding cost is not part of the
comparison). Figures are measured, not asserted.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.report import write_report

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPORA = [
    ROOT / "seeds",
    ROOT.parent / "shared" / "corpora" / "ukraine_media_en" / "articles.jsonl",
]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_ours(corpus: Path, cache_dir: Path, models_dir: Path) -> dict:
    """One training with the default configuration; stage timings from the pipeline itself.

    BERTopic, UMAP and HDBSCAN are imported first (and timed apart), as the peer's are, so that
    the fit stages compare modelling, not imports.
    """
    start = time.perf_counter()
    import bertopic  # noqa: F401
    import hdbscan  # noqa: F401
    import umap  # noqa: F401

    import_s = time.perf_counter() - start
    from narratives.config import TrainConfig
    from narratives.pipeline import train

    start = time.perf_counter()
    result = train(
        corpus,
        TrainConfig(cache_dir=str(cache_dir)),
        run_name="bench",
        models_dir=models_dir,
        overwrite=True,
        progress=False,
        log=None,
    )
    total = time.perf_counter() - start
    record = json.loads((result.run_path / "run.json").read_text())
    n_passages = record["metrics"]["n_passages"]
    return {
        "timings": result.timings,
        "import_s": round(import_s, 2),
        "total_s": round(total, 2),
        "n_passages": n_passages,
        "embedded": record["embedding_cache"]["n_encoded"],
        "passages_per_s": round(n_passages / total, 1),
        "embed_passages_per_s": round(
            record["embedding_cache"]["n_encoded"] / max(result.timings["embed"], 1e-9), 1
        ),
        "n_topics": record["metrics"]["n_topics"],
        "outlier_share": record["metrics"]["outlier_share"],
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }


def measure_peer(corpus: Path, cache_dir: Path) -> dict:
    """Plain BERTopic with default parameters on our passages and cached embeddings."""
    import polars as pl
    from bertopic import BERTopic

    from narratives.corpus import load_corpus
    from narratives.embed import EmbeddingCache, embed, get_embedder
    from narratives.text import split_passages

    documents, _ = load_corpus(corpus)
    passages = split_passages(documents).join(
        documents.select("doc_id", "date"), on="doc_id", how="left"
    )
    docs = passages["text"].to_list()
    embeddings = embed(docs, get_embedder(), cache=EmbeddingCache(cache_dir), progress=False)
    dated = passages.with_row_index("i").filter(pl.col("date").is_not_null())
    start = time.perf_counter()
    model = BERTopic()
    topics, _ = model.fit_transform(docs, embeddings)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    index = dated["i"].to_list()
    model.topics_over_time(
        [docs[i] for i in index],
        dated["date"].cast(pl.Datetime).to_list(),
        topics=[topics[i] for i in index],
        nr_bins=min(20, max(1, dated["date"].n_unique())),
    )
    tot_s = time.perf_counter() - start
    n_topics = len(set(topics) - {-1})
    return {
        "fit_s": round(fit_s, 2),
        "topics_over_time_s": round(tot_s, 2),
        "total_s": round(fit_s + tot_s, 2),
        "n_passages": len(docs),
        "n_topics": n_topics,
        "outlier_share": round(sum(t == -1 for t in topics) / len(topics), 4),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }


def _child(kind: str, corpus: Path, cache_dir: Path, models_dir: Path) -> dict:
    command = [
        sys.executable,
        "-m",
        "benchmarks.train",
        "--child",
        kind,
        "--corpus",
        str(corpus),
        "--cache-dir",
        str(cache_dir),
        "--models-dir",
        str(models_dir),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{kind} on {corpus} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_corpus(corpus: Path) -> dict:
    """Cold cache, warm cache, and the peer, each in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        cache, models = Path(tmp) / "cache", Path(tmp) / "models"
        cold = _child("ours", corpus, cache, models)
        print(f"  ours, cold cache: {cold['total_s']} s {cold['timings']}", file=sys.stderr)
        warm = _child("ours", corpus, cache, models)
        print(f"  ours, warm cache: {warm['total_s']} s {warm['timings']}", file=sys.stderr)
        peer = _child("peer", corpus, cache, models)
        print(f"  plain BERTopic:   {peer['total_s']} s", file=sys.stderr)
    ours_model_s = warm["timings"]["fit"] + warm["timings"]["drift"]
    return {
        "corpus": str(corpus),
        "cold": cold,
        "warm": warm,
        "peer": peer,
        "ratio_ours_fit_drift_to_peer_fit_tot": round(ours_model_s / max(peer["total_s"], 1e-9), 3),
    }


def to_markdown(results: list[dict]) -> str:
    lines = [
        "| corpus | passages | cache | load | passages | embed | fit | narratives | drift | write "
        "| total s | passages/s | peak MB | topics | outliers |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for res in results:
        name = Path(res["corpus"]).name
        for label in ("cold", "warm"):
            r, t = res[label], res[label]["timings"]
            lines.append(
                f"| {name} | {r['n_passages']} | {label} | {t['load']} | {t['passages']} | "
                f"{t['embed']} | {t['fit']} | {t.get('narratives', '')} | {t['drift']} | "
                f"{t['write']} | {r['total_s']} | "
                f"{r['passages_per_s']} | {r['peak_rss_mb']} | {r['n_topics']} | "
                f"{r['outlier_share']} |"
            )
        p = res["peer"]
        lines.append(
            f"| {name} | {p['n_passages']} | plain BERTopic (fit {p['fit_s']} + "
            f"topics_over_time {p['topics_over_time_s']}) | | | | | | | | {p['total_s']} | | "
            f"{p['peak_rss_mb']} | {p['n_topics']} | {p['outlier_share']} |"
        )
    lines.append("")
    for res in results:
        lines.append(
            f"- {Path(res['corpus']).name}: ours (fit + drift, warm) / plain BERTopic (fit + "
            f"topics_over_time) = {res['ratio_ours_fit_drift_to_peer_fit_tot']}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, action="append", help="corpus (repeatable)")
    parser.add_argument("--out", type=Path, help="write the results as JSON (and .md beside it)")
    parser.add_argument("--child", choices=["ours", "peer"], help=argparse.SUPPRESS)
    parser.add_argument("--cache-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--models-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        corpus = args.corpus[0]
        if args.child == "ours":
            result = measure_ours(corpus, args.cache_dir, args.models_dir)
        else:
            result = measure_peer(corpus, args.cache_dir)
        print(json.dumps(result))
        return
    corpora = [c for c in (args.corpus or DEFAULT_CORPORA) if c.exists()]
    results = []
    for corpus in corpora:
        print(f"{corpus}", file=sys.stderr)
        results.append(bench_corpus(corpus))
    write_report(results, to_markdown(results), args.out)


if __name__ == "__main__":
    main()
