"""What the command line prints: topic lists, headline changes, evaluations and tables.

Each function takes what a command computed and prints it with ``click.echo``; nothing here
computes a figure, so the commands stay thin and the printouts stay alike.
"""

from __future__ import annotations

from pathlib import Path

import click
import polars as pl


def print_drift(run, result, limit: int) -> None:
    from narratives.drift import headline_changes

    topics = run.table("topics")
    click.echo(
        f"{run.name}: {result.period} periods; {result.n_undated_documents} documents without a "
        "date left out"
    )
    headlines = headline_changes(result.tables["drift"], topics, limit=limit)
    if headlines.is_empty():
        click.echo("no significant change, new or vanished narrative at this level")
    else:
        click.echo(f"\n{'period':<10} {'status':<9} {'share':>6} {'change':>7} {'p adj':>8}  topic")
        for row in headlines.iter_rows(named=True):
            status = row["status"] + ("*" if row["change_point"] else "")
            status += "!" if row["small_period"] else ""
            change = "" if row["share_change"] is None else f"{row['share_change']:+.1%}"
            p_adj = "" if row["p_adjusted"] is None else f"{row['p_adjusted']:.1e}"
            click.echo(
                f"{row['period']!s:<10} {status:<9} {row['share']:>6.1%} {change:>7} {p_adj:>8}  "
                f"{row['label']}"
            )
        click.echo("(* a confirmed change point; ! a small period, read with care)")
    outlets = result.tables["outlets"].filter(
        pl.col("period").is_null()
        & (pl.col("representation") == "over")
        & (pl.col("topic_id") >= 0)
    )
    if outlets.height:
        click.echo("\nover-represented narratives per outlet (whole corpus):")
        labels = topics.select("topic_id", "label")
        shown = outlets.join(labels, on="topic_id").sort("lift", descending=True).head(limit)
        for row in shown.iter_rows(named=True):
            click.echo(
                f"  {row['source']:<16} {row['label']}: {row['share']:.0%} vs "
                f"{row['share_others']:.0%} elsewhere (x{row['lift']:.1f})"
            )


def print_evaluation(run, result) -> None:
    record = result.record
    embedder = run.record.embedder.name or "?"
    click.echo(
        f"{run.name}: evaluation ({embedder}; {record['n_passages']} passages, "
        f"{record['n_documents']} documents)\n"
    )
    coherence = record["coherence_npmi"]
    rows = [
        ("topics", f"{record['n_topics']} ({record['n_catalog_narratives']} catalogued)", ""),
        ("outlier share", f"{record['outlier_share']:.1%}", "passages in no topic"),
        (
            f"coherence (NPMI, top {record['coherence_top_n']})",
            "n/a" if coherence is None else f"{coherence:.3f}",
            "-1..1; higher: a topic's keywords occur together",
        ),
        (
            "topic diversity",
            f"{record['topic_diversity']:.3f}",
            "0..1; 1: no keyword in two topics",
        ),
    ]
    stable = record.get("stability")
    if stable:
        seeds = ", ".join(str(s) for s in stable["seeds"])
        rows.append(
            (
                f"stability ({stable['n_fits']} fits)",
                f"ARI {stable['ari']:.3f}, NMI {stable['nmi']:.3f}",
                f"passages' topics agree across seeds {seeds}",
            )
        )
    else:
        rows.append(("stability", "skipped", "--stability-seeds N to measure it"))
    for name, value, note in rows:
        click.echo(f"{name:<28} {value:<24} {note}".rstrip())
    labels = record.get("labels")
    if not labels:
        click.echo("\nno gold labels (pass --labels FILE --label-column NAME to compare)")
        return
    click.echo(
        f"\ngold labels: {labels['source']}, column '{labels['column']}': "
        f"{labels['n_documents']} documents, {labels['n_labels']} labels"
    )
    click.echo(f"({labels['unit']})\n")
    click.echo(f"{'':<12} {'NMI':>7} {'ARI':>7} {'purity':>7}")
    for name in ("topics", "narratives"):
        scores = labels[name]
        click.echo(
            f"{name:<12} {scores['nmi']:>7.3f} {scores['ari']:>7.3f} {scores['purity']:>7.3f}"
        )
    click.echo(f"{labels['narrative_coverage']:.0%} of the documents carry a catalogued narrative")
    prf = result.tables["evaluation_labels"]
    if prf.height:
        click.echo(f"\ncatalogued narratives mapped to labels ({labels['mapping_rule']}):")
        click.echo(f"{'P':>6} {'R':>6} {'F1':>6} {'gold':>5} {'found':>5}  label <- narratives")
        for row in prf.iter_rows(named=True):
            click.echo(
                f"{row['precision']:>6.2f} {row['recall']:>6.2f} {row['f1']:>6.2f} "
                f"{row['n_gold']:>5} {row['n_predicted']:>5}  {row['label']} <- "
                + ", ".join(row["narratives"])
            )
        click.echo(f"macro F1: {labels['macro_f1']:.3f}")


def echo_table(frame: pl.DataFrame) -> None:
    with pl.Config(
        tbl_rows=200,
        tbl_cols=20,
        fmt_str_lengths=70,
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
        tbl_formatting="ASCII_MARKDOWN",
        fmt_table_cell_list_len=6,
    ):
        click.echo(str(frame))


def print_topics(run_path: Path, show_outliers: bool = False) -> None:
    """A readable topic list: label and narrative id, size, then the keywords on their own line."""
    from narratives.runs import load_run

    run = load_run(run_path)
    assignments = run.table("assignments")
    docs = assignments.group_by("topic_id").agg(pl.col("doc_id").n_unique().alias("docs"))
    table = run.table("topics").join(docs, on="topic_id", how="left").sort("size", descending=True)
    if not show_outliers:
        table = table.filter(pl.col("topic_id") >= 0)
    named = table["narrative_id"].drop_nulls().len()
    click.echo(
        f"{run.name}: {table.height} topics ({named} catalogued narratives, "
        f"{table.height - named} new) over {assignments['doc_id'].n_unique()} documents, "
        f"{assignments.height} passages\n"
    )
    click.echo(f"{'topic':>6} {'passages':>9} {'docs':>6}  label")
    indent = " " * 25
    for row in table.iter_rows(named=True):
        tag = f"  [{row['narrative_id']}]" if row["narrative_id"] else "  (new)"
        click.echo(
            f"{row['topic_id']:>6} {row['size']:>9} {row['docs'] or 0:>6}  {row['label']}{tag}"
        )
        if row["keywords"]:
            click.echo(f"{indent}{', '.join(row['keywords'][:8])}")
