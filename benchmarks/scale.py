"""Benchmark training at scale: 10k, 100k and 1M passages, local engine and Ray, 1 and 2 workers.

Corpora. The real German headlines (``../shared/corpora/headlines_de``, 17.8k distinct passages, 15
outlets, 2022-2026) repeated until the size is reached. Copy ``r`` of a headline gets " (r)" after
its title and its teaser, so that every document is distinct and survives the loader's de-
duplication, and keeps its date and outlet. Its embedding is the real headline's USE vector plus
Gaussian jitter (sd ``--jitter`` per dimension, then unit length), written into a fresh embedding
cache under the copy's text: a *warm-cache* training that computes every other stage for real (fit,
query matching over lemmas, heads, shares, drift, writing). Repeated headlines are easier to cluster
than as many distinct ones would be, and query matching sees each token type once per distinct
headline; the figures are for these corpora.

Per size and engine, one training in its own subprocess (``narratives.api.train`` with ``engine``,
``workers``), with a sampler that reads the resident memory of that process and of every process it
starts (Ray's raylet, GCS and workers) every 0.2 s: the peak of each process and the peak of their
sum. Stage timings come from the run itself.

Also: the embedding throughput on 10k real headlines with an empty cache for each engine and worker
count (cold embedding, the one stage that is not warm above), end to end and marginal (the extra
passages per extra second from 2,500 to 10,000 headlines: the rate once the workers run, without
each call's fixed start); the agreement (adjusted Rand index of
the passages' topics) between a fit on a ``fit_sample`` and a fit on every passage at 50k and 100k
passages; and the dashboard's cold first chart on the 1M run.

    python -m benchmarks.scale --out benchmarks/results/scale.json
    python -m benchmarks.scale --sizes 10000 100000 --engines local --workers 2
    python -m benchmarks.scale --skip-dashboard --skip-agreement

Figures are measured, not asserted."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.report import write_report

ROOT = Path(__file__).resolve().parents[1]
HEADLINES = ROOT.parent / "shared" / "corpora" / "headlines_de" / "headlines_de.jsonl"
WORK = ROOT / "benchmarks" / "results" / "scale-work"
REFERENCE_SEED = 43


def _base(cache_dir: Path) -> tuple[pl.DataFrame, np.ndarray]:
    """The real headlines as loaded (one passage each) and their USE vectors (cached)."""
    from narratives.config import TrainConfig
    from narratives.corpus import ColumnMap, load_corpus
    from narratives.embed import EmbeddingCache, embed, get_embedder
    from narratives.text import split_passages

    config = TrainConfig()
    documents, _ = load_corpus(HEADLINES, ColumnMap.from_mapping(config.columns))
    passages = split_passages(documents, **config.passages.__dict__)
    counts = passages.group_by("doc_id").len()
    single = counts.filter(pl.col("len") == 1)["doc_id"]
    documents = documents.filter(pl.col("doc_id").is_in(single.implode()))
    passages = passages.filter(pl.col("doc_id").is_in(single.implode()))
    order = documents.select("doc_id").join(passages, on="doc_id", maintain_order="left")
    vectors = embed(
        order["text"].to_list(), get_embedder(), cache=EmbeddingCache(cache_dir), progress=True
    )
    return documents, vectors


def make_corpus(size: int, folder: Path, base_cache: Path, jitter: float, seed: int) -> Path:
    """A corpus of ``size`` headline documents and a warm embedding cache for it, in ``folder``
    (reused when complete)."""
    from narratives.config import TrainConfig
    from narratives.embed import EmbeddingCache, get_embedder, text_key
    from narratives.text import split_passages

    corpus = folder / "corpus.parquet"
    done = folder / "complete"
    if done.exists():
        return corpus
    folder.mkdir(parents=True, exist_ok=True)
    documents, vectors = _base(base_cache)
    n_base = documents.height
    index = np.arange(size) % n_base
    copy = np.arange(size) // n_base
    frame = documents[index].with_columns(
        pl.Series("_copy", copy),
        (pl.col("doc_id") + "-" + pl.Series(copy).cast(pl.String)).alias("doc_id"),
    )
    suffix = " (" + pl.col("_copy").cast(pl.String) + ")"
    frame = frame.with_columns(
        pl.when(pl.col("_copy") > 0).then(pl.col(name) + suffix).otherwise(pl.col(name)).alias(name)
        for name in ("title", "text")
    ).drop("_copy")
    frame.write_parquet(corpus)
    passages = split_passages(frame, **TrainConfig().passages.__dict__)
    if passages.height != size:
        raise RuntimeError(f"{passages.height} passages from {size} documents")
    rng = np.random.default_rng(seed)
    cache = EmbeddingCache(folder / "cache")
    embedder_id = get_embedder().id
    texts = passages["text"].to_list()
    for start in range(0, size, 100_000):
        rows = np.arange(start, min(start + 100_000, size))
        block = vectors[index[rows]] + rng.normal(0, jitter, (len(rows), vectors.shape[1]))
        block[copy[rows] == 0] = vectors[index[rows][copy[rows] == 0]]
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        cache.put(embedder_id, [text_key(texts[i]) for i in rows], block.astype(np.float32))
    done.write_text("ok\n")
    return corpus


class Sampler:
    """Peak resident memory of a process and of every process it starts, sampled."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        import psutil

        self.root = psutil.Process(pid)
        self.peaks: dict[int, tuple[str, float]] = {}
        self.peak_total = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)
        self._thread.start()

    def _run(self, every: float) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                processes = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                break
            total = 0.0
            for process in processes:
                try:
                    rss = process.memory_info().rss / 2**20
                    name = " ".join(process.cmdline()[:3])[:80] or process.name()
                except psutil.Error:
                    continue
                total += rss
                if rss > self.peaks.get(process.pid, ("", 0.0))[1]:
                    self.peaks[process.pid] = (name, rss)
            self.peak_total = max(self.peak_total, total)
            time.sleep(every)

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        driver = self.peaks.pop(self.root.pid, ("", 0.0))[1]
        others = sorted(self.peaks.values(), key=lambda item: -item[1])
        return {
            "driver_peak_rss_mb": round(driver, 1),
            "all_processes_peak_rss_mb": round(self.peak_total, 1),
            "n_other_processes": len(others),
            "largest_other_processes": [
                {"process": name, "peak_rss_mb": round(rss, 1)} for name, rss in others[:4]
            ],
        }


def _child(args: argparse.Namespace) -> None:
    """One training (run in a subprocess by ``measure``); prints its figures as JSON."""
    import bertopic  # noqa: F401  (imports timed apart, as in benchmarks/train.py)

    from narratives.api import train
    from narratives.config import TrainConfig

    config = TrainConfig().with_overrides(cache_dir=str(args.cache), seed=args.train_seed)
    if args.fit_sample is not None:
        sample = None if args.fit_sample == 0 else args.fit_sample
        config = replace(config, model=replace(config.model, fit_sample=sample))
    start = time.perf_counter()
    run = train(
        args.corpus,
        config=config,
        run=args.run,
        models_dir=args.models_dir,
        overwrite=True,
        engine=args.engine,
        workers=args.n_workers,
        progress=False,
        verbose=False,
    )
    total = time.perf_counter() - start
    print(
        json.dumps(
            {
                "total_s": round(total, 1),
                "timings": {k: round(v, 1) for k, v in run.timings.items()},
                "n_passages": run.record.metrics.n_passages,
                "n_topics": run.record.metrics.n_topics,
                "outlier_share": run.record.metrics.outlier_share,
                "run": str(run.path),
            }
        )
    )


def measure(
    corpus: Path,
    cache: Path,
    models_dir: Path,
    run: str,
    engine: str,
    workers: int,
    fit_sample: int | None = None,
    train_seed: int | None = None,
) -> dict:
    """One training in a fresh subprocess, with its memory sampled."""
    command = [
        sys.executable,
        "-m",
        "benchmarks.scale",
        "--child",
        "--corpus",
        str(corpus),
        "--cache",
        str(cache),
        "--models-dir",
        str(models_dir),
        "--run",
        run,
        "--engine",
        engine,
        "--n-workers",
        str(workers),
    ]
    if fit_sample is not None:
        command += ["--fit-sample", str(fit_sample)]
    if train_seed is not None:
        command += ["--train-seed", str(train_seed)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    sampler = Sampler(process.pid)
    out, _ = process.communicate()
    memory = sampler.stop()
    if process.returncode != 0:
        raise RuntimeError(f"{run}: training failed with exit code {process.returncode}")
    result = json.loads(out.strip().splitlines()[-1])
    result |= memory | {"engine": engine, "workers": workers}
    result["passages_per_s"] = round(result["n_passages"] / result["total_s"], 1)
    return result


def cold_embedding(n: int, engines: list[str], workers: list[int]) -> list[dict]:
    """Passages per second of embedding ``n`` real headlines with no cache, per engine and
    worker count (each in its own subprocess)."""
    rows = []
    for engine in engines:
        for count in workers:
            out = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.scale",
                    "--child-embed",
                    str(n),
                    "--engine",
                    engine,
                    "--n-workers",
                    str(count),
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
            print(f"cold embedding: {rows[-1]}", file=sys.stderr)
    return rows


MARGINAL_PART = 4
"""The marginal throughput compares embedding all ``n`` headlines with embedding ``n / 4``."""


def _child_embed(args: argparse.Namespace) -> None:
    """Embed ``n`` headlines (and a quarter of them) in one engine, after a warm-up call.

    End to end, a call pays its engine's fixed start (Ray: the actor processes start and each
    loads the embedder) on top of the work; the marginal throughput, the extra passages per
    extra second between ``n / 4`` and ``n``, is what each added worker adds once it runs."""
    from narratives.embed import get_embedder
    from narratives.engine import get_engine

    texts = pl.read_ndjson(HEADLINES)["title"].unique(maintain_order=True).head(args.child_embed)
    engine = get_engine(args.engine, workers=args.n_workers)
    embedder = get_embedder()
    engine.encode(texts.head(64).to_list(), embedder, 64, False)
    part = texts.head(texts.len() // MARGINAL_PART).to_list()

    def seconds(batch: list[str]) -> float:
        start = time.perf_counter()
        engine.encode(batch, embedder, 64, False)
        return time.perf_counter() - start

    full, quarter = seconds(texts.to_list()), seconds(part)
    print(
        json.dumps(
            {
                "engine": args.engine,
                "workers": args.n_workers,
                "n": texts.len(),
                "seconds": round(full, 1),
                "passages_per_s": round(texts.len() / full, 1),
                "seconds_quarter": round(quarter, 1),
                "marginal_passages_per_s": round(
                    (texts.len() - len(part)) / max(full - quarter, 1e-9), 1
                ),
            }
        )
    )


def agreement(sizes: list[int], args: argparse.Namespace) -> list[dict]:
    """ARI between the topics of a fit on the default ``fit_sample`` (and half of it) and of a
    fit on every passage, at each size; at the smallest, also of a second full fit with another
    seed, for scale (what a full fit agrees with itself)."""
    from sklearn.metrics import adjusted_rand_score

    from narratives.defaults import DEFAULT_FIT_SAMPLE

    rows = []
    for size in sizes:
        folder = WORK / f"corpus-{size}"
        corpus = make_corpus(size, folder, args.base_cache, args.jitter, args.seed)
        models = WORK / "models"
        full = measure(corpus, folder / "cache", models, f"full-{size}", "local", 2, 0)
        topics_full = pl.read_parquet(Path(full["run"]) / "assignments.parquet")["topic_id"]
        variants = [
            (s, None) for s in sorted({DEFAULT_FIT_SAMPLE // 2, min(DEFAULT_FIT_SAMPLE, size // 2)})
        ]
        if size == min(sizes):
            variants.append((0, REFERENCE_SEED))
        for sample, seed in variants:
            name = f"s{sample}-{size}" if seed is None else f"full-seed{seed}-{size}"
            fitted = measure(corpus, folder / "cache", models, name, "local", 2, sample, seed)
            topics = pl.read_parquet(Path(fitted["run"]) / "assignments.parquet")["topic_id"]
            rows.append(
                {
                    "n_passages": size,
                    "fit_sample": sample if seed is None else f"every passage, seed {seed}",
                    "ari_with_full_fit": round(adjusted_rand_score(topics_full, topics), 3),
                    "fit_s_sample": fitted["timings"].get("fit"),
                    "fit_s_full": full["timings"].get("fit"),
                    "peak_rss_mb_sample": fitted["all_processes_peak_rss_mb"],
                    "peak_rss_mb_full": full["all_processes_peak_rss_mb"],
                    "n_topics_sample": fitted["n_topics"],
                    "n_topics_full": full["n_topics"],
                }
            )
            print(f"agreement: {rows[-1]}", file=sys.stderr)
    return rows


def dashboard_first_chart(run: Path, repeats: int) -> dict:
    """Cold first chart of the dashboard on ``run``: a fresh server and a fresh Chromium per
    repetition, from the page load (and from the server's launch) to the Overview's chart."""
    from playwright.sync_api import sync_playwright

    from tests.browser import Dashboard, launch_chromium, wait_for_chart

    reps = []
    with sync_playwright() as playwright:
        for _ in range(repeats):
            browser = launch_chromium(playwright)
            dashboard = Dashboard(run, run.parent)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                dashboard.start()
                ready = dashboard.wait_ready(timeout=120)
                start = time.perf_counter()
                page.goto(dashboard.url)
                wait_for_chart(page, timeout_ms=120_000)
                now = time.perf_counter()
                reps.append(
                    {
                        "server_ready_s": round(ready, 2),
                        "first_chart_s": round(now - start, 2),
                        "first_chart_from_launch_s": round(now - dashboard.started_at, 2),
                        "peak_rss_mb": dashboard.peak_rss_mb(),
                    }
                )
            finally:
                dashboard.stop()
                browser.close()
            print(f"dashboard: {reps[-1]}", file=sys.stderr)
    return {
        "run": str(run),
        "repetitions": reps,
        "first_chart_s_median": float(np.median([r["first_chart_s"] for r in reps])),
    }


def to_markdown(results: dict) -> str:
    lines = [
        "| passages | engine | workers | total s | passages/s | stages (s) | "
        "driver peak MB | all processes peak MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in results["trainings"]:
        stages = ", ".join(f"{k} {v}" for k, v in row["timings"].items())
        lines.append(
            f"| {row['n_passages']:,} | {row['engine']} | {row['workers']} | {row['total_s']} | "
            f"{row['passages_per_s']} | {stages} | {row['driver_peak_rss_mb']} | "
            f"{row['all_processes_peak_rss_mb']} |"
        )
    if results.get("cold_embedding"):
        lines += [
            "",
            "| cold embedding | workers | passages/s end to end | marginal passages/s |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {r['engine']} | {r['workers']} | {r['passages_per_s']} | "
            f"{r.get('marginal_passages_per_s', '')} |"
            for r in results["cold_embedding"]
        ]
    if results.get("agreement"):
        lines += [
            "",
            "| passages | fit_sample | ARI with full fit | fit s (sample / full) | "
            "peak MB (sample / full) |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['n_passages']:,} | {r['fit_sample']} | {r['ari_with_full_fit']} | "
            f"{r['fit_s_sample']} / {r['fit_s_full']} | {r['peak_rss_mb_sample']} / "
            f"{r['peak_rss_mb_full']} |"
            for r in results["agreement"]
        ]
    if results.get("dashboard"):
        lines += [
            "",
            f"Dashboard cold first chart on {results['dashboard']['run']}: "
            f"{results['dashboard']['first_chart_s_median']:.2f} s after page load (median)",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--engines", nargs="+", default=["local", "ray"])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--big-size-configs",
        default="local:2,ray:2",
        help="engine:workers pairs to run at the largest size (all: every one)",
    )
    parser.add_argument("--agreement-sizes", type=int, nargs="+", default=[50_000, 100_000])
    parser.add_argument("--skip-agreement", action="store_true")
    parser.add_argument("--skip-dashboard", action="store_true")
    parser.add_argument(
        "--cold-n", type=int, default=10_000, help="headlines to embed cold (0: skip)"
    )
    parser.add_argument("--jitter", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--base-cache",
        type=Path,
        default=None,
        help="embedding cache holding the real headlines' vectors (default: the user's cache)",
    )
    parser.add_argument("--out", type=Path)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-embed", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--models-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--engine", default="local", help=argparse.SUPPRESS)
    parser.add_argument("--n-workers", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--fit-sample", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--train-seed", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(args)
    if args.child_embed is not None:
        return _child_embed(args)
    if not HEADLINES.exists():
        sys.exit(f"needs {HEADLINES}")
    if args.base_cache is None:
        from narratives.embed import default_cache_dir

        args.base_cache = default_cache_dir()
    results: dict = {"trainings": [], "jitter_sd": args.jitter}
    largest = max(args.sizes)
    big = {tuple(p.split(":")) for p in args.big_size_configs.split(",")}
    for size in sorted(args.sizes):
        folder = WORK / f"corpus-{size}"
        corpus = make_corpus(size, folder, args.base_cache, args.jitter, args.seed)
        for engine in args.engines:
            for workers in args.workers:
                if (
                    size == largest
                    and args.big_size_configs != "all"
                    and ((engine, str(workers)) not in big)
                ):
                    continue
                row = measure(
                    corpus,
                    folder / "cache",
                    WORK / "models",
                    f"scale-{size}-{engine}-{workers}",
                    engine,
                    workers,
                )
                results["trainings"].append(row)
                print(f"training: {json.dumps(row)}", file=sys.stderr)
    if args.cold_n:
        results["cold_embedding"] = cold_embedding(args.cold_n, args.engines, args.workers)
    if not args.skip_agreement:
        results["agreement"] = agreement(args.agreement_sizes, args)
    if not args.skip_dashboard:
        runs = [r for r in results["trainings"] if r["n_passages"] >= largest]
        if runs:
            results["dashboard"] = dashboard_first_chart(Path(runs[0]["run"]), 3)
    write_report(results, to_markdown(results), args.out)


if __name__ == "__main__":
    main()
