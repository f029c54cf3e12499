"""The German-first topic-word analyzer, its CountVectorizer and display forms, on the seeds."""

from __future__ import annotations

import pickle
from pathlib import Path

import polars as pl
import pytest

from narratives.errors import InputError
from narratives.text import split_passages
from narratives.vectorizer import TopicWordAnalyzer, build_vectorizer, display_forms

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
COMMON_STOP_WORDS = ("der", "die", "und", "sagen", "sagte", "laut", "bereits", "dienstag", "the")


@pytest.fixture(scope="module")
def passages() -> list[str]:
    manifest = pl.read_csv(SEEDS / "manifest.csv")
    texts = [(SEEDS / name).read_text(encoding="utf-8") for name in manifest["file"]]
    docs = manifest.select("doc_id", "title").with_columns(text=pl.Series(texts))
    return split_passages(docs)["text"].to_list()


@pytest.fixture(scope="module")
def analyzer() -> TopicWordAnalyzer:
    return TopicWordAnalyzer()


def test_inflected_forms_share_one_key(analyzer: TopicWordAnalyzer) -> None:
    assert analyzer("Gegenoffensiven") == analyzer("Gegenoffensive") == ["gegenoffensive"]
    assert analyzer("Waffenlieferungen") == ["waffenlieferung"]


def test_compounds_stay_whole_and_numbers_go(analyzer: TopicWordAnalyzer) -> None:
    terms = analyzer("Die NATO-Mitgliedschaft, 155-mm-Artilleriemunition und 10.000 Mann 2014")
    assert terms[:2] == ["nato-mitgliedschaft", "155-mm-artilleriemunition"]
    assert not any(term.isdigit() or term in {"10", "000", "2014"} for term in terms)


def test_stop_words_are_dropped_by_surface_and_lemma(analyzer: TopicWordAnalyzer) -> None:
    terms = analyzer("Laut Stoltenberg sagte er am Dienstag, die Munition reiche bereits nicht.")
    assert terms[:3] == ["stoltenberg", "munition", "reichen"]
    assert not set(terms) & set(COMMON_STOP_WORDS)
    assert analyzer("Die Kinder an der Front") == ["kind", "front", "kind front"]


def test_bigrams_follow_unigrams_within_sentences(analyzer: TopicWordAnalyzer) -> None:
    assert analyzer("Kiew braucht Munition. Moskau droht") == [
        "kiew",
        "brauchen",
        "munition",
        "moskau",
        "drohen",
        "kiew brauchen",
        "brauchen munition",
        "moskau drohen",
    ]
    assert TopicWordAnalyzer(ngram_range=(1, 1))("Kiew braucht Munition") == [
        "kiew",
        "brauchen",
        "munition",
    ]
    assert TopicWordAnalyzer(ngram_range=(2, 3))("Kiew braucht Munition") == [
        "kiew brauchen",
        "brauchen munition",
        "kiew brauchen munition",
    ]


def test_acronyms_and_extra_stop_words() -> None:
    analyzer = TopicWordAnalyzer(ngram_range=(1, 1), extra_stop_words=["Stoltenberg"])
    assert analyzer("Stoltenberg lobt die EU und die NATO") == ["loben", "eu", "nato"]


def test_display_forms_restore_natural_spelling(
    analyzer: TopicWordAnalyzer, passages: list[str]
) -> None:
    forms = display_forms(passages, analyzer)
    assert forms["munition"] == "Munition"
    assert forms["gegenoffensive"] == "Gegenoffensive"
    assert forms["nato"] == "NATO"
    assert forms["nato-mitglied"] == "NATO-Mitglied"
    assert forms["unterstützen"] == "unterstützen"
    assert forms["ukrainisch"] == "ukrainisch"
    assert forms["jens stoltenberg"] == "Jens Stoltenberg"


def test_sentence_initial_capitals_count_only_when_nothing_else_is_seen() -> None:
    analyzer = TopicWordAnalyzer(ngram_range=(1, 1))
    forms = display_forms(["Russische Truppen rücken vor. Die russische Armee auch."], analyzer)
    assert forms["russisch"] == "russisch"
    assert forms["truppe"] == "Truppe"


def test_vectorizer_fits_seed_passages(passages: list[str]) -> None:
    vectorizer = build_vectorizer(min_df=1)
    counts = vectorizer.fit_transform(passages)
    vocabulary = vectorizer.vocabulary_
    assert counts.shape == (len(passages), len(vocabulary))
    assert {"munition", "gegenoffensive", "waffenlieferung", "jens stoltenberg"} <= set(vocabulary)
    stop_words = vectorizer.analyzer.stop_words
    parts = {part for term in vocabulary for part in term.split(" ")}
    assert not parts & stop_words
    assert not parts & set(COMMON_STOP_WORDS)


def test_analyzer_pickles_without_its_caches(
    analyzer: TopicWordAnalyzer, passages: list[str]
) -> None:
    before = [analyzer(text) for text in passages]
    data = pickle.dumps(analyzer)
    assert len(data) < 1000
    restored = pickle.loads(data)
    assert repr(restored) == repr(analyzer)
    assert [restored(text) for text in passages] == before
    assert pickle.loads(pickle.dumps(build_vectorizer())).analyzer("Munition") == ["munition"]


def test_bad_configuration_is_an_input_error() -> None:
    with pytest.raises(InputError, match="xx"):
        TopicWordAnalyzer(languages=("de", "xx"))
    with pytest.raises(InputError):
        TopicWordAnalyzer(ngram_range=(2, 1))


def test_bigrams_show_their_surface_wording() -> None:
    analyzer = TopicWordAnalyzer(ngram_range=(1, 2))
    texts = ["Wir müssen diplomatische Lösungen finden.", "Eine diplomatische Lösung fehlt."]
    forms = display_forms(texts, analyzer)
    assert forms["diplomatisch lösung"] in {"diplomatische Lösungen", "diplomatische Lösung"}


def test_each_text_is_lemmatised_in_its_own_language() -> None:
    analyzer = TopicWordAnalyzer(languages=("de", "en"), ngram_range=(1, 1))
    english = analyzer("The rocket systems were fired at the gas plant.")
    assert "rocket" in english and "rocken" not in english and "gas" in english
    german = analyzer("Die Raketen wurden auf das Gaskraftwerk abgefeuert.")
    assert "rakete" in german
