"""What the command line prints: topic lists, headline changes, evaluations and tables.

Each function takes what a command computed and prints it with ``click.echo``; nothing here
computes a figure, so the commands stay thin and the printouts stay alike.
"""

from __future__ import annotations

from pathlib import Path

import click
import polars as pl


def print_drift(run, result, limit: int) -> None:
    """Headline changes and over-represented outlets: the catalogued narratives first, then
    the discovered topics."""
    click.echo(
        f"{run.name}: {result.period} periods; {result.n_undated_documents} documents without a "
        "date left out"
    )
    sections = []
    if "narrative_drift" in result.tables and run.has_table("narratives"):
        labels = run.table("narratives").select("narrative_id", pl.col("label_de").alias("label"))
        sections.append(("catalogued narratives", "narrative_", "narrative_id", labels))
    sections.append(("discovered topics", "", "topic_id", run.table("topics")))
    for title, prefix, key, labels in sections:
        click.echo(f"\n== {title}")
        _print_headlines(result.tables[f"{prefix}drift"], labels, key, limit)
        _print_outlets(result.tables[f"{prefix}outlets"], labels, key, limit)


def _print_headlines(drift: pl.DataFrame, labels: pl.DataFrame, key: str, limit: int) -> None:
    from narratives.drift import headline_changes

    headlines = headline_changes(drift, labels, limit=limit, key=key)
    if headlines.is_empty():
        click.echo("no significant change, new or vanished series at this level")
        return
    click.echo(f"{'period':<10} {'status':<9} {'share':>6} {'change':>7} {'p adj':>8}  label")
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


def _print_outlets(outlets: pl.DataFrame, labels: pl.DataFrame, key: str, limit: int) -> None:
    over = outlets.filter(pl.col("period").is_null() & (pl.col("representation") == "over"))
    if key == "topic_id":
        over = over.filter(pl.col("topic_id") >= 0)
    if over.is_empty():
        return
    click.echo("over-represented per outlet (whole corpus):")
    shown = over.join(labels.select(key, "label"), on=key).sort("lift", descending=True)
    for row in shown.head(limit).iter_rows(named=True):
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
    if record.get("narratives"):
        _print_narrative_agreement(record["narratives"], result.tables["evaluation_narratives"])
        return
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


def _print_narrative_agreement(agreement: dict, table: pl.DataFrame) -> None:
    """The catalogued narratives against gold labels that name them (multi-label)."""
    click.echo(
        f"\ngold narratives: {agreement['source']}, column '{agreement['column']}' (labels "
        f"matched by {agreement['matched_by']}): {agreement['n_items']} {agreement['unit']}s"
        + (
            f", {agreement['n_unmatched_ids']} ids not in the run"
            if agreement["n_unmatched_ids"]
            else ""
        )
    )
    click.echo(
        f"\n{'P':>6} {'R':>6} {'F1':>6} {'gold':>5} {'found':>5} "
        f"{'share':>6} {'counted':>8} {'corrected':>10}  narrative"
    )
    for row in table.iter_rows(named=True):
        corrected = "" if row["share"] is None else f"{row['share']:.1%} ({row['share_method']})"
        counted = "" if row["share_raw"] is None else f"{row['share_raw']:.1%}"
        click.echo(
            f"{row['precision']:>6.2f} {row['recall']:>6.2f} {row['f1']:>6.2f} "
            f"{row['n_gold']:>5} {row['n_predicted']:>5} {row['share_gold']:>6.1%} "
            f"{counted:>8} {corrected:>10}  {row['narrative_id']}"
        )
    click.echo(
        f"\nmicro F1 {agreement['micro_f1']:.3f} · macro F1 {agreement['macro_f1']:.3f} · "
        f"F1-samples {agreement['samples_f1']:.3f}"
    )
    click.echo(
        f"{agreement['share_with_narrative']:.1%} of the {agreement['unit']}s carry a catalogued "
        f"narrative (gold: {agreement['gold_share_with_narrative']:.1%})"
    )
    click.echo(
        f"mean absolute error of the narratives' shares among these items: counted "
        f"{agreement['mean_abs_error_raw']:.2%}, corrected {agreement['mean_abs_error']:.2%}"
    )


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
    """The catalogued narratives (documents and passages carrying each, how they were found),
    then the discovered topics with their keywords and the narratives their passages carry."""
    from narratives.runs import load_run

    run = load_run(run_path)
    assignments = run.table("assignments")
    n_docs = assignments["doc_id"].n_unique()
    if run.has_table("narratives"):
        _print_narratives(run, n_docs)
    docs = assignments.group_by("topic_id").agg(pl.col("doc_id").n_unique().alias("docs"))
    table = run.table("topics").join(docs, on="topic_id", how="left").sort("size", descending=True)
    if not show_outliers:
        table = table.filter(pl.col("topic_id") >= 0)
    carried = _topic_narrative_text(run)
    click.echo(
        f"\n{run.name}: {table.height} discovered topics over {n_docs} documents, "
        f"{assignments.height} passages\n"
    )
    click.echo(f"{'topic':>6} {'passages':>9} {'docs':>6}  label")
    indent = " " * 25
    for row in table.iter_rows(named=True):
        click.echo(f"{row['topic_id']:>6} {row['size']:>9} {row['docs'] or 0:>6}  {row['label']}")
        if row["keywords"]:
            click.echo(f"{indent}{', '.join(row['keywords'][:8])}")
        if carried.get(row["topic_id"]):
            click.echo(f"{indent}carries: {carried[row['topic_id']]}")


def _print_narratives(run, n_docs: int) -> None:
    """Catalogued narratives: documents and passages carrying each, and how it is found."""
    narratives = run.table("narratives")
    scores = run.table("narrative_scores", columns=["doc_id", "narrative_id", "tagged", "evidence"])
    tagged = scores.filter(pl.col("tagged"))
    per = tagged.group_by("narrative_id").agg(
        pl.col("doc_id").n_unique().alias("docs"),
        pl.len().alias("passages"),
        (pl.col("evidence") == "head").sum().alias("by_head"),
    )
    table = narratives.join(per, on="narrative_id", how="left").with_columns(
        pl.col("docs", "passages", "by_head").fill_null(0)
    )
    n_any = tagged["doc_id"].n_unique()
    click.echo(
        f"{run.name}: {n_any} of {n_docs} documents ({n_any / max(n_docs, 1):.0%}) carry a "
        f"catalogued narrative\n"
    )
    click.echo(f"{'docs':>6} {'share':>6} {'passages':>9}  narrative  (found by)")
    for row in table.iter_rows(named=True):
        how = "query" if row["has_query"] else "head"
        if row["head_threshold"] is not None and row["has_query"]:
            how += f" + head ({row['by_head']} passages)"
        share = row["docs"] / max(n_docs, 1)
        click.echo(
            f"{row['docs']:>6} {share:>6.1%} {row['passages']:>9}  {row['label_de']} "
            f"[{row['narrative_id']}]  ({how})"
        )


def _topic_narrative_text(run) -> dict[int, str]:
    """Topic id -> "Munitionsmangel 40%, ..." for the topics whose passages carry narratives."""
    if not run.has_table("topic_narratives") or not run.has_table("narratives"):
        return {}
    labels = run.table("narratives").select("narrative_id", "label_de")
    rows = run.table("topic_narratives").join(labels, on="narrative_id")
    text: dict[int, list[str]] = {}
    for row in rows.iter_rows(named=True):
        text.setdefault(row["topic_id"], []).append(f"{row['label_de']} {row['share']:.0%}")
    return {topic: ", ".join(parts[:3]) for topic, parts in text.items()}
