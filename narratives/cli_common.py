"""What the commands share: the models-directory and share options, and KEY=VALUE parsing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from narratives.api import SHARE_CHOICES
from narratives.errors import InputError

MODELS_OPTION = click.option(
    "--models-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where runs live (default: $NARRATIVES_MODELS_DIR or ./models).",
)


def share_options(default: str) -> Callable[[Any], Any]:
    """``--shares`` and ``--calibration``, as ``train`` and ``drift`` take them (``default``:
    what applies without ``--shares``, for the help text)."""

    def decorate(command: Any) -> Any:
        command = click.option(
            "--calibration",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            default=None,
            help="A labelled sample of the corpus (doc_id, narratives) on which to measure the "
            "detector's errors (README: How shares are estimated).",
        )(command)
        return click.option(
            "--shares",
            type=click.Choice(SHARE_CHOICES),
            default=None,
            help="How narrative shares are estimated: corrected for the detector's measured "
            f"errors (acc, pacc, pcc) or counted tags (raw). Default: {default}.",
        )(command)

    return decorate


def engine_options(command: Any) -> Any:
    """``--engine``, ``--address`` and ``--workers``, as ``train`` and ``assign`` take them."""
    command = click.option(
        "--workers",
        type=click.IntRange(min=1),
        default=None,
        help="Embedder threads (local) or Ray actors (ray). Default: the machine's cores, or "
        "the cluster's CPUs.",
    )(command)
    command = click.option(
        "--address",
        default=None,
        metavar="ADDR",
        help="A running Ray cluster (ray://HEAD:10001, or auto); needs --engine ray. Without "
        "it Ray starts on this machine.",
    )(command)
    return click.option(
        "--engine",
        type=click.Choice(["local", "ray"]),
        default="local",
        show_default=True,
        help="Where embedding, query matching and assignment run: this process, or Ray Data "
        "actors (pip install 'narratives[ray]'). Same run either way.",
    )(command)


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
