"""The two folds of narratives_de_dev and the catalogs whose queries never saw each of them.

A dev item is in fold A when the md5 of its doc_id is even, else in fold B. The shipped catalog
was tuned on both folds, so a dev figure for it is in-sample; ``UNSEEN_CATALOG[fold]`` was tuned
without that fold and scores it held out.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

CATALOGS = Path(__file__).resolve().parent / "catalogs"
FOLDS = ("A", "B")
UNSEEN_CATALOG = {
    "A": CATALOGS / "dev_unseen_fold_a.toml",
    "B": CATALOGS / "dev_unseen_fold_b.toml",
}


def fold_of(doc_id: str) -> str:
    """The dev fold ("A" or "B") of an item."""
    return "A" if int(hashlib.md5(doc_id.encode()).hexdigest(), 16) % 2 == 0 else "B"
