"""The narrative catalog and the training config: shipped defaults and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from narratives.catalog import load_catalog
from narratives.config import TrainConfig, load_config
from narratives.errors import InputError

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
    for narrative in catalog.narratives:
        assert narrative.label_de and narrative.label_en and len(narrative.examples) >= 3


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
    config = TrainConfig(seed=7, min_topic_size=5, columns={"text": "body"})
    path = tmp_path / "train.toml"
    path.write_text(config.to_toml(), encoding="utf-8")
    assert load_config(path) == config


def test_config_errors_name_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "train.toml"
    path.write_text("min_topic_siz = 5\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"train\.toml, field 'min_topic_siz'"):
        load_config(path)
    path.write_text('period = "fortnight"\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"train\.toml, field 'period'"):
        load_config(path)
