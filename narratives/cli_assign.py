"""`narratives assign`: place new articles into an existing run; narratives.cli registers it."""

from __future__ import annotations

from pathlib import Path

import click
import polars as pl

from narratives.cli_common import MODELS_OPTION, _models_dir, engine_options


@click.command("assign")
@click.argument("run")
@click.argument("corpus", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--as",
    "name",
    default=None,
    help="Name of the new run (default: <run>-<timestamp>, beside the parent).",
)
@engine_options
@click.option("--overwrite", is_flag=True, help="Replace an existing run of that name.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars or stage messages.")
@MODELS_OPTION
def assign(run, corpus, name, engine, address, workers, overwrite, quiet, models_dir) -> None:
    """Place the articles of CORPUS into RUN without refitting, as a new run.

    The same passages rules, embedder, catalog detector and topics as RUN; articles RUN already
    holds (by doc_id or text) are skipped. Passages that fit no topic stay unassigned, and
    enough of them form candidate topics with new ids. The new run keeps RUN's topic ids, holds
    the old and the new documents, recomputes the drift over the whole span and adds a novelty
    table (strong and weak signals first in `narratives drift`).
    """
    from narratives.api import assign as assign_articles
    from narratives.api import open_run

    parent = open_run(run, _models_dir(models_dir))
    result = assign_articles(
        parent,
        corpus,
        name=name,
        overwrite=overwrite,
        engine=engine,
        address=address,
        workers=workers,
        progress=not quiet,
        verbose=not quiet,
    )
    added = result.record.metrics.n_documents - parent.record.metrics.n_documents
    click.echo(f"{result.name}: {added} articles added to {parent.name}'s topics")
    candidates = result.topics().filter(pl.col("label").str.starts_with("new: "))
    for row in candidates.iter_rows(named=True):
        click.echo(f"  candidate topic {row['topic_id']} ({row['size']} passages): {row['label']}")
    print_signals(result)
    timings = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
    click.echo(f"\nrun: {result.path}  ({timings})")


def print_signals(run, limit: int = 8) -> None:
    """The latest period's strong and weak signals of a run with a novelty table."""
    novelty = run.novelty().filter(pl.col("kind") != "unassigned")
    if novelty.is_empty():
        return
    latest = novelty.filter(pl.col("period") == novelty["period"].max())
    shown = latest.filter(pl.col("signal").is_in(["strong", "weak"])).head(limit)
    click.echo(f"\nsignals in {latest['period'][0]} (BERTrend classes; trend: popularity slope)")
    for row in shown.iter_rows(named=True):
        mark = "candidate " if row["kind"] == "candidate" else ""
        click.echo(
            f"  {row['signal']:>6}  {mark}#{row['topic_id']} {row['label']}  "
            f"(popularity {row['popularity']:.1f}, trend {row['trend']:+.1f})"
        )
