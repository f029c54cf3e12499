"""Errors a user can act on: each names the file, row and field that is wrong."""

from __future__ import annotations

from pathlib import Path


class NarrativesError(Exception):
    """Base class of the errors the CLI reports as one line with a non-zero exit."""

    exit_code = 1


class InputError(NarrativesError):
    """Bad input data or configuration: the message names file, row and field where known.

    ``row`` is 1-based and counts data rows (the header of a CSV is not a row; line N of a JSONL
    file is row N).
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.row = row
        self.field = field
        self.reason = message
        where = []
        if path is not None:
            where.append(str(path))
        if row is not None:
            where.append(f"row {row}")
        if field is not None:
            where.append(f"field '{field}'")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class NarrativesWarning(UserWarning):
    """Something a user should know that does not stop the work (the CLI prints it as one
    ``warning:`` line)."""


class RunError(NarrativesError):
    """A run directory that is missing, partial or corrupt."""

    exit_code = 3


def print_stderr(message: str) -> None:
    """Print a progress or stage message on stderr at once (the default ``log`` of long work)."""
    import sys

    print(message, file=sys.stderr, flush=True)


def read_toml(path: Path, what: str) -> dict:
    """Parse a TOML file; a missing file, bad bytes or bad syntax is an InputError naming it."""
    import tomllib

    if not path.is_file():
        raise InputError(f"{what} file not found", path=path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(f"not valid UTF-8 at byte {exc.start}", path=path) from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", path=path) from exc
