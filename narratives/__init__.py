"""narratives: find the narratives in a news corpus and how they drift over time and outlets."""

from narratives.errors import InputError, NarrativesError, RunError

__version__ = "0.1.0"

__all__ = ["InputError", "NarrativesError", "RunError", "__version__"]
