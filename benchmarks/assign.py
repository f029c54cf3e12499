"""Benchmark `narratives assign` against a full retrain, and the lineage of a retrain with
`--parent`, on headlines_de split at 2024-01 with a planted new subject.

    python -m benchmarks.assign --out benchmarks/results/assign.json

1. Train on the headlines before 2024-01 (the parent).
2. Assign the headlines from 2024-01 on, plus 150 synthetic headlines about a fictional
   honey-adulteration scandal in "Kleinhausen" (a subject the parent cannot know), and time it.
3. Retrain on everything with ``--parent`` and time it (warm cache in both: only the planted
   headlines are ever embedded cold, in the parent step or the assign step).
4. The peer: plain BERTopic's ``transform`` of the same new passages with the parent's fitted
   BERTopic model and the same embeddings (what a BERTopic user would do to place new articles).

Reported: seconds per step and per stage, the ratio assign / retrain, whether the planted
subject forms a candidate topic (its recall and purity), that no catalogued narrative and no
parent topic changes id in the assigned run, and the lineage relations of the retrain. Figures
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


def split_corpus(directory: Path) -> tuple[Path, Path, Path]:
    """The parent's corpus, the new articles (planted included) and both together."""
    keep = ["doc_id", "date", "source", "title", "text", "url"]
    documents = pl.read_ndjson(CORPUS).select(keep).with_columns(pl.col("date").cast(pl.String))
    first = documents.filter(pl.col("date") < SPLIT)
    second = pl.concat(
        [documents.filter(pl.col("date") >= SPLIT), planted_headlines()], how="diagonal_relaxed"
    )
    paths = directory / "first.jsonl", directory / "second.jsonl", directory / "full.jsonl"
    first.write_ndjson(paths[0])
    second.write_ndjson(paths[1])
    pl.concat([first, second], how="diagonal_relaxed").write_ndjson(paths[2])
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="JSON report (and .md beside it).")
    args = parser.parse_args(argv)
    import narratives

    with tempfile.TemporaryDirectory(prefix="bench-assign-") as tmp:
        work = Path(tmp)
        first, second, full = split_corpus(work)
        models = work / "models"
        quiet = {"models_dir": models, "progress": False, "verbose": False}
        parent, t_parent = timed(lambda: narratives.train(first, run="first", **quiet))
        assigned, t_assign = timed(
            lambda: narratives.assign(parent, second, name="second", **quiet)
        )
        retrained, t_retrain = timed(
            lambda: narratives.train(full, run="full", parent=parent, **quiet)
        )
        t_peer = bertopic_transform(parent, assigned)
        old_ids = parent.table("topics")["topic_id"].to_list()
        kept = assigned.table("topics")["topic_id"].to_list()[: len(old_ids)] == old_ids
        relations = dict(retrained.lineage()["relation"].value_counts().iter_rows())
        results = {
            "parent_documents": parent.record.metrics.n_documents,
            "new_documents": assigned.record.metrics.n_documents
            - parent.record.metrics.n_documents,
            "seconds": {
                "train_parent": t_parent,
                "assign": t_assign,
                "retrain_full": t_retrain,
                "bertopic_transform": t_peer,
            },
            "assign_stages": assigned.timings,
            "retrain_stages": retrained.timings,
            "assign_over_retrain": round(t_assign / t_retrain, 3),
            "planted": planted_figures(assigned),
            "topic_ids_kept": kept,
            "narrative_ids_kept": assigned.record.catalog.ids == parent.record.catalog.ids,
            "lineage": relations,
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
        ]
    )
    write_report(results, markdown, args.out)


if __name__ == "__main__":
    main()
