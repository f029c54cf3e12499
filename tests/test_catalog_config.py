"""The narrative catalog and the training config: shipped defaults and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from narratives.catalog import load_catalog
from narratives.config import ConfigDeprecation, ModelSettings, TrainConfig, load_config
from narratives.drift import DriftSettings
from narratives.errors import InputError
from narratives.vectorizer import TOKEN_OR_BREAK, TopicWordAnalyzer

DESIGN_NARRATIVES = {
    "failed-counteroffensive",
    "ammunition-shortage",
    "peace-talks-vs-military-aid",
    "ukraine-nato-membership",
    "nato-party-to-war",
    "russia-must-not-win",
    "ukrainian-territorial-gains",
    "escalation-arms-deliveries",
}


def test_shipped_catalog_has_the_design_narratives_in_german_and_english() -> None:
    catalog = load_catalog()
    assert set(catalog.ids) >= DESIGN_NARRATIVES
    analyzer = TopicWordAnalyzer(languages=("de", "en"))
    for narrative in catalog.narratives:
        assert narrative.label_de and narrative.label_en
        languages = [analyzer.language_of(TOKEN_OR_BREAK.findall(e)) for e in narrative.examples]
        assert languages.count("de") >= 12, narrative.id
        assert languages.count("en") >= 4, narrative.id
        assert len(narrative.counter_examples) >= 6, narrative.id
        assert narrative.query is not None, narrative.id
        assert not any(map(narrative.query.matches, _tokens(narrative.counter_examples))), (
            f"{narrative.id}: the query matches one of its own counter-examples"
        )


def _tokens(texts):
    from narratives.query import tokenize

    analyzer = TopicWordAnalyzer(languages=("de", "en"))
    return [tokenize(text, analyzer) for text in texts]


def _catalog(tmp_path: Path, *entries: str) -> Path:
    path = tmp_path / "cat.toml"
    path.write_text("\n\n".join(entries), encoding="utf-8")
    return path


GOOD = (
    '[[narrative]]\nid = "a"\nlabel_de = "A"\nlabel_en = "A"\ndescription = "d"\n'
    'examples = ["Kiew gehen die Granaten aus."]\n'
)


def test_bad_catalogs_get_errors_naming_file_entry_and_field(tmp_path: Path) -> None:
    bad_query = GOOD + 'query = "Munition AND (knapp OR"\n'
    with pytest.raises(InputError, match=r"cat\.toml, row 1, field 'query': narrative 'a': "):
        load_catalog(_catalog(tmp_path, bad_query))
    with pytest.raises(
        InputError, match=r"position 23: expected a term, a phrase or .\(. after .OR."
    ):
        load_catalog(_catalog(tmp_path, bad_query))
    empty_counter = GOOD + "counter_examples = []\n"
    with pytest.raises(InputError, match=r"row 1, field 'counter_examples': must be a non-empty"):
        load_catalog(_catalog(tmp_path, empty_counter))
    twin = GOOD.replace('"a"', '"b"').replace('"A"', '"B"')
    with pytest.raises(InputError, match=r"row 2, field 'examples': .* also in examples of 'a'"):
        load_catalog(_catalog(tmp_path, GOOD, twin))
    own = GOOD + 'counter_examples = ["Kiew gehen die Granaten aus."]\n'
    with pytest.raises(InputError, match="both an example and a counter-example"):
        load_catalog(_catalog(tmp_path, own))
    with pytest.raises(InputError, match=r"row 1, field 'label_en': missing"):
        load_catalog(_catalog(tmp_path, GOOD.replace('label_en = "A"\n', "")))
    feedback = '[[feedback]]\nnarrative = "zzz"\ntext = "x"\ncarries = true\n'
    with pytest.raises(InputError, match=r"row 1, field 'narrative': unknown narrative 'zzz'"):
        load_catalog(_catalog(tmp_path, GOOD, feedback))


def test_feedback_in_a_catalog_counts_as_examples_and_counter_examples(tmp_path: Path) -> None:
    feedback = (
        '[[feedback]]\nnarrative = "a"\npassage_id = "d1#0"\ntext = "Kein Schuss mehr übrig."\n'
        'carries = true\n\n[[feedback]]\nnarrative = "a"\npassage_id = "d2#0"\n'
        'text = "Neue Munitionsfabrik eröffnet."\ncarries = false\n\n[[feedback]]\n'
        'narrative = "a"\npassage_id = "d1#0"\ntext = "Kein Schuss mehr übrig."\ncarries = false\n'
    )
    narrative = load_catalog(_catalog(tmp_path, GOOD, feedback)).get("a")
    assert narrative.positives() == ["Kiew gehen die Granaten aus."], "the last decision wins"
    assert set(narrative.negatives()) == {
        "Neue Munitionsfabrik eröffnet.",
        "Kein Schuss mehr übrig.",
    }


def test_user_catalog_errors_name_the_entry_and_field(tmp_path: Path) -> None:
    path = tmp_path / "cat.toml"
    path.write_text(
        '[[narrative]]\nid = "a"\nlabel_de = "A"\nlabel_en = "A"\ndescription = "d"\n'
        'examples = ["x"]\n\n[[narrative]]\nid = "b"\nlabel_de = "B"\nlabel_en = "B"\n'
        'description = "d"\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=r"cat\.toml, row 2, field 'examples'"):
        load_catalog(path)
    path.write_text(path.read_text().replace('id = "b"', 'id = "a"') + 'examples = ["y"]\n')
    with pytest.raises(InputError, match="duplicate id 'a'"):
        load_catalog(path)


def test_config_round_trips_through_toml(tmp_path: Path) -> None:
    config = TrainConfig(
        seed=7,
        model=ModelSettings(min_topic_size=5),
        drift=DriftSettings(period="month"),
        columns={"text": "body"},
    )
    path = tmp_path / "train.toml"
    path.write_text(config.to_toml(), encoding="utf-8")
    assert load_config(path) == config
    assert "[model]\nmin_topic_size = 5" in config.to_toml()


def test_default_config_printed_with_comments_loads_back(tmp_path: Path) -> None:
    path = tmp_path / "train.toml"
    path.write_text(TrainConfig().to_commented_toml(), encoding="utf-8")
    assert load_config(path) == TrainConfig()


def test_config_errors_name_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "train.toml"
    path.write_text("min_topic_siz = 5\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"train\.toml, field 'min_topic_siz'"):
        load_config(path)
    path.write_text('[drift]\nperiod = "fortnight"\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"train\.toml, field 'drift\.period'.*'fortnight'"):
        load_config(path)
    path.write_text('[model]\nmin_topic_size = "5"\n', encoding="utf-8")
    with pytest.raises(
        InputError, match=r"field 'model\.min_topic_size'.* integer >= 2, got '5' \(str\)"
    ):
        load_config(path)
    path.write_text("seed = -1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"field 'seed'.*got -1"):
        load_config(path)


def test_flat_config_of_the_earlier_layout_loads_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "old.toml"
    path.write_text('min_topic_size = 5\nperiod = "month"\nmin_passage_chars = 150\n')
    with pytest.warns(ConfigDeprecation, match=r"min_topic_size -> \[model\] min_topic_size"):
        config = load_config(path)
    assert config.model.min_topic_size == 5
    assert config.drift.period == "month" and config.passages.min_chars == 150
