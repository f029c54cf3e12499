"""A synthetic run of any size in the real schema, for measuring the dashboard.

``make_run(models_dir, name, n_passages)`` writes a complete run with ``narratives.runs.write_run``
(so the dashboard and ``narratives runs`` list it): documents of about 8 passages each from six
German outlets over 36 months (2022-02 to 2025-01), 20 topics (the 8 catalogued narratives with
their ids and labels, 12 discovered topics labelled by their keywords) plus about 3% outliers.
Topic shares drift with planted events (a narrative stepping up at a known month, topics that
appear, peak and vanish) and differ per outlet, so every chart has something to show. Passage
texts are German-looking sentences (300-600 characters) drawn from per-topic word lists, with
each topic's words shifting between the first and the second half of the period, so keyword
drift has words entering and leaving. Everything is seeded and vectorised (numpy + polars).

The drift tables come from the real engine, ``narratives.analysis.drift_tables``, keyword drift
included: it tokenises every passage in Python, and all five tables take about 35 s at 1M
passages on 2 cores (generation 4 s, run on disk 190 MB).

Runs are cached: an existing complete run of that name is reused, never rebuilt.

    python -m benchmarks.synthetic_run 100000   # -> benchmarks/results/dashboard-runs/
    python -m benchmarks.synthetic_run 1000 --models-dir /tmp/models --name tiny
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODELS_DIR = ROOT / "benchmarks" / "results" / "dashboard-runs"
"""Largest run whose keyword_drift table the real engine computes (about 90 s at this size)."""

OUTLETS = ("RT DE", "WELT", "Spiegel", "FAZ", "taz", "Tagesschau")
OUTLET_WEIGHTS = np.array([0.22, 0.20, 0.17, 0.15, 0.10, 0.16])
DOMAINS = (
    "de.rt.com",
    "www.welt.de",
    "www.spiegel.de",
    "www.faz.net",
    "taz.de",
    "www.tagesschau.de",
)
FIRST_MONTH = date(2022, 2, 1)
N_MONTHS = 36
N_SENTENCES = 5
POOL_SIZE = 400
PASSAGES_PER_DOC = (5, 12)  # uniform integers in [5, 12): mean 8
OUTLIER_SHARE = 0.03


def _words(text: str) -> list[str]:
    return text.split()


# The eight catalogued narratives (narratives/data/catalog.toml), each with its words.
CATALOG_WORDS: dict[str, list[str]] = {
    "failed-counteroffensive": _words(
        "Gegenoffensive Offensive Verluste Saporischschja Minenfelder "
        "Vormarsch Angriffswelle Brigaden Leopard Robotyne"
    ),
    "ammunition-shortage": _words(
        "Munition Artilleriegranaten Munitionsmangel Produktion "
        "Rüstungsindustrie Granaten Lagerbestände Nachschub Rheinmetall Fertigung"
    ),
    "peace-talks-vs-military-aid": _words(
        "Verhandlungen Frieden Waffenstillstand Diplomatie "
        "Friedensgespräche Kompromiss Militärhilfe Vermittlung Verhandlungslösung Waffenruhe"
    ),
    "ukraine-nato-membership": _words(
        "NATO-Mitgliedschaft Beitritt Gipfel Sicherheitsgarantien Bündnis "
        "Beitrittsperspektive Allianz Mitgliedstaaten Vilnius Washington-Gipfel"
    ),
    "nato-party-to-war": _words(
        "Stellvertreterkrieg Kriegspartei Westen Ausbilder Geheimdienste "
        "Söldner Provokation Konfrontation Hegemonie Einmischung"
    ),
    "russia-must-not-win": _words(
        "Sieg Freiheit Demokratie Aggression Solidarität Unterstützung "
        "Völkerrecht Souveränität Entschlossenheit Verteidigung"
    ),
    "ukrainian-territorial-gains": _words(
        "Rückeroberung Charkiw Cherson Befreiung Geländegewinne "
        "Dörfer Durchbruch Frontlinie Isjum Kursk"
    ),
    "escalation-arms-deliveries": _words(
        "Waffenlieferungen Taurus Marschflugkörper Eskalation "
        "Reichweite Kampfpanzer Atomwaffen Kampfjets Raketen Rote-Linie"
    ),
}
DISCOVERED_WORDS: list[list[str]] = [
    _words("Gaspreise Energiekrise Gasspeicher Heizkosten Pipeline Nord-Stream LNG Strompreise"),
    _words("Sanktionen Sanktionspaket Oligarchen Exportverbot Vermögen Embargo Ölpreisdeckel"),
    _words("Geflüchtete Kommunen Unterbringung Aufnahme Integration Bürgergeld Sprachkurse"),
    _words("Getreide Getreideabkommen Odessa Weizen Exporte Häfen Frachter"),
    _words("Atomkraftwerk IAEA Reaktor Inspektoren Strahlung Kühlwasser Energodar"),
    _words("Inflation Preise Zinsen Rezession Konjunktur EZB Mittelstand"),
    _words("Wahlkampf Trump Republikaner Kongress Hilfspaket Repräsentantenhaus Senat"),
    _words("Krim Krimbrücke Sewastopol Schwarzmeerflotte Drohnen Kertsch Seedrohnen"),
    _words("Wagner Prigoschin Meuterei Söldnergruppe Aufstand Rostow Lukaschenko"),
    _words("Kriegsverbrechen Butscha Ermittlungen Strafgerichtshof Haftbefehl Zeugen Beweise"),
    _words("Mobilisierung Einberufung Wehrpflicht Rekruten Reservisten Musterung Ausreise"),
    _words("Desinformation Propaganda Cyberangriffe Telegram Plattformen Falschmeldungen Bots"),
]
GENERAL_WORDS = _words(
    "die der das und nicht mit für auf von dass auch wird hat ist sich nach bei aus eine noch "
    "nur wie über gegen schon immer mehr Regierung Bundesregierung Kanzler Minister Woche Jahr "
    "Lage Bericht Experten Berlin Moskau Kiew Washington Brüssel Politik Frage Entscheidung "
    "Öffentlichkeit Debatte Kritik Zeitung Analyse Situation Entwicklung Ukraine Russland Krieg "
    "Präsident Selenskyj Putin Scholz Militär Armee Soldaten Bevölkerung Menschen Land Staaten "
    "Europa Partner Region Zukunft Monate Tage Zeit Ziel Plan Beobachter Sprecher Parlament "
    "Bundestag Opposition Koalition Verantwortung Folgen Sicherheit Interessen Signal deutlich "
    "wichtig schwierig neue große weitere offenbar jedoch allerdings bisher heute gestern "
    "fordert warnt erwartet kritisiert bestätigt verlangt diskutiert"
)
DISCOVERED_LABELS = [", ".join(words[:3]) for words in DISCOVERED_WORDS]


def _month(year: int, month: int) -> int:
    """Index of a calendar month in the synthetic period (0 = 2022-02)."""
    return (year - FIRST_MONTH.year) * 12 + month - FIRST_MONTH.month


def _time_effects(catalog_ids: list[str]) -> np.ndarray:
    """Log-odds per month and topic: the planted events (-inf = topic absent that month)."""
    effects = np.zeros((N_MONTHS, len(catalog_ids) + len(DISCOVERED_WORDS)))
    months = np.arange(N_MONTHS)
    column = {nid: i for i, nid in enumerate(catalog_ids)}
    column.update({label: len(catalog_ids) + i for i, label in enumerate(DISCOVERED_LABELS)})

    def bump(topic: str, first: tuple[int, int], last: tuple[int, int], amount: float) -> None:
        effects[(months >= _month(*first)) & (months <= _month(*last)), column[topic]] += amount

    def absent(topic: str, first: tuple[int, int], last: tuple[int, int]) -> None:
        effects[(months >= _month(*first)) & (months <= _month(*last)), column[topic]] = -np.inf

    bump("failed-counteroffensive", (2023, 9), (2025, 1), 1.6)  # the step change
    absent("failed-counteroffensive", (2022, 2), (2023, 5))
    bump("ammunition-shortage", (2023, 10), (2025, 1), 1.2)
    effects[:, column["peace-talks-vs-military-aid"]] += np.linspace(-0.6, 0.9, N_MONTHS)
    bump("ukraine-nato-membership", (2023, 6), (2023, 7), 1.8)
    bump("ukraine-nato-membership", (2024, 7), (2024, 7), 1.2)
    bump("ukrainian-territorial-gains", (2022, 9), (2022, 11), 1.8)
    bump("ukrainian-territorial-gains", (2024, 8), (2024, 9), 1.5)
    bump("escalation-arms-deliveries", (2023, 1), (2023, 2), 1.3)
    bump("escalation-arms-deliveries", (2024, 2), (2024, 5), 1.1)
    effects[:, column["russia-must-not-win"]] += np.linspace(0.8, -0.6, N_MONTHS)
    bump(DISCOVERED_LABELS[0], (2022, 6), (2023, 2), 1.5)  # energy crisis
    absent(DISCOVERED_LABELS[3], (2023, 9), (2025, 1))  # grain deal ends: gone
    bump(DISCOVERED_LABELS[3], (2022, 6), (2022, 8), 1.2)
    absent(DISCOVERED_LABELS[6], (2022, 2), (2023, 11))  # US election: new
    bump(DISCOVERED_LABELS[6], (2024, 6), (2024, 11), 1.0)
    absent(DISCOVERED_LABELS[8], (2022, 2), (2023, 4))  # Wagner: new, peaks, fades
    bump(DISCOVERED_LABELS[8], (2023, 6), (2023, 8), 2.0)
    bump(DISCOVERED_LABELS[10], (2022, 9), (2022, 10), 1.6)  # mobilisation
    return effects


def _outlet_effects(catalog_ids: list[str]) -> np.ndarray:
    """Log-odds per outlet and topic: what each outlet over- or under-represents."""
    effects = np.zeros((len(OUTLETS), len(catalog_ids) + len(DISCOVERED_WORDS)))
    column = {nid: i for i, nid in enumerate(catalog_ids)}
    rt, welt, spiegel, faz, taz, tagesschau = range(len(OUTLETS))
    effects[rt, column["nato-party-to-war"]] += 1.6
    effects[rt, column["escalation-arms-deliveries"]] += 1.0
    effects[rt, column["peace-talks-vs-military-aid"]] += 1.1
    effects[rt, column["failed-counteroffensive"]] += 1.2
    effects[rt, column["russia-must-not-win"]] -= 1.5
    effects[rt, len(catalog_ids) + 11] -= 1.0  # disinformation
    effects[welt, column["russia-must-not-win"]] += 0.9
    effects[welt, column["ammunition-shortage"]] += 0.6
    effects[faz, column["ammunition-shortage"]] += 0.5
    effects[faz, len(catalog_ids) + 5] += 0.7  # inflation
    effects[spiegel, len(catalog_ids) + 9] += 0.6  # war crimes
    effects[taz, column["peace-talks-vs-military-aid"]] += 0.5
    effects[taz, len(catalog_ids) + 2] += 0.8  # refugees
    effects[tagesschau, :] *= 0.0
    return effects


def _topic_probabilities(catalog_ids: list[str], rng: np.random.Generator) -> np.ndarray:
    """P[outlet, month, topic] of a passage's topic (outliers excluded)."""
    n_topics = len(catalog_ids) + len(DISCOVERED_WORDS)
    base = rng.normal(0.0, 0.5, n_topics)
    base[: len(catalog_ids)] += 0.4  # the catalogued narratives are the larger topics
    logits = (
        base[None, None, :]
        + _time_effects(catalog_ids)[None, :, :]
        + _outlet_effects(catalog_ids)[:, None, :]
    )
    weights = np.exp(logits - logits.max(axis=2, keepdims=True))
    return weights / weights.sum(axis=2, keepdims=True)


def _sample(cumulative: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One category per row of a (rows x categories) cumulative distribution."""
    u = rng.random(cumulative.shape[0])[:, None]
    return np.minimum((cumulative < u).sum(axis=1), cumulative.shape[1] - 1)


def _halves(words: list[str]) -> tuple[list[str], list[str]]:
    """A topic's words before and after the middle of the period: two leave, two enter."""
    return words[:-2], words[:3] + words[5:]


def _sentence_pools(rng: np.random.Generator) -> tuple[pl.Series, list[list[list[str]]]]:
    """Sentences per (topic, half) and a general pool, and each topic's words per half.

    Pool ``2 * topic + half`` holds ``POOL_SIZE`` sentences of that topic; the last pool is
    general prose (what outlier passages and every passage's filler are made of). A topic's
    first half uses its words but the last two, the second half its words but the fourth and
    fifth (the first three, which name a discovered topic, stay throughout).
    """
    topic_words = [*CATALOG_WORDS.values(), *DISCOVERED_WORDS]
    halves = [_halves(words) for words in topic_words]
    general = np.asarray(GENERAL_WORDS)
    sentences: list[str] = []
    for words in [w for pair in halves for w in pair] + [[]]:
        vocab = np.asarray(words or GENERAL_WORDS)
        lengths = rng.integers(6, 16, POOL_SIZE)
        for length in lengths:
            from_topic = rng.random(length) < (0.4 if words else 0.0)
            tokens = np.where(
                from_topic, rng.choice(vocab, length), rng.choice(general, length)
            ).tolist()
            tokens[0] = tokens[0][:1].upper() + tokens[0][1:]
            sentences.append(" ".join(tokens) + ".")
    return pl.Series("sentence", sentences), halves


def make_tables(n_passages: int, seed: int = 0) -> dict[str, pl.DataFrame]:
    """Documents, passages, topics and assignments of a synthetic run (no drift tables)."""
    from narratives.catalog import load_catalog
    from narratives.schemas import ASSIGNMENTS, DOCUMENTS, PASSAGES, TOPICS, conform

    rng = np.random.default_rng(seed)
    catalog = load_catalog()
    catalog_ids = [nid for nid in catalog.ids if nid in CATALOG_WORDS]
    n_topics = len(catalog_ids) + len(DISCOVERED_WORDS)

    # Documents: outlet, month, day; then passages per document until n_passages is reached.
    n_docs = n_passages // PASSAGES_PER_DOC[0] + 1  # enough documents in any draw
    per_doc = rng.integers(*PASSAGES_PER_DOC, n_docs)
    ends = np.cumsum(per_doc)
    n_docs = int(np.searchsorted(ends, n_passages) + 1)
    per_doc = per_doc[:n_docs]
    per_doc[-1] -= int(ends[n_docs - 1] - n_passages)
    outlet = rng.choice(len(OUTLETS), n_docs, p=OUTLET_WEIGHTS / OUTLET_WEIGHTS.sum())
    month_weight = 1.0 + 0.5 * np.exp(-np.arange(N_MONTHS) / 4.0)  # the war's first months
    month = rng.choice(N_MONTHS, n_docs, p=month_weight / month_weight.sum())
    first_day = np.array(
        [
            date(
                FIRST_MONTH.year + (FIRST_MONTH.month - 1 + m) // 12,
                (FIRST_MONTH.month - 1 + m) % 12 + 1,
                1,
            ).toordinal()
            for m in range(N_MONTHS + 1)
        ]
    )
    days_in_month = np.diff(first_day)
    ordinal = first_day[month] + (rng.random(n_docs) * days_in_month[month]).astype(np.int64)
    epoch = date(1970, 1, 1).toordinal()

    # Topics: a document has a main topic; each passage keeps it or draws another one.
    cumulative = np.cumsum(_topic_probabilities(catalog_ids, rng), axis=2)
    main_topic = _sample(cumulative[outlet, month], rng)
    doc_of_passage = np.repeat(np.arange(n_docs), per_doc)
    position = np.arange(n_passages) - np.repeat(np.cumsum(per_doc) - per_doc, per_doc)
    other = _sample(cumulative[outlet[doc_of_passage], month[doc_of_passage]], rng)
    topic = np.where(rng.random(n_passages) < 0.55, main_topic[doc_of_passage], other)
    topic = np.where(rng.random(n_passages) < OUTLIER_SHARE, -1, topic)

    # Texts: 4 sentences of the passage's topic (in its half of the period) and one general one.
    pool, halves = _sentence_pools(rng)
    general_pool = 2 * n_topics
    half = (month[doc_of_passage] >= N_MONTHS // 2).astype(np.int64)
    topic_pool = np.where(topic < 0, general_pool, 2 * topic + half)
    columns = []
    for slot in range(N_SENTENCES):
        which = topic_pool if slot < N_SENTENCES - 1 else np.full(n_passages, general_pool)
        index = which * POOL_SIZE + rng.integers(0, POOL_SIZE, n_passages)
        columns.append(pool.gather(index).alias(f"s{slot}"))
    shuffle = rng.permutation(N_SENTENCES)  # the general sentence is not always last
    doc_ids = pl.Series("doc_id", np.arange(n_docs)).cast(pl.String).str.zfill(7)
    doc_ids = "syn-" + doc_ids
    passage_doc = doc_ids.gather(doc_of_passage)
    passages = pl.DataFrame(
        {
            "passage_id": passage_doc + "#" + pl.Series(position).cast(pl.String),
            "doc_id": passage_doc,
            "position": pl.Series(position, dtype=pl.UInt32),
            "text": pl.DataFrame([columns[i] for i in shuffle])
            .select(pl.concat_str(pl.all(), separator=" "))
            .to_series(),
        }
    )
    passages = conform(passages, PASSAGES)

    # Document rows: text = passages joined, title from the main topic's words, url.
    titles_words = [[*words[0], *words[1]] for words in halves]
    title_index = rng.integers(0, 10_000, n_docs)
    title_vocab = pl.Series([w for words in titles_words for w in words])
    offsets = np.cumsum([0] + [len(w) for w in titles_words])[:-1]
    lengths = np.array([len(w) for w in titles_words])
    kw1 = title_vocab.gather(offsets[main_topic] + title_index % lengths[main_topic])
    kw2 = title_vocab.gather(offsets[main_topic] + (title_index // 7) % lengths[main_topic])
    general = pl.Series(GENERAL_WORDS[24:])
    g1 = general.gather(rng.integers(0, general.len(), n_docs))
    texts = passages.group_by("doc_id", maintain_order=True).agg(pl.col("text").str.join("\n\n"))
    documents = pl.DataFrame(
        {
            "doc_id": doc_ids,
            "date": pl.Series(ordinal - epoch).cast(pl.Int32).cast(pl.Date),
            "source": pl.Series(OUTLETS).gather(outlet),
            "title": kw1 + ": " + g1 + " und " + kw2,
            "url": "https://" + pl.Series(DOMAINS).gather(outlet) + "/ukraine/" + doc_ids + ".html",
            "lang": pl.repeat("de", n_docs, eager=True),
        }
    ).join(texts, on="doc_id", how="left")
    documents = conform(documents, DOCUMENTS)

    # Topic ids as BERTopic numbers them: by size, largest first; -1 for outliers.
    sizes = np.bincount(topic[topic >= 0], minlength=n_topics)
    order = np.argsort(-sizes, kind="stable")
    new_id = np.empty(n_topics, dtype=np.int32)
    new_id[order] = np.arange(n_topics, dtype=np.int32)
    topic_id = np.where(topic < 0, -1, new_id[np.maximum(topic, 0)]).astype(np.int32)
    probability = np.where(topic < 0, 0.0, rng.beta(6, 2, n_passages)).astype(np.float32)
    assignments = conform(
        pl.DataFrame(
            {
                "passage_id": passages["passage_id"],
                "doc_id": passages["doc_id"],
                "topic_id": topic_id,
                "probability": probability,
            }
        ),
        ASSIGNMENTS,
    )
    rows = []
    representatives = (
        assignments.group_by("topic_id", maintain_order=True)
        .agg(pl.col("passage_id").head(3))
        .to_dict(as_series=False)
    )
    reps = dict(zip(representatives["topic_id"], representatives["passage_id"], strict=True))
    n_outliers = int((topic < 0).sum())
    if n_outliers:
        rows.append(
            {
                "topic_id": -1,
                "label": "outliers",
                "narrative_id": None,
                "keywords": [],
                "size": n_outliers,
                "representative_passage_ids": reps.get(-1, []),
            }
        )
    labels = [catalog.get(nid).label_de for nid in catalog_ids] + DISCOVERED_LABELS
    keywords = [*CATALOG_WORDS.values(), *DISCOVERED_WORDS]
    for old in order:
        if sizes[old] == 0:
            continue
        rows.append(
            {
                "topic_id": int(new_id[old]),
                "label": labels[old],
                "narrative_id": catalog_ids[old] if old < len(catalog_ids) else None,
                "keywords": keywords[old][:10],
                "size": int(sizes[old]),
                "representative_passage_ids": reps.get(int(new_id[old]), []),
            }
        )
    topics = conform(pl.DataFrame(rows, schema=TOPICS), TOPICS).sort("topic_id")
    return {
        "documents": documents,
        "passages": passages,
        "topics": topics,
        "assignments": assignments,
    }


def _drift(tables: dict[str, pl.DataFrame]) -> tuple[object, dict[str, float]]:
    """The drift tables from the real engine (keyword drift included) and how long they took."""
    from narratives.drift import drift_tables

    start = time.perf_counter()
    result = drift_tables(tables["documents"], tables["passages"], tables["assignments"])
    return result, {"drift": round(time.perf_counter() - start, 3)}


def make_run(models_dir: Path, name: str, n_passages: int, seed: int = 0) -> Path:
    """The run ``models_dir/name`` with ``n_passages`` passages; built only when missing."""
    from narratives import __version__
    from narratives.catalog import load_catalog
    from narratives.config import TrainConfig
    from narratives.pipeline import corpus_fingerprint
    from narratives.record import (
        CatalogInfo,
        CorpusInfo,
        EmbedderInfo,
        LoadSummary,
        RunMetrics,
        RunRecord,
    )
    from narratives.runs import RUN_RECORD, write_run
    from narratives.schemas import DRIFT_TABLES, REQUIRED_TABLES

    models_dir = Path(models_dir)
    final = models_dir / name
    wanted = [RUN_RECORD, *(f"{t}.parquet" for t in (*REQUIRED_TABLES, *DRIFT_TABLES))]
    if all((final / f).is_file() for f in wanted):
        return final
    start = time.perf_counter()
    tables = make_tables(n_passages, seed)
    timings = {"generate": round(time.perf_counter() - start, 3)}
    drift, drift_timings = _drift(tables)
    timings.update(drift_timings)
    documents = tables["documents"]
    catalog = load_catalog()
    record = RunRecord(
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        package_version=__version__,
        config=TrainConfig(seed=seed, embedder="synthetic"),
        corpus=CorpusInfo(
            path=f"synthetic:{n_passages}-passages-seed-{seed}",
            fingerprint=corpus_fingerprint(documents),
            report=LoadSummary(
                n_read=documents.height,
                n_kept=documents.height,
                dropped={"empty_text": 0, "duplicate_row": 0, "duplicate_text": 0},
            ),
        ),
        embedder=EmbedderInfo(name="synthetic", id="synthetic", dim=0),
        catalog=CatalogInfo(path=str(catalog.path), ids=tuple(catalog.ids)),
        metrics=RunMetrics.of(
            documents, tables["passages"], tables["topics"], tables["assignments"]
        ),
        drift=drift.info(),
        timings=timings,
    )
    start = time.perf_counter()
    path = write_run(models_dir, name, {**tables, **drift.tables}, record, overwrite=True)
    timings["write"] = round(time.perf_counter() - start, 3)
    return path


def run_size_mb(path: Path) -> float:
    """Size of a run directory on disk (MB)."""
    return round(sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 1e6, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n_passages", type=int, nargs="+", help="passages per run (repeatable)")
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR)
    parser.add_argument("--name", help="run name (default: synthetic-<n>)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for n in args.n_passages:
        start = time.perf_counter()
        path = make_run(args.models_dir, args.name or f"synthetic-{n}", n, args.seed)
        print(
            f"{path}: {run_size_mb(path)} MB ({time.perf_counter() - start:.1f} s)",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
