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


class RunError(NarrativesError):
    """A run directory that is missing, partial or corrupt."""

    exit_code = 3
