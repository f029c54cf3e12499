"""Benchmark `narratives assign` against a full retrain, and the lineage of a retrain with
`--parent`, on headlines_de split at 2024-01 with a planted new subject.

    python -m benchmarks.assign --out benchmarks/results/assign.json

1. Train on the headlines before 2024-01 (the parent).
2. Assign the headlines from 2024-01 on, plus 150 synthetic headlines about a fictional
   honey-adulteration scandal in "Kleinhausen" (a subject the parent cannot know), and time it.
3. Retrain on everything with ``--parent`` and time it (warm cache in both: only the planted
   headlines are ever embedded cold, in the parent step or the assign step), and retrain on the
   second half alone with ``--parent`` (no shared passages: only centroids link the topics).
   In a second pair of runs (parent and full retrain), a fictional dam is planted on both
   sides: two subjects (damage found, a lawsuit over its costs), each too small before the
   split to be a topic of its own, large after it; the retrain should label what the parent
   held as one dam topic ``split``.
4. The peer: plain BERTopic's ``transform`` of the same new passages with the parent's fitted
   BERTopic model and the same embeddings (what a BERTopic user would do to place new articles).

Reported: seconds per step and per stage, the ratio assign / retrain, whether the planted
subject forms a candidate topic (its recall and purity), that no catalogued narrative and no
parent topic changes id in the assigned run, the lineage relations of both retrains, and
where the parent's dam topic went. Figures
are measured, not asserted.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import polars as pl

from benchmarks.report import write_report

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpora" / "headlines_de" / "headlines_de.jsonl"
SPLIT = "2024-01-01"
PARENT_DAM = {"damage": 32, "lawsuit": 32}
LATER_DAM = {"damage": 150, "lawsuit": 150}


def planted_headlines(n: int = 150, seed: int = 7) -> pl.DataFrame:
    """Headlines on one fictional subject, spread over March to June 2025."""
    rng = random.Random(seed)
    who = [
        "Bürgermeister Krätzig",
        "Landrat Obermeier",
        "die Stadtwerke Kleinhausen",
        "Imkermeisterin Wendl",
        "der Honigverband",
        "Stadtrat Pfeffer",
        "die Kleinhausener Honig AG",
    ]
    what = [
        "gepanschter Honig",
        "Honigpanscherei",
        "Zuckersirup im Honig",
        "falsch etikettierter Blütenhonig",
        "Honig-Betrug",
    ]
    verb = ["Ermittlungen gegen", "Vorwürfe gegen", "Razzia bei", "Anklage gegen"]
    tail = ["in Kleinhausen", "im Kleinhausener Honigskandal", "nach Laborbefund"]
    rows = []
    for i in range(n):
        text = f"{rng.choice(verb)} {rng.choice(who)}: {rng.choice(what)} {rng.choice(tail)}"
        day = f"2025-{rng.randint(3, 6):02d}-{rng.randint(1, 28):02d}"
        source = rng.choice(["zeit.de", "spiegel.de", "t-online.de"])
        rows.append({"doc_id": f"honig-{i}", "date": day, "source": source, "text": text})
    return pl.DataFrame(rows)


SPLIT_SUBJECTS = {
    "damage": (
        ["Risse", "Sickerwasser", "Betonschäden", "Setzungen", "Undichte Fugen", "Rost"],
        ["an der Mühlbrunner Talsperre", "am Staudamm Mühlbrunn", "in der Staumauer"],
        [
            "Gutachter warnen vor Dammbruch",
            "Statiker fordern Sanierung der Staumauer",
            "Ingenieure prüfen die Staumauer",
            "Pegel des Stausees wird abgesenkt",
            "Messgeräte zeigen Verformung der Mauer",
            "Taucher untersuchen den Grundablass",
        ],
        [
            "Anwohner unterhalb des Damms besorgt",
            "Evakuierungsplan liegt bereit",
            "Hochwasserschutz in Gefahr",
            "Sprengung des Altbetons geplant",
            "",
        ],
    ),
    "lawsuit": (
        ["Klage", "Prozess", "Schadenersatzforderung", "Rechtsstreit", "Berufung", "Vergleich"],
        ["um die Mühlbrunner Talsperre", "um den Staudamm Mühlbrunn", "um die Baukosten"],
        [
            "Baukonzern fordert Millionen vom Landkreis",
            "Wasserverband zieht vor das Landgericht",
            "Landkreis verliert vor dem Oberlandesgericht",
            "Anwälte streiten über Baukosten",
            "Richter vertagen das Urteil",
            "Kläger verlangen Akteneinsicht in Verträge",
        ],
        [
            "Steuerzahler sollen zahlen",
            "Rechnungshof rügt Vergabe",
            "Urteil im Herbst erwartet",
            "Kreistag berät über Vergleichsangebot",
            "",
        ],
    ),
}
"""Two subjects about one fictional dam: damage found at it, and the lawsuit over its costs."""


def planted_split(
    n: dict[str, int], years: tuple[int, int], prefix: str, seed: int, named: bool
) -> pl.DataFrame:
    """Distinct headlines on the two dam subjects, ``n[subject]`` of each, dated within
    ``years`` (the corpus loader drops repeated texts, so none is repeated). ``named``: every
    headline names the dam (what ties the two subjects into one topic while they are small);
    otherwise one in three does, and the rest say only what happened."""
    rng = random.Random(seed)
    rows = []
    for subject, (heads, places, tails, extras) in SPLIT_SUBJECTS.items():
        texts: set[str] = set()
        while len(texts) < n[subject]:
            extra = rng.choice(extras)
            place = rng.choice(places[:2] if named else places[2:] * 4 + places[:2])
            text = f"{rng.choice(heads)} {place}: {rng.choice(tails)}"
            texts.add(f"{text} – {extra}" if extra else text)
        for i, text in enumerate(sorted(texts)):
            day = f"{rng.randint(*years)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            source = rng.choice(["zeit.de", "spiegel.de", "t-online.de", "welt.de"])
            rows.append(
                {"doc_id": f"{prefix}-{subject}-{i}", "date": day, "source": source, "text": text}
            )
    return pl.DataFrame(rows)


def split_corpus(directory: Path) -> dict[str, Path]:
    """The corpora of each step, written under ``directory``.

    - ``first``: headlines before the split (the parent); ``second``: those from the split on
      plus the planted honey scandal (what ``assign`` adds); ``full``: both.
    - ``first_dam`` and ``full_dam``: the same with a fictional dam planted on both sides of
      the split. Before it, each of the dam's two subjects has fewer headlines than a topic
      needs there, so that parent holds the dam as one topic at most; after it, each is large
      enough to be a topic of its own, which a retrain with ``--parent`` should label ``split``
      from the parent's dam topic. The dam is kept out of the assign step, where its synthetic
      headlines would be the honey scandal's nearest neighbours."""
    keep = ["doc_id", "date", "source", "title", "text", "url"]
    documents = pl.read_ndjson(CORPUS).select(keep).with_columns(pl.col("date").cast(pl.String))
    first = documents.filter(pl.col("date") < SPLIT)
    later = documents.filter(pl.col("date") >= SPLIT)
    early_dam = planted_split(PARENT_DAM, (2022, 2023), "dam-early", seed=11, named=True)
    late_dam = planted_split(LATER_DAM, (2024, 2025), "dam-late", seed=12, named=False)
    frames = {
        "first": [first],
        "second": [later, planted_headlines()],
        "full": [first, later, planted_headlines()],
        "first_dam": [first, early_dam],
        "full_dam": [first, early_dam, later, late_dam],
    }
    paths = {}
    for name, parts in frames.items():
        paths[name] = directory / f"{name}.jsonl"
        pl.concat(parts, how="diagonal_relaxed").write_ndjson(paths[name])
    return paths


def timed(step):
    start = time.perf_counter()
    value = step()
    return value, round(time.perf_counter() - start, 2)


def bertopic_transform(parent, assigned) -> float:
    """Seconds for plain BERTopic's transform of the new passages with the parent's model."""
    from narratives.embed import embed, open_cache
    from narratives.model import TopicModel

    model = TopicModel.load(parent)
    fresh = assigned.table("passages").join(
        parent.table("passages").select("passage_id"), on="passage_id", how="anti"
    )
    config = parent.config
    vectors = embed(
        fresh["text"].to_list(),
        parent.embedder(),
        cache=open_cache(config.cache, config.cache_dir),
        progress=False,
    )
    _, seconds = timed(lambda: model.topic_model_.transform(fresh["text"].to_list(), vectors))
    return seconds


def planted_figures(assigned) -> dict:
    """Where the planted headlines went: the candidate topic that holds most of them."""
    rows = assigned.table("assignments")
    planted = rows.filter(pl.col("doc_id").str.starts_with("honig-"))
    candidates = assigned.topics().filter(pl.col("label").str.starts_with("new: "))
    best = (
        planted.filter(pl.col("topic_id").is_in(candidates["topic_id"].implode()))
        .group_by("topic_id")
        .len()
        .sort("len", descending=True)
        .head(1)
    )
    if best.is_empty():
        return {"candidate_found": False, "n_planted": planted.height}
    topic, hits = best.row(0)
    members = rows.filter(pl.col("topic_id") == topic).height
    return {
        "candidate_found": True,
        "candidate": candidates.filter(pl.col("topic_id") == topic)["label"][0],
        "n_planted": planted.height,
        "recall": round(hits / planted.height, 3),
        "purity": round(hits / members, 3),
        "n_candidates": candidates.height,
    }


def split_figures(parent, retrained) -> dict:
    """What became of the parent's dam topic in the retrain: the relation of each new topic
    its passages went to, and how cleanly each of those holds one of the two subjects."""

    def dam(run) -> pl.DataFrame:
        rows = run.table("assignments").filter(pl.col("doc_id").str.starts_with("dam-"))
        return rows.with_columns(pl.col("doc_id").str.split("-").list.get(2).alias("subject"))

    before = dam(parent).filter(pl.col("topic_id") >= 0)
    if before.is_empty():
        return {"parent_topic": None}
    topic, held = before.group_by("topic_id").len().sort("len", descending=True).row(0)
    lineage = retrained.lineage().filter(pl.col("parent_topic_id") == topic)
    after = dam(retrained)
    children = []
    for row in lineage.iter_rows(named=True):
        members = after.filter(pl.col("topic_id") == row["topic_id"])
        counts = dict(members.group_by("subject").len().iter_rows())
        children.append(
            {
                "topic_id": row["topic_id"],
                "relation": row["relation"],
                "overlap": None if row["overlap"] is None else round(row["overlap"], 3),
                "subjects": counts,
            }
        )
    return {
        "parent_topic": topic,
        "parent_topic_dam_share": round(held / before.height, 3),
        "parent_topic_subjects": dict(
            before.filter(pl.col("topic_id") == topic).group_by("subject").len().iter_rows()
        ),
        "retrain": children,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="JSON report (and .md beside it).")
    args = parser.parse_args(argv)
    import narratives

    with tempfile.TemporaryDirectory(prefix="bench-assign-") as tmp:
        work = Path(tmp)
        corpora = split_corpus(work)
        first, second, full = corpora["first"], corpora["second"], corpora["full"]
        models = work / "models"
        quiet = {"models_dir": models, "progress": False, "verbose": False}
        parent, t_parent = timed(lambda: narratives.train(first, run="first", **quiet))
        assigned, t_assign = timed(
            lambda: narratives.assign(parent, second, name="second", **quiet)
        )
        retrained, t_retrain = timed(
            lambda: narratives.train(full, run="full", parent=parent, **quiet)
        )
        halves, t_halves = timed(
            lambda: narratives.train(second, run="second-half", parent=parent, **quiet)
        )
        dam_parent = narratives.train(corpora["first_dam"], run="first-dam", **quiet)
        dam_retrained = narratives.train(
            corpora["full_dam"], run="full-dam", parent=dam_parent, **quiet
        )
        t_peer = bertopic_transform(parent, assigned)
        old_ids = parent.table("topics")["topic_id"].to_list()
        kept = assigned.table("topics")["topic_id"].to_list()[: len(old_ids)] == old_ids
        relations = dict(retrained.lineage()["relation"].value_counts().iter_rows())
        halves_relations = dict(halves.lineage()["relation"].value_counts().iter_rows())
        results = {
            "parent_documents": parent.record.metrics.n_documents,
            "new_documents": assigned.record.metrics.n_documents
            - parent.record.metrics.n_documents,
            "seconds": {
                "train_parent": t_parent,
                "assign": t_assign,
                "retrain_full": t_retrain,
                "retrain_second_half": t_halves,
                "bertopic_transform": t_peer,
            },
            "assign_stages": assigned.timings,
            "retrain_stages": retrained.timings,
            "assign_over_retrain": round(t_assign / t_retrain, 3),
            "planted": planted_figures(assigned),
            "topic_ids_kept": kept,
            "narrative_ids_kept": assigned.record.catalog.ids == parent.record.catalog.ids,
            "lineage": relations,
            "lineage_second_half": halves_relations,
            "planted_split": split_figures(dam_parent, dam_retrained),
        }
    seconds = results["seconds"]
    markdown = "\n".join(
        [
            "## Assign vs retrain (headlines_de split at 2024-01, warm cache)",
            "",
            "| step | seconds |",
            "|---|---|",
            *(f"| {k} | {v} |" for k, v in seconds.items()),
            "",
            f"assign / retrain: {results['assign_over_retrain']}; "
            f"stages of assign: {results['assign_stages']}",
            f"planted subject: {results['planted']}",
            f"ids kept: topics {kept}, narratives {results['narrative_ids_kept']}; "
            f"lineage of the retrain: {relations}",
            f"lineage of the second half alone with --parent: {halves_relations}",
            f"planted split: {results['planted_split']}",
        ]
    )
    write_report(results, markdown, args.out)


if __name__ == "__main__":
    main()
