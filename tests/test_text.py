"""Cleaning and passage splitting on the German seed articles and on small made-up texts."""

from __future__ import annotations

import time
import unicodedata
from pathlib import Path

import polars as pl
import pytest

from narratives.schemas import PASSAGES
from narratives.text import clean_text, split_long_paragraph, split_passages, split_sentences

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def seed_documents() -> pl.DataFrame:
    """The seed articles as a Documents-like table (doc_id, title, text), in manifest order."""
    manifest = pl.read_csv(SEEDS / "manifest.csv")
    texts = [(SEEDS / name).read_text(encoding="utf-8") for name in manifest["file"]]
    return manifest.select("doc_id", "title").with_columns(text=pl.Series(texts))


def seed_text(doc_id: str) -> str:
    docs = seed_documents()
    return docs.filter(pl.col("doc_id") == doc_id)["text"].item()


def documents(*rows: tuple[str, str | None, str | None]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema={"doc_id": pl.String, "title": pl.String, "text": pl.String}, orient="row"
    )


def test_seed_000_loses_the_telegram_appeal_but_keeps_stoltenberg() -> None:
    cleaned = clean_text(seed_text("seed-000"))
    assert "Telegram" not in cleaned
    assert "Zensur" not in cleaned
    assert cleaned.startswith("NATO-Generalsekretär Jens Stoltenberg hat auf einem öffentlichen")
    assert (
        "Jens Stoltenberg hat Misserfolge bei der angekündigten Gegenoffensive der Ukraine "
        "eingeräumt." in cleaned
    )
    assert "Bei seiner Ankunft auf der Veranstaltung erklärte Stoltenberg" in cleaned
    assert cleaned.endswith('die Ukraine seit 2014 immer unterstützt haben", so Stoltenberg.')


def test_seed_003_loses_the_channel_footer_but_keeps_stoltenberg() -> None:
    cleaned = clean_text(seed_text("seed-003"))
    for residue in (
        "#",
        "weltnachrichtensender",
        "Abonniere",
        "Channel",
        "Instagram",
        "In eigener Sache",
        "Kommentare",
        "WELT-Team",
        "Video 2023 erstellt",
        "Back to Top",
    ):
        assert residue not in cleaned
    assert '"Ihre Truppen kommen voran. Unter schweren Kämpfen.' in cleaned
    assert (
        '"Jeder Meter, den die ukrainischen Streitkräfte zurückgewinnen, bedeutet einen Meter, '
        'den Russland verliert."' in cleaned
    )
    assert cleaned.endswith("gegen die Energieinfrastruktur des Landes im kommenden Winter nötig.")


def test_trailing_source_line_and_lone_today_are_removed() -> None:
    assert clean_text(seed_text("seed-002")).endswith(
        'sowohl für die dringenden Erfordernisse von heute als auch auf lange Sicht."'
    )
    assert "Quelle: RT DE" not in clean_text(seed_text("seed-002"))
    assert clean_text(seed_text("seed-004")).endswith('zur NATO geeinigt."')
    assert clean_text("Heute tagt der Rat.\nHeute") == "Heute tagt der Rat."


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Kiew meldet Erfolge. Folgen Sie uns auf Telegram!", "Kiew meldet Erfolge."),
        ("Kiew meldet Erfolge.\nSubscribe to our channel for more", "Kiew meldet Erfolge."),
        ("Mehr unter https://example.org/a?b=1 und www.example.de heute.", "Mehr unter und heute."),
        ("Text.\n#ukraine #krieg\nWeiter.", "Text.\nWeiter."),
        ("Text.\nMehr zum Thema – Anderer Artikel\nWeiter.", "Text.\nWeiter."),
    ],
)
def test_boilerplate_patterns(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


def test_quotes_unicode_and_whitespace_are_normalised() -> None:
    raw = "„Munition“  fehlt,\u00a0«sagt» er.\u200b ‚Frieden‘ – Russia’s Plan\r\n\n\n\nNeu"
    assert clean_text(raw) == '"Munition" fehlt, "sagt" er. \'Frieden\' – Russia\'s Plan\n\nNeu'
    decomposed = unicodedata.normalize("NFD", "Übergriffe während")
    assert clean_text(decomposed) == "Übergriffe während"


def test_long_paragraph_splits_at_sentence_ends_only() -> None:
    sentences = [
        f"Am 12. Oktober lieferte Land {i} z. B. Munition, Dr. Weber u. a. bestätigte das."
        for i in range(40)
    ]
    paragraph = " ".join(sentences)
    chunks = split_long_paragraph(paragraph, 300)
    assert len(chunks) > 1
    assert " ".join(chunks) == paragraph
    assert all(len(chunk) <= 300 for chunk in chunks)
    assert all(chunk.endswith("bestätigte das.") for chunk in chunks)
    assert all(chunk.startswith("Am 12. Oktober") for chunk in chunks)


def test_sentences_are_not_cut_after_abbreviations_ordinals_or_initials() -> None:
    text = "Er kam z. B. am 3. Mai an. Donald J. Trump sprach. Seit 2014. Die NATO wartet!"
    assert list(split_sentences(text)) == [
        "Er kam z. B. am 3. Mai an.",
        "Donald J. Trump sprach.",
        "Seit 2014.",
        "Die NATO wartet!",
    ]


def test_an_over_long_sentence_stays_whole() -> None:
    sentence = "Die Verhandlungen " + "und weitere Gespräche " * 80 + "scheiterten."
    assert split_long_paragraph(f"{sentence} Danach kam nichts.", 500) == [
        sentence,
        "Danach kam nichts.",
    ]


def test_tiny_paragraphs_merge_with_the_next_and_the_last_with_the_previous() -> None:
    body = "A" * 300
    text = f"Zwischentitel\nNoch eine Zeile\n{body}\n{body}\nEnde."
    passages = split_passages(documents(("d", None, text)), min_chars=200)["text"].to_list()
    assert passages == [f"Zwischentitel\nNoch eine Zeile\n{body}", f"{body}\nEnde."]


def test_title_is_prepended_once() -> None:
    body = "Die Bundeswehr liefert weitere Panzer. " * 10
    docs = documents(
        ("new", "Panzer für Kiew", body),
        ("dup", "Panzer für Kiew", f"Panzer für Kiew\n{body}"),
        ("dup-punct", "„Panzer“ für Kiew!", f"Panzer für Kiew\n{body}"),
    )
    first = split_passages(docs).filter(pl.col("position") == 0)["text"].to_list()
    assert first[0] == f"Panzer für Kiew\n{body.strip()}"
    assert all(text.count("Panzer für Kiew") == 1 for text in first)


def test_title_only_document_gives_one_passage_and_empty_gives_none() -> None:
    docs = documents(("t", "Nur eine Schlagzeile", ""), ("e", None, "  \n"), ("n", "", None))
    passages = split_passages(docs)
    assert passages.rows() == [("t#0", "t", 0, "Nur eine Schlagzeile")]


def test_passages_table_ids_positions_and_order() -> None:
    passages = split_passages(seed_documents())
    assert passages.schema == PASSAGES
    assert passages["passage_id"].is_unique().all()
    assert passages["doc_id"].unique(maintain_order=True).to_list() == [
        f"seed-00{i}" for i in range(5)
    ]
    for (doc_id,), group in passages.group_by("doc_id", maintain_order=True):
        assert group["position"].to_list() == list(range(group.height))
        assert group["passage_id"].to_list() == [f"{doc_id}#{i}" for i in range(group.height)]


def test_every_seed_gives_several_passages_within_bounds() -> None:
    passages = split_passages(seed_documents())
    counts = dict(passages.group_by("doc_id").len().iter_rows())
    assert counts == {"seed-000": 5, "seed-001": 3, "seed-002": 9, "seed-003": 2, "seed-004": 9}
    lengths = passages["text"].str.len_chars()
    assert lengths.max() <= 1200
    assert lengths.min() >= 200
    seed_003 = passages.filter(pl.col("doc_id") == "seed-003")["text"].to_list()
    assert seed_003[0].startswith("UKRAINE-KRIEG: Überraschungsbesuch in Kiew")
    assert seed_003[0].count("UKRAINE-KRIEG") == 1


def test_splitting_is_fast() -> None:
    docs = seed_documents()
    many = pl.concat([docs.with_columns(pl.col("doc_id") + f"-{i}") for i in range(250)])
    start = time.perf_counter()
    passages = split_passages(many)
    assert time.perf_counter() - start < 2.0
    assert passages.height == 250 * 28
