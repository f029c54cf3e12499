"""What the commands share: the models-directory option and the parsing of KEY=VALUE pairs."""

from __future__ import annotations

from pathlib import Path

import click

from narratives.errors import InputError

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
