"""narratives: find the narratives in a news corpus and how they drift over time and outlets.

The Python API (the CLI is a user of it; names in ``__all__`` keep working across minor
versions; every query returns a polars DataFrame, ``.to_pandas()`` is one call away):

- :func:`train` trains on a corpus path or a polars/pandas DataFrame and returns a :class:`Run`;
- :func:`assign` places new articles into a run without refitting (a new run, same topic ids);
- :func:`open_run` opens a run by name or path (the newest by default); :func:`list_runs` lists
  them;
- :class:`Run` answers ``topics()``, ``narratives()``, ``documents()``, ``prevalence()``,
  ``drift()``, ``outlets()``, ``keywords(topic)`` and ``export(directory)``, and recomputes its
  drift with ``compute_drift()``;
- :func:`default_config` and :func:`load_catalog` read the configuration and the narrative
  catalog, to tweak before training;
- :class:`InputError` (bad input, naming file, row and field) and :class:`RunError` (a missing
  or damaged run) are the errors to catch; both are :class:`NarrativesError`.

Example::

    import narratives
    run = narratives.train("seeds/", run="seeds-demo")
    run.narratives()
    run.prevalence(period="month").to_pandas()
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from narratives.errors import InputError, NarrativesError, RunError

if TYPE_CHECKING:
    from narratives.api import (
        Run,
        assign,
        default_config,
        list_runs,
        load_catalog,
        open_run,
        train,
    )
    from narratives.catalog import Catalog
    from narratives.config import TrainConfig

__version__ = "0.1.0"

__all__ = [
    "Catalog",
    "InputError",
    "NarrativesError",
    "Run",
    "RunError",
    "TrainConfig",
    "__version__",
    "assign",
    "default_config",
    "list_runs",
    "load_catalog",
    "open_run",
    "train",
]

_LAZY = {
    "Catalog": "narratives.catalog",
    "Run": "narratives.api",
    "TrainConfig": "narratives.config",
    "assign": "narratives.api",
    "default_config": "narratives.api",
    "list_runs": "narratives.api",
    "load_catalog": "narratives.api",
    "open_run": "narratives.api",
    "train": "narratives.api",
}
"""Imported on first use, so ``import narratives`` (and every CLI command) stays fast."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'narratives' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
