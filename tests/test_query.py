"""Boolean keyword queries over lemmas, as analysts write them for narratives, on news passages."""

from __future__ import annotations

import numpy as np
import pytest

from narratives.errors import InputError
from narratives.query import (
    And,
    Near,
    Not,
    Or,
    Phrase,
    Query,
    QuerySyntaxError,
    Term,
    match_matrix,
    parse_query,
    sentence_windows,
    tokenize,
)
from narratives.vectorizer import TopicWordAnalyzer


@pytest.fixture(scope="module")
def analyzer() -> TopicWordAnalyzer:
    return TopicWordAnalyzer(languages=("de", "en"))


@pytest.fixture
def hits(analyzer: TopicWordAnalyzer):
    """hits(query, passage) -> whether the query matches the passage."""

    def check(query: str, passage: str) -> bool:
        return parse_query(query).matches(tokenize(passage, analyzer))

    return check


def test_the_example_query_tags_failure_stories_only(hits) -> None:
    query = 'Gegenoffensive AND (scheitern OR Misserfolg* OR "keine Erfolge")'
    assert hits(query, "Ukrainische Gegenoffensive ist gescheitert, sagt Moskau")
    assert hits(query, "Gegenoffensive: Misserfolge an der Südfront")
    assert hits(query, "Die Gegenoffensive bringt keine Erfolge")
    assert not hits(query, "Gegenoffensive kommt voran: Kiew meldet Geländegewinne")
    assert not hits(query, "Keine Erfolge bei den Verhandlungen in Istanbul")


def test_and_binds_tighter_than_or(hits) -> None:
    assert parse_query("Kiew OR Moskau AND Raketen").root == Or(
        (Term("Kiew"), And((Term("Moskau"), Term("Raketen"))))
    )
    assert hits("Kiew OR Moskau AND Raketen", "Kiew meldet ruhige Nacht")
    assert not hits("Kiew OR Moskau AND Raketen", "Moskau meldet ruhige Nacht")
    assert hits("(Kiew OR Moskau) AND Raketen", "Moskau meldet Raketen über der Stadt")
    assert not hits("(Kiew OR Moskau) AND Raketen", "Kiew meldet ruhige Nacht")


def test_words_side_by_side_mean_and(hits) -> None:
    assert parse_query("Munition Mangel") == parse_query("Munition AND Mangel")
    assert str(parse_query("Munition Mangel")) == "Munition AND Mangel"
    assert hits("Munition Mangel", "Mangel an Munition: Kiew bittet um Hilfe")
    assert not hits("Munition Mangel", "Neue Munition für Kiew")


def test_not_excludes_and_may_stand_alone(hits) -> None:
    assert parse_query("Frieden NOT Kapitulation") == parse_query("Frieden AND NOT Kapitulation")
    assert hits("Frieden NOT Kapitulation", "Papst ruft zu Frieden in der Ukraine auf")
    assert not hits("Frieden NOT Kapitulation", "Frieden heißt Kapitulation, sagt Selenskyj")
    assert hits("NOT Krieg", "Wahlkampf in Thüringen")
    assert not hits("NOT Krieg", "Der Krieg geht ins dritte Jahr")
    assert hits("NOT NOT Krieg", "Der Krieg geht ins dritte Jahr")


def test_near_matches_in_either_order_within_its_window(hits) -> None:
    assert hits("Putin NEAR/3 droht", "Putin droht dem Westen")
    assert hits("droht NEAR/3 Putin", "Putin droht dem Westen")
    assert hits("Westen NEAR/3 Putin", "Putin droht dem Westen")  # 3 positions apart
    assert not hits("Westen NEAR/2 Putin", "Putin droht dem Westen")
    assert hits("Putin NEAR Atomwaffen", "Putin droht dem Westen mit Atomwaffen")  # 5 apart
    assert not hits("Putin NEAR Atomwaffen", "Putin droht dem Westen erneut mit Atomwaffen")


def test_near_crosses_sentence_breaks_but_they_take_no_position(hits) -> None:
    assert hits("Bachmut NEAR/1 Rückzug", "Kämpfe um Bachmut. Rückzug angeordnet")
    assert not hits("Bachmut NEAR/1 Rückzug", "Kämpfe um Bachmut. Kein Rückzug")


def test_near_takes_phrases_or_groups_and_chains(hits) -> None:
    query = '"keine Erfolge" NEAR/4 (Gegenoffensive OR Offensive)'
    assert hits(query, "Keine Erfolge: Die Offensive stockt")
    assert not hits(query, "Keine Erfolge in Istanbul, aber die Offensive im Süden stockt weiter")
    chained = "Selenskyj NEAR/3 Biden NEAR/3 Patriot"
    assert hits(chained, "Selenskyj trifft Biden, bittet um Patriot-Systeme")
    assert not hits(chained, "Selenskyj trifft Biden in Washington, später über Patriot")


def test_phrase_needs_consecutive_words_in_one_sentence(hits) -> None:
    assert hits('"keine Erfolge"', "Die Offensive bringt keine Erfolge")
    assert hits('"keine Erfolge"', "Die Offensive bringt keinen Erfolg")  # both words lemmatised
    assert not hits('"keine Erfolge"', "Keine großen Erfolge an der Front")
    assert not hits('"keine Erfolge"', "Kiew meldet Erfolge, keine Verluste")
    assert not hits('"Waffen liefern"', "Berlin will keine Waffen. Liefern soll Paris")
    assert hits('"Waffen liefern"', "Berlin will keine Waffen liefern")


def test_phrase_words_may_be_wildcards(hits) -> None:
    assert hits('"Mangel an *munition"', "Mangel an Artilleriemunition an der Front")
    assert not hits('"Mangel an *munition"', "Mangel an Panzern an der Front")


def test_typographic_quotes_delimit_phrases(hits) -> None:
    assert parse_query("„keine Erfolge“") == parse_query('"keine Erfolge"')
    assert hits("„keine Erfolge“", "Gegenoffensive bringt keine Erfolge")


def test_wildcards_match_inside_german_compounds(hits) -> None:
    assert hits("Munition*", "Munitionsmangel an der Front")
    assert not hits("Munition*", "Artilleriemunition aus Südkorea")
    assert hits("*munition", "Artilleriemunition aus Südkorea")
    assert not hits("*munition", "Munitionsmangel an der Front")
    assert hits("*munition*", "Munitionsmangel an der Front")
    assert hits("*munition*", "Artilleriemunition aus Südkorea")
    assert hits("*munition*", "EU liefert 155-mm-Artilleriemunitionspakete")
    assert not hits("*munition*", "Panzerhaubitzen für Kiew")
    assert hits("Misserfolg*", "Die Misserfolge der Gegenoffensive")
    assert hits("Patriot-*", "Kiew fehlen Patriot-Abfangraketen")
    assert not hits("Patriot-*", "Ein Patriot steht zu seinem Land")


def test_hyphenated_compounds_match_their_parts(hits) -> None:
    assert hits("Beitritt", "Schweden feiert den Nato-Beitritt")
    assert hits("NATO", "Schweden feiert den Nato-Beitritt")
    assert hits("Beitritt", "Finnland nach dem Nato-Beitritts-Gipfel")  # part lemmatised
    assert hits("Nato-Beitritt", "Der NATO-Beitritt Schwedens ist besiegelt")
    assert hits("Nato NEAR/1 Beitritt", "Der NATO-Beitritt Schwedens")
    assert not hits("Beitritt", "Schweden feiert die Nato-Mitgliedschaft")


def test_inflected_forms_match_by_lemma(hits) -> None:
    assert hits("scheitern", "Die Offensive scheiterte am Dnipro")
    assert hits("scheitern", "Die Offensive ist gescheitert")
    assert hits("scheitern", "Die gescheiterte Offensive")
    assert hits("Gegenoffensive", "Zwei Gegenoffensiven im Süden")
    assert hits("Gegenoffensiven", "Die Gegenoffensive im Süden")  # the term is lemmatised too
    assert hits("Krieg", "Die Folgen des Krieges für Europa")
    assert hits("erobern", "Russische Truppen eroberten das Dorf")
    assert hits("Dorf", "Russische Truppen erobern zwei Dörfer")
    assert hits("fail", "The counteroffensive failed to break through")  # English passage


def test_what_simplemma_does_not_lemmatise(hits) -> None:
    # An inflected participle adjective lemmatises to the participle, and that to the verb: both
    # are its forms. Unknown compounds keep their ending.
    assert hits("scheitern", "Nach der gescheiterten Offensive")
    assert hits("gescheitert", "Nach der gescheiterten Offensive")
    assert hits("liefern", "Die gelieferten Panzer")
    assert not hits("Munitionsmangel", "Wegen des Munitionsmangels")
    assert hits("Munitionsmangel*", "Wegen des Munitionsmangels")


def test_split_separable_verbs_match_their_infinitive(hits) -> None:
    # A main clause splits "ausgehen" into "geht ... aus": the stem also reads as the whole verb.
    assert hits("Munition NEAR/3 ausgehen", "Die Munition geht ihnen aus, es gibt kaum Ersatz")
    assert hits("zurückerobern", "Ukraine erobert Gebiete in Luhansk zurück")
    assert hits("zurückerobern", "Im November eroberte die Armee Cherson zurück. Doch dann")
    assert hits("ablehnen AND angreifen", "Lawrow lehnt Vorschlag ab und Russland greift Kiew an")
    assert hits("ausschließen", "Macron schließt Bodentruppen nicht aus")
    assert hits("ankündigen", 'Russland kündigt "Vergeltung" an')
    assert hits("angreifen", "Russland greift Awdijiwka (Donezk) doch an")
    # The stem keeps its own lemma and the particle its position.
    assert hits("gehen", "Die Munition geht ihnen aus")
    assert hits('"geht ihnen aus"', "Die Munition geht ihnen aus")
    # Only a particle that closes its clause is joined, and only to a verb of that clause.
    assert not hits("ausgehen", "Die Munition geht aus Deutschland an die Front")
    assert not hits("vorrücken", "Die Armee rückt weiter, vor allem im Osten")
    assert not hits("zurückerobern", "Kiew erobert Dörfer, Moskau schlägt zurück")
    assert not hits("ausgehen", "Das Aus für die Offensive")
    # English passages are left as they are.
    assert not hits("ausgehen", "The troops go out")


def test_matching_ignores_case_but_not_umlauts(hits) -> None:
    assert hits("munition", "Munition für Kiew")
    assert hits("MUNITION", "Munition für Kiew")
    assert hits("Munition", "MUNITION FÜR KIEW")
    assert hits("nato", "Die NATO berät in Brüssel")
    assert hits("Rückzug", "Der Rückzug aus Cherson")
    assert not hits("Ruckzug", "Der Rückzug aus Cherson")
    assert not hits("Rueckzug", "Der Rückzug aus Cherson")


def test_negation_near_the_verb_keeps_denials_out(hits) -> None:
    query = "Gegenoffensive AND gescheitert AND NOT (nicht NEAR/2 gescheitert)"
    assert hits(query, "Die Gegenoffensive ist gescheitert")
    assert not hits(query, "Die Gegenoffensive ist nicht gescheitert")
    assert hits(query, "Die Gegenoffensive ist gescheitert, die Moral der Truppe ist es nicht")
    # NEAR looks both ways: a "nicht" right after the verb also counts as its negation.
    assert not hits(query, "Die Gegenoffensive ist gescheitert, nicht die Moral der Truppe")
    assert hits("kein* NEAR/1 Munition", "Kiew hat keine Munition mehr")


def test_lower_case_operators_are_words(hits) -> None:
    assert parse_query("war and peace").root == And((Term("war"), Term("and"), Term("peace")))
    assert hits("war and peace", "Between war and peace: Ukraine's third winter")
    assert not hits("war and peace", "Between war or peace")
    assert hits("Krieg or Frieden", "Krieg or Frieden")
    assert not hits("Krieg or Frieden", "Der Krieg geht weiter")
    assert hits('"did not fail"', "The offensive did not fail")
    assert parse_query("near").root == Term("near")


def test_apostrophes_split_words_like_the_passages(hits) -> None:
    assert parse_query("Russia's").root == Phrase((Term("Russia"), Term("s")))
    assert hits("Russia's", "Russia's army retreats from Kherson")
    assert not hits("Russia's", "Russia retreats from Kherson")


@pytest.mark.parametrize(
    ("query", "position", "message"),
    [
        ("Gegenoffensive AND", 19, "expected a term, a phrase or '(' after 'AND'"),
        ("Krieg AND OR Frieden", 11, "expected a term, a phrase or '(' after 'AND', found 'OR'"),
        ("OR Krieg", 1, "expected a term, a phrase or '(', found 'OR'"),
        ("Krieg NOT", 10, "after 'NOT', found the end of the query"),
        ("Krieg NEAR", 11, "after 'NEAR'"),
        ("(Krieg OR Frieden", 18, "expected ')' to close the '(' at position 1"),
        ("(Krieg OR (Frieden)", 20, "expected ')' to close the '(' at position 1"),
        ("Krieg OR Frieden)", 17, "unmatched ')'"),
        ("()", 2, "after '(', found ')'"),
        ('Gegenoffensive "keine Erfolge', 16, "never closed"),
        ('Gegenoffensive ""', 16, "empty phrase"),
        ("", 1, "the query is empty"),
        ("   ", 1, "the query is empty"),
        ("Krieg NEAR/0 Frieden", 12, "at least 1"),
        ("Krieg NEAR/x Frieden", 12, "expected a whole number after 'NEAR/'"),
        ("Krieg NEAR/ Frieden", 12, "expected a whole number after 'NEAR/'"),
        ("*", 1, "'*' alone is not a term"),
        ("Krieg AND *", 11, "'*' alone is not a term"),
        ("Miss*erfolg", 5, "'*' can only stand at the start or end"),
        ("Krieg & Frieden", 7, "unexpected character '&'"),
        ("Krieg near/3 Frieden", 11, "operators are upper case"),
        ("(Krieg AND Frieden) NEAR/3 Putin", 8, "AND cannot be inside an operand of NEAR/3"),
        ("NOT Krieg NEAR Frieden", 1, "NOT cannot be inside an operand of NEAR"),
        ("Putin NEAR (Krieg OR NOT Frieden)", 22, "NOT cannot be inside an operand of NEAR"),
        ("Putin NEAR/3 (Krieg Frieden)", 21, "implicit AND"),
    ],
)
def test_syntax_errors_name_their_position(query: str, position: int, message: str) -> None:
    with pytest.raises(QuerySyntaxError, match=f"^position {position}: .*") as caught:
        parse_query(query)
    assert caught.value.position == position
    assert message in str(caught.value)
    assert isinstance(caught.value, InputError)


def test_canonical_form_parses_back_to_the_same_tree() -> None:
    sources = {
        "Gegenoffensive (scheitern OR Misserfolg*) NOT Erfolg": (
            "Gegenoffensive AND (scheitern OR Misserfolg*) AND NOT Erfolg"
        ),
        'Putin NEAR (droht OR "warnt vor")': 'Putin NEAR/5 (droht OR "warnt vor")',
        "a NEAR/2 (b NEAR/3 c)": "a NEAR/2 (b NEAR/3 c)",
        "a NEAR/2 b NEAR/3 c": "a NEAR/2 b NEAR/3 c",
        "NOT (Krieg OR Frieden)": "NOT (Krieg OR Frieden)",
        "((Krieg OR Frieden) OR Waffenruhe)": "Krieg OR Frieden OR Waffenruhe",
        "*munition* OR „keine Munition“": '*munition* OR "keine Munition"',
    }
    for source, canonical in sources.items():
        query = parse_query(source)
        assert str(query) == canonical
        assert parse_query(str(query)) == query
        assert query.text == source


def test_query_trees_are_frozen_and_exposed() -> None:
    query = parse_query('Nato NEAR/2 "Beitritt Schwedens" NOT Türkei')
    assert query.root == And(
        (
            Near(Term("Nato"), Phrase((Term("Beitritt"), Term("Schwedens"))), 2),
            Not(Term("Türkei")),
        )
    )
    assert isinstance(query, Query)
    with pytest.raises(AttributeError):
        query.root = Term("Krieg")  # type: ignore[misc]


def test_spans_show_why_a_passage_was_tagged(analyzer: TopicWordAnalyzer) -> None:
    passage = "Kiew: Die Gegenoffensive bringt keine Erfolge. Moskau jubelt"
    tokens = tokenize(passage, analyzer)
    query = parse_query('Gegenoffensive AND ("keine Erfolge" OR scheitern) NOT Waffenruhe')
    assert tokens.surfaces[:3] == ("kiew", "die", "gegenoffensive")
    assert query.spans(tokens) == [(2, 3), (4, 6)]
    shown = [
        passage[tokens.offsets[a][0] : tokens.offsets[b - 1][1]] for a, b in query.spans(tokens)
    ]
    assert shown == ["Gegenoffensive", "keine Erfolge"]
    near = parse_query("Gegenoffensive NEAR/3 Erfolge")
    assert near.spans(tokens) == [(2, 6)]
    assert parse_query("Waffenruhe OR Gegenoffensive").spans(tokens) == [(2, 3)]
    assert parse_query("Gegenoffensive AND Waffenruhe").spans(tokens) == []


def test_tokens_keep_stop_words_and_part_forms(analyzer: TopicWordAnalyzer) -> None:
    tokens = tokenize(
        "Die Gegenoffensiven sind nicht gescheitert. Der Nato-Beitritt kommt", analyzer
    )
    assert tokens.language == "de"
    assert tokens.surfaces == (
        "die", "gegenoffensiven", "sind", "nicht", "gescheitert", "der", "nato-beitritt", "kommt"
    )  # fmt: skip
    assert tokens.lemmas[1] == "gegenoffensive"
    assert tokens.lemmas[4] == "scheitern"
    assert tokens.part_forms[6] == ("nato", "beitritt")
    assert tokens.sentences == (0, 0, 0, 0, 0, 1, 1, 1)
    assert len(tokens) == 8


def test_match_matrix_has_a_column_per_query(analyzer: TopicWordAnalyzer) -> None:
    texts = [
        "Gegenoffensive gescheitert: Kiew zieht Truppen ab",
        "Die Gegenoffensive ist nicht gescheitert, sagt Selenskyj",
        "Munitionsmangel: EU verspricht eine Million Granaten",
        "",
    ]
    queries = [
        parse_query("Gegenoffensive AND gescheitert AND NOT (nicht NEAR/2 gescheitert)"),
        None,
        parse_query("Munition* OR Granate*"),
        parse_query("NOT Krieg"),
    ]
    matrix = match_matrix(queries, texts)
    assert matrix.shape == (4, 4)
    assert matrix.dtype == np.bool_
    assert matrix.tolist() == [
        [True, False, False, True],
        [False, False, False, True],
        [False, False, True, True],
        [False, False, False, True],
    ]
    for row, text in enumerate(texts):
        tokens = tokenize(text, analyzer)
        for column, query in enumerate(queries):
            assert matrix[row, column] == (query is not None and query.matches(tokens))


def test_match_matrix_handles_empty_inputs() -> None:
    assert match_matrix([], ["Krieg"]).shape == (1, 0)
    assert match_matrix([parse_query("Krieg")], []).shape == (0, 1)
    assert not match_matrix([None, None], ["Krieg", "Frieden"]).any()


def test_match_matrix_reads_english_passages_in_english() -> None:
    texts = ["The counteroffensive failed, officials said", "Die Gegenoffensive scheiterte"]
    matrix = match_matrix([parse_query("fail OR scheitern")], texts, languages=("de", "en"))
    assert matrix[:, 0].tolist() == [True, True]
    assert not match_matrix([parse_query("fail")], texts[:1], languages=("de",)).any()


def test_batched_matching_equals_matching_each_passage(analyzer: TopicWordAnalyzer) -> None:
    """The corpus path (sparse presence, bisected wildcards, batches, repeated windows matched
    once) must tag exactly what testing each passage on its own tags."""
    texts = [
        "Gegenoffensive gescheitert: Kiew zieht Truppen ab",
        "Die Gegenoffensive ist nicht gescheitert, sagt Selenskyj",
        "Munitionsmangel: EU verspricht eine Million Granaten. Der Nato-Beitritt bleibt offen.",
        "Artilleriemunition fehlt. Kiew warnt. Die Front hält. Die Munition reicht nicht.",
        "Gegenoffensive gescheitert: Kiew zieht Truppen ab",
        "Keine Erfolge an der Front, die Offensive stockt",
        "Das Munitionslager brennt",
        "Handgranaten explodieren",
        "The counteroffensive failed, officials said",
        "",
        None,
    ]
    queries = [
        parse_query("Gegenoffensive AND gescheitert AND NOT (nicht NEAR/2 gescheitert)"),
        parse_query("Munition* OR *munition OR *granat*"),
        parse_query('"keine Erfolge" OR (Nato NEAR/1 Beitritt)'),
        parse_query("NOT (Kiew OR counteroffensive*)"),
        parse_query("(Munition NEAR/3 nicht) AND NOT Granate*"),
        None,
    ]
    for window in (None, 2):
        expected = np.zeros((len(texts), len(queries)), dtype=bool)
        for row, text in enumerate(texts):
            for part in sentence_windows(text or "", window):
                tokens = tokenize(part, analyzer)
                for column, query in enumerate(queries):
                    if query is not None and query.matches(tokens):
                        expected[row, column] = True
        for batch_size in (1, 3, 100):
            matrix = match_matrix(
                queries, texts, ("de", "en"), window=window, batch_size=batch_size
            )
            assert matrix.tolist() == expected.tolist(), (window, batch_size)
    assert expected[:, :5].any(axis=0).all()
