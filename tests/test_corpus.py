"""Tests of narratives.corpus: formats, dates, markers, drops and the errors a user sees."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import polars as pl
import pytest

from narratives.corpus import ColumnMap, LoadReport, load_corpus, parse_date
from narratives.errors import InputError
from narratives.schemas import DOCUMENTS

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
D = datetime.date


def write_jsonl(path: Path, records: list[dict]) -> Path:
    """Write one JSON object per line."""
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n")
    return path


def write_csv(path: Path, text: str) -> Path:
    """Write CSV text as UTF-8."""
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path, columns: dict | None = None) -> InputError:
    """The InputError load_corpus raises for ``path``."""
    with pytest.raises(InputError) as info:
        load_corpus(path, columns)
    return info.value


# Formats


def test_seeds_directory_with_manifest() -> None:
    df, report = load_corpus(SEEDS)
    assert df.schema == DOCUMENTS
    assert df["doc_id"].to_list() == [f"seed-00{i}" for i in range(5)]
    assert df["date"].null_count() == 0
    docs = {row["doc_id"]: row for row in df.iter_rows(named=True)}
    assert docs["seed-002"]["date"] == D(2022, 10, 11)
    assert not docs["seed-002"]["text"].lstrip().lower().startswith("date")
    assert docs["seed-002"]["text"].startswith("Unmittelbar vor")
    assert docs["seed-003"]["source"] == "WELT"
    assert docs["seed-000"]["lang"] == "de"
    assert report.n_read == report.n_kept == 5
    assert report.date_markers_stripped == 1
    assert report.summary().startswith("read 5, kept 5; dropped: none; 0 without date")


def test_directory_without_manifest_uses_stems_and_marker_date(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("date 2022-10-11 Text A\r\nzwei", encoding="utf-8")
    (tmp_path / "b.txt").write_bytes(b"\xef\xbb\xbfText B")
    df, report = load_corpus(tmp_path)
    assert df["doc_id"].to_list() == ["b", "a"]
    assert df["text"].to_list() == ["Text B", "Text A\nzwei"]
    assert df["date"].to_list() == [None, D(2022, 10, 11)]
    assert df["source"].to_list() == ["unknown", "unknown"]
    assert report.n_missing_date == 1
    assert report.date_markers_stripped == 1


def test_manifest_jsonl_and_unlisted_file(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("Erster Text")
    (tmp_path / "y.txt").write_text("Zweiter Text")
    write_jsonl(tmp_path / "manifest.jsonl", [{"file": "y.txt", "doc_id": "Y", "source": "FAZ"}])
    df, _ = load_corpus(tmp_path)
    assert df.select("doc_id", "source").rows() == [("x", "unknown"), ("Y", "FAZ")]


def test_csv_with_custom_columns(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "data.csv",
        "id,body,published,outlet\n1,Erster Text,2022-10-11,RT DE\n2,Zweiter Text,,\n",
    )
    mapping = {"doc_id": "id", "text": "body", "date": "published", "source": "outlet"}
    for columns in (mapping, ColumnMap(**mapping)):
        df, report = load_corpus(path, columns)
        assert df.rows() == [
            ("1", D(2022, 10, 11), "RT DE", None, "Erster Text", None, None),
            ("2", None, "unknown", None, "Zweiter Text", None, None),
        ]
        assert report.n_missing_date == 1


def test_csv_bom_crlf_and_generated_ids(tmp_path: Path) -> None:
    path = tmp_path / "news.csv"
    path.write_bytes(b'\xef\xbb\xbftext,date\r\n"Zeile 1\r\nZeile 2",2022-10\r\nNoch einer,\r\n')
    df, _ = load_corpus(path)
    assert df["doc_id"].to_list() == ["news-1", "news-2"]
    assert df["text"].to_list() == ["Zeile 1\nZeile 2", "Noch einer"]
    assert df["date"].to_list() == [D(2022, 10, 1), None]


def test_jsonl_with_blank_lines_and_numeric_ids(tmp_path: Path) -> None:
    path = tmp_path / "data.ndjson"
    lines = [
        json.dumps({"doc_id": 7, "text": "Eins", "date": "11.10.2022", "extra": [1]}),
        "",
        json.dumps({"doc_id": "b", "text": "Zwei", "date": "2022-10-11T08:30:00Z", "url": "u"}),
    ]
    path.write_text("\n".join(lines) + "\n\n")
    df, report = load_corpus(path)
    assert df.select("doc_id", "date", "url").rows() == [
        ("7", D(2022, 10, 11), None),
        ("b", D(2022, 10, 11), "u"),
    ]
    assert report.n_read == 2


def test_parquet_with_date_and_datetime(tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    pl.DataFrame(
        {
            "doc_id": [1, 2],
            "date": [D(2022, 10, 11), None],
            "body": ["Eins", "Zwei"],
            "lang": ["de", ""],
        }
    ).write_parquet(path)
    df, report = load_corpus(path, {"text": "body"})
    assert df.select("doc_id", "date", "text", "lang").rows() == [
        ("1", D(2022, 10, 11), "Eins", "de"),
        ("2", None, "Zwei", None),
    ]
    assert report.n_missing_date == 1
    stamped = tmp_path / "stamped.parquet"
    moment = datetime.datetime(2022, 10, 11, 23, 30)
    pl.DataFrame({"doc_id": ["a"], "date": [moment], "text": ["Eins"]}).write_parquet(stamped)
    assert load_corpus(stamped)[0]["date"].to_list() == [D(2022, 10, 11)]


# Dates


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2022-10-11", D(2022, 10, 11)),
        ("2022-10", D(2022, 10, 1)),
        ("2022-10-11T08:30:00Z", D(2022, 10, 11)),
        ("2022-10-11T23:30:00.123+02:00", D(2022, 10, 11)),
        ("2022-10-11 08:30", D(2022, 10, 11)),
        ("11.10.2022", D(2022, 10, 11)),
        ("1.2.2022", D(2022, 2, 1)),
        (" 2022-10-11 ", D(2022, 10, 11)),
        (D(2022, 10, 11), D(2022, 10, 11)),
        (datetime.datetime(2022, 10, 11, 8, 30), D(2022, 10, 11)),
        ("", None),
        (None, None),
    ],
)
def test_parse_date_accepts(value: object, expected: D | None) -> None:
    assert parse_date(value, path="f.csv", row=1, field="date") == expected


@pytest.mark.parametrize(
    "value", ["gestern", "2022-02-30", "2022-13", "2022-10-11T25:00", 20221011]
)
def test_parse_date_rejects(value: object) -> None:
    with pytest.raises(InputError, match="cannot parse date") as info:
        parse_date(value, path="f.csv", row=4, field="when")
    assert str(info.value).startswith("f.csv, row 4, field 'when': cannot parse date")


# Errors


def test_unparseable_date_names_file_row_field(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "data.csv",
        "doc_id,text,date\na,Eins,2022-10-11\nb,Zwei,2022-10\nc,Drei,gestern\n",
    )
    error = error_of(path)
    assert (error.path, error.row, error.field) == (path, 3, "date")
    assert str(error) == (
        f"{path}, row 3, field 'date': cannot parse date 'gestern' "
        "(expected YYYY-MM-DD, YYYY-MM, DD.MM.YYYY or an ISO datetime)"
    )


def test_bad_date_in_manifest_names_manifest_row(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Eins")
    write_csv(tmp_path / "manifest.csv", "file,date\na.txt,morgen\n")
    error = error_of(tmp_path)
    assert (error.path, error.row, error.field) == (tmp_path / "manifest.csv", 1, "date")


def test_missing_text_column_lists_columns(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "data.csv", "id,body,date\n1,Eins,2022-10-11\n")
    error = error_of(path)
    assert error.field == "text"
    assert str(error) == (
        f"{path}, field 'text': no column 'text' (columns: id, body, date); pass --column text=NAME"
    )
    jsonl = write_jsonl(tmp_path / "data.jsonl", [{"id": 1, "body": "Eins"}])
    assert "no column 'text' (columns: id, body)" in str(error_of(jsonl))


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty.csv", ""),
        ("header.csv", "doc_id,text\n"),
        ("empty.jsonl", ""),
        ("blank.jsonl", "\n\n"),
        ("empty.parquet", ""),
    ],
)
def test_empty_file_has_no_documents(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    error = error_of(path)
    assert error.path == path
    assert "no documents" in str(error)


def test_non_utf8_csv_names_row_and_byte(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"doc_id,text\na,Eins\nb,Gr\xfc\xdfe\n")
    error = error_of(path)
    assert error.row == 2
    assert str(error) == (
        f"{path}, row 2: not valid UTF-8 at byte 23 (line 3); re-save the file as UTF-8"
    )


def test_non_utf8_jsonl_and_txt(tmp_path: Path) -> None:
    jsonl = tmp_path / "data.jsonl"
    jsonl.write_bytes(b'{"doc_id": "a", "text": "Eins"}\n{"doc_id": "b", "text": "\xe4"}\n')
    error = error_of(jsonl)
    assert error.row == 2
    assert "not valid UTF-8 at byte 57 (line 2)" in str(error)
    (tmp_path / "docs").mkdir()
    txt = tmp_path / "docs" / "a.txt"
    txt.write_bytes(b"Eins\nZwei \xe4")
    error = error_of(tmp_path / "docs")
    assert (error.path, error.row) == (txt, None)
    assert "not valid UTF-8 at byte 10 (line 2)" in str(error)


def test_invalid_json_line_names_row(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text('{"doc_id": "a", "text": "Eins"}\n\n{"doc_id": "b", "text": \n')
    error = error_of(path)
    assert (error.path, error.row) == (path, 3)
    assert str(error).startswith(f"{path}, row 3: invalid JSON")
    path.write_text('["not", "an", "object"]\n')
    assert error_of(path).row == 1


def test_duplicate_doc_id_with_different_text(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "data.csv", "doc_id,text\nx,Null\na1,Eins\nb,Zwei\na1,Anders\n")
    error = error_of(path)
    assert (error.row, error.field) == (4, "doc_id")
    assert str(error) == (
        f"{path}, row 4, field 'doc_id': duplicate doc_id 'a1' (first at row 2) "
        "with a different text"
    )


def test_ragged_csv_names_row(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "data.csv", "doc_id,text\na,Eins\nb,Zwei,zu viel\n")
    error = error_of(path)
    assert (error.path, error.row) == (path, 2)
    assert "cannot read CSV" in str(error)


def test_empty_doc_id_is_an_error(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "data.jsonl", [{"id": "a", "text": "x"}, {"text": "y"}])
    error = error_of(path, {"doc_id": "id"})
    assert (error.row, error.field) == (2, "id")


def test_path_and_extension_errors(tmp_path: Path) -> None:
    assert "not found" in str(error_of(tmp_path / "missing.csv"))
    other = tmp_path / "data.xlsx"
    other.write_text("x")
    assert "unsupported file type '.xlsx'" in str(error_of(other))
    (tmp_path / "empty_dir").mkdir()
    assert "no .txt files" in str(error_of(tmp_path / "empty_dir"))


def test_manifest_naming_missing_file(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Eins")
    manifest = write_csv(tmp_path / "manifest.csv", "file,doc_id\na.txt,A\nb.txt,B\n")
    error = error_of(tmp_path)
    assert (error.path, error.row, error.field) == (manifest, 2, "file")
    assert "'b.txt' not found" in str(error)


def test_unknown_column_key() -> None:
    with pytest.raises(InputError, match="unknown column key 'body'"):
        ColumnMap.from_mapping({"body": "text"})
    assert ColumnMap.from_mapping(None) == ColumnMap()


# Drops and report


def test_drop_counts(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "data.jsonl",
        [
            {"doc_id": "a", "text": "Eins zwei", "date": "2022-10-11"},
            {"doc_id": "b", "text": "   "},
            {"doc_id": "c", "text": "date 2022-10 "},
            {"doc_id": "a", "text": "Eins  zwei\n"},
            {"doc_id": "d", "text": "Eins zwei"},
            {"doc_id": "e", "text": "Drei"},
        ],
    )
    df, report = load_corpus(path)
    assert df["doc_id"].to_list() == ["a", "e"]
    assert report.dropped == {"empty_text": 2, "duplicate_row": 1, "duplicate_text": 1}
    assert (report.n_read, report.n_kept, report.n_missing_date) == (6, 2, 1)
    assert report.summary() == (
        "read 6, kept 2; dropped: 2 empty_text, 1 duplicate_row, 1 duplicate_text; "
        "1 without date; 1 date markers stripped"
    )


def test_same_text_in_two_outlets_is_two_documents(tmp_path: Path) -> None:
    """A syndicated headline counts for every outlet that ran it; a second crawl of one
    outlet's headline is dropped."""
    path = write_jsonl(
        tmp_path / "data.jsonl",
        [
            {"doc_id": "gmx-1", "source": "gmx.net", "text": "Kiew: Gegenoffensive braucht Zeit"},
            {"doc_id": "web-1", "source": "web.de", "text": "Kiew: Gegenoffensive  braucht Zeit"},
            {"doc_id": "web-2", "source": "web.de", "text": "Kiew: Gegenoffensive braucht Zeit"},
        ],
    )
    df, report = load_corpus(path)
    assert df["doc_id"].to_list() == ["gmx-1", "web-1"]
    assert report.dropped["duplicate_text"] == 1
    assert report.repeats == {"web-2": "web-1"}, "a dropped repeat names the document it repeats"


def test_only_empty_texts_is_an_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "data.csv", "doc_id,text\na,\nb,  \n")
    assert "no documents with text" in str(error_of(path))


def test_report_is_a_load_report(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "data.csv", "text\nEins\n")
    _, report = load_corpus(str(path))
    assert isinstance(report, LoadReport)
    assert report.path == path
    assert report.summary() == "read 1, kept 1; dropped: none; 1 without date"


@pytest.mark.slow
def test_shared_ukraine_corpus() -> None:
    path = CORPORA / "ukraine_media_en" / "articles.jsonl"
    if not path.is_file():
        pytest.skip(f"shared corpus not available at {path}")
    df, report = load_corpus(path)
    assert report.n_read == 6225
    assert report.n_kept + sum(report.dropped.values()) == 6225
    assert df.height == report.n_kept
    assert df["doc_id"].is_unique().all()
    assert report.n_missing_date == df["date"].null_count()


def test_headline_only_rows_use_their_title_as_text(tmp_path: Path) -> None:
    path = tmp_path / "headlines.jsonl"
    path.write_text(
        '{"doc_id": "h1", "title": "Munition wird knapp", "text": ""}\n'
        '{"doc_id": "h2", "title": "Gegenoffensive stockt", "text": "Teaser zur Lage."}\n',
        encoding="utf-8",
    )
    documents, report = load_corpus(path)
    assert documents["text"].to_list() == ["Munition wird knapp", "Teaser zur Lage."]
    assert report.dropped["empty_text"] == 0
