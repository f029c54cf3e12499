"""What every benchmark leaves behind: its Markdown table on stdout and, with ``--out``, the results
as JSON (with the date and the machine) and the table as Markdown beside it."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def machine() -> str:
    """The machine a figure was measured on, as the READMEs quote it."""
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def write_report(results: Any, markdown: str, out: Path | None, **extra: Any) -> None:
    """Print ``markdown``; with ``out``, write ``out`` (JSON) and ``out`` with suffix .md."""
    print(markdown)
    if out is None:
        return
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **extra,
        "results": results,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    out.with_suffix(".md").write_text(markdown + "\n")
