"""The commands that analyse an existing run: drift, evaluate and label.

Each parses its options and calls the modules that do the work; narratives.cli registers them.
"""

from __future__ import annotations

from pathlib import Path

import click

from narratives.cli_common import MODELS_OPTION, _models_dir, _parse_pairs, share_options
from narratives.drift.settings import PERIOD_CHOICES
from narratives.errors import InputError
from narratives.reports import print_drift, print_evaluation


@click.command()
@click.argument("run", required=False)
@click.option(
    "--period",
    type=click.Choice(PERIOD_CHOICES),
    default=None,
    help="Period of the time series (default: the run's).",
)
@click.option(
    "--by",
    type=click.Choice(["source", "none"]),
    default=None,
    help="Also compute every table per outlet (source), or only over all outlets "
    "(default: the run's).",
)
@click.option(
    "--alpha",
    type=float,
    default=None,
    help="Significance level after Benjamini-Hochberg adjustment (default: the run's, 0.05).",
)
@click.option(
    "--min-change",
    type=float,
    default=None,
    help="Smallest share change called emerging or fading (default: the run's, 0.02).",
)
@share_options("the run's method")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write the tables into this directory instead of into the run.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "parquet", "json"]),
    default="parquet",
    show_default=True,
    help="File format with --out.",
)
@click.option("--limit", type=int, default=12, show_default=True, help="Headline rows to print.")
@MODELS_OPTION
def drift(
    run, period, by, alpha, min_change, shares, calibration, out, fmt, limit, models_dir
) -> None:
    """Narrative shares over time and per outlet for RUN: headline changes, tested.

    Writes prevalence, passage_prevalence, drift, outlets and keyword_drift tables into the run
    (replacing those of training) or, with --out, into a directory.
    """
    from narratives.api import open_run
    from narratives.export import write_table
    from narratives.runs import check_writable_dir

    loaded = open_run(run, _models_dir(models_dir))
    check_writable_dir(loaded.path if out is None else out, "run" if out is None else "out")
    result = loaded.compute_drift(
        period=period,
        by_source=None if by is None else by == "source",
        alpha=alpha,
        min_change=min_change,
        shares=shares,
        calibration=calibration,
        save=out is None,
    )
    from narratives.cli_assign import print_signals

    print_signals(loaded)
    print_drift(loaded, result, limit)
    if out is None:
        click.echo(f"\ntables written into {loaded.path}")
        return
    for name, frame in result.tables.items():
        write_table(frame, out / f"{name}.{fmt}", fmt)
    click.echo(f"\ntables written into {out}")


@click.command()
@click.argument("run", required=False)
@click.option(
    "--labels",
    "labels_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Gold labels per document: CSV, JSONL or Parquet with an id and a label column "
    "(default: the run's corpus, when it is such a file and has the label column).",
)
@click.option(
    "--label-column",
    default=None,
    help="Column of the gold labels (default: narrative; naming it requires labels).",
)
@click.option(
    "--id-column",
    default="doc_id",
    show_default=True,
    help="Column of the document ids in --labels (a corpus file without one: <file>-<row>).",
)
@click.option(
    "--label-unit",
    type=click.Choice(["document", "passage"]),
    default="document",
    show_default=True,
    help="What the ids of --labels name, when the labels are catalog narratives.",
)
@click.option(
    "--map",
    "mappings",
    multiple=True,
    metavar="NARRATIVE=LABEL",
    help="Map a catalogued narrative id to a gold label (repeatable; default: each narrative "
    "to the label most of its documents carry).",
)
@click.option("--no-labels", is_flag=True, help="Do not compare with gold labels.")
@click.option(
    "--stability-seeds",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="Refits with other seeds for the stability figure (0 to skip).",
)
@click.option(
    "--top-n", type=click.IntRange(min=2), default=10, show_default=True, help="Keywords per topic."
)
@click.option("--quiet", "-q", is_flag=True, help="No progress messages.")
@MODELS_OPTION
def evaluate(
    run,
    labels_file,
    label_column,
    id_column,
    label_unit,
    mappings,
    no_labels,
    stability_seeds,
    top_n,
    quiet,
    models_dir,
) -> None:
    """How good are the narratives of RUN (default: the newest run)?

    Prints and stores in the run: topic coherence (NPMI over the run's passages), diversity,
    outlier share, number of topics, stability across seeds and, with gold labels, agreement of
    topics and catalogued narratives with them (NMI, ARI, purity; P/R/F1 per label).
    """
    from dataclasses import replace

    from narratives.evaluate import evaluate_run
    from narratives.runs import load_run, replace_tables

    loaded = load_run(run, _models_dir(models_dir))
    seed = loaded.config.seed
    result = evaluate_run(
        loaded,
        None if no_labels else labels_file,
        label_column=label_column or "narrative",
        labels_required=label_column is not None and not no_labels,
        id_column=id_column,
        label_unit=label_unit,
        labels_from_corpus=not no_labels,
        mapping=_parse_pairs(mappings, "map", "NARRATIVE=LABEL") or None,
        stability_seeds=[seed + k for k in range(1, stability_seeds + 1)],
        top_n=top_n,
        log=None if quiet else (lambda m: click.echo(m, err=True)),
    )
    print_evaluation(loaded, result)
    replace_tables(loaded.path, result.tables, lambda r: replace(r, evaluation=result.record))
    click.echo(
        f'\nstored in {loaded.path}: run.json ("evaluation"), '
        + ", ".join(f"{name}.parquet" for name in result.tables)
    )


@click.command("label")
@click.argument("run")
@click.argument("passage_id")
@click.argument("narrative")
@click.option("--yes", "carries", flag_value=True, default=None, help="The passage carries it.")
@click.option("--no", "carries", flag_value=False, help="The passage does not carry it.")
@click.option(
    "--catalog",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Your catalog file to record the decision in (default: the catalog the run was "
    "trained with when it is yours, else <models-dir>/catalog.toml).",
)
@MODELS_OPTION
def label(run, passage_id, narrative, carries, catalog, models_dir) -> None:
    """Confirm (--yes) or reject (--no) that PASSAGE_ID of RUN carries NARRATIVE.

    The decision is appended to your catalog file as an example or a counter-example, with the
    passage id and the date; the next `narratives train` learns from it. The shipped catalog is
    never edited.
    """
    from narratives.feedback import record_run_feedback
    from narratives.runs import load_run

    if carries is None:
        raise InputError("say whether the passage carries the narrative: --yes or --no")
    directory = _models_dir(models_dir)
    result = record_run_feedback(
        load_run(run, directory), passage_id, narrative, carries, models_dir=directory,
        catalog=catalog,
    )  # fmt: skip
    verdict = "carries" if carries else "does not carry"
    click.echo(
        f"recorded: {passage_id} {verdict} {narrative} -> {result.path}"
        + (" (a new copy of the catalog)" if result.created else "")
        + f"; {result.n_feedback} decisions in it. Retrain to apply them."
    )
