"""The detector's calibration reads the corpus in its own language."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import polars as pl

from narratives.catalog import Catalog, Narrative
from narratives.detect import NarrativeDetector
from narratives.detect.languages import corpus_languages, in_languages, reads_as
from narratives.query import parse_query

GERMAN = [
    "Der Ukraine geht die Munition aus, meldet die Armee.",
    "Die Munition wird knapp, sagen die Soldaten an der Front.",
    "Es fehlt an Munition und an Granaten für die Artillerie.",
]
ENGLISH = [
    "Ukraine is running out of ammunition, the army says.",
    "Soldiers at the front say that shells are scarce.",
    "The artillery lacks ammunition and shells.",
]
LANGUAGES = ("de", "en")


def _encode(texts: list[str]) -> np.ndarray:
    """A fixed pseudo-embedding per text (the test is about the query side)."""
    rows = [np.random.default_rng(zlib.crc32(t.encode())).normal(size=16) for t in texts]
    return np.asarray(rows, dtype=np.float32).reshape(len(texts), 16)


def _catalog() -> Catalog:
    ammunition = Narrative(
        id="ammunition-shortage",
        label_de="Munitionsmangel",
        label_en="Ammunition shortage",
        description="Der Ukraine geht die Munition aus.",
        examples=(*GERMAN, *ENGLISH),
        counter_examples=("Die Munition kommt pünktlich an.",),
        query=parse_query("Munition AND (ausgehen OR knapp OR fehlen)"),
    )
    return Catalog(path=Path("catalog.toml"), narratives=(ammunition,))


def test_the_corpus_languages_are_those_its_passages_read_as() -> None:
    german = [f"{text} Bericht {i}." for i, text in enumerate(GERMAN * 40)]
    assert corpus_languages(german, LANGUAGES) == {"de"}
    assert corpus_languages(german + ENGLISH * 40, LANGUAGES) == {"de", "en"}
    assert in_languages(GERMAN + ENGLISH, LANGUAGES, frozenset({"de"})) == GERMAN
    assert in_languages(ENGLISH, LANGUAGES, frozenset({"de"})) == ENGLISH, "none readable: all"


def test_a_text_without_stop_words_reads_as_no_language() -> None:
    terse = ["Kremlin rejects peace plan", "Ammunition shortage hits Ukrainian artillery"]
    assert [reads_as(text, LANGUAGES) for text in terse] == [None, None]
    english = [f"{text} {i}" for i, text in enumerate(terse * 100)] + ENGLISH * 10
    assert corpus_languages(english, LANGUAGES) == {"en"}, "terse headlines are not German"
    assert corpus_languages(terse, LANGUAGES) == set(LANGUAGES), "nothing to tell: all"


def test_a_german_querys_recall_is_measured_on_the_german_examples() -> None:
    texts = [f"Nachricht {i}: Die Regierung berät über den Haushalt." for i in range(60)]
    texts += GERMAN * 3
    passages = pl.DataFrame(
        {
            "passage_id": [f"p{i}" for i in range(len(texts))],
            "doc_id": [f"d{i}" for i in range(len(texts))],
            "text": texts,
        }
    )
    detector = NarrativeDetector(_catalog(), languages=LANGUAGES)
    detector.fit(passages, _encode(texts), _encode)
    assert detector.corpus_languages_ == {"de"}
    assert detector.fits_[0].query_recall == 1.0, "English examples a German query cannot read"
