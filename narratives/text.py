"""Clean news articles and split them into passages, the unit that carries one narrative.

An article often mixes several narratives, so topics are fitted on passages (paragraphs, long
ones cut at sentence ends, tiny ones merged) rather than on whole documents. Cleaning strips the
scraping residue (channel footers, hashtag runs, source lines) that would otherwise form topics
of its own.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterator

import polars as pl

from narratives.schemas import PASSAGES, conform

_SENTENCE_START = r"(?:^|(?<=[.!?])[ \t]+)"
"""Where a sentence may start: line start or after end punctuation; anchors sentence patterns."""

LEADING_DATE_MARKER = re.compile(r"\A\s*date \d{4}-\d{2}(?:-\d{2})?\b[ \t]*")
CHANNEL_SUBSCRIPTION_LINE = re.compile(
    r"(?i)\bAbonniere\s+(?:den|die|das|unseren|unsere|unser|jetzt|hier)\b[^\n]*"
)
SUBSCRIPTION_REQUEST_SENTENCE = re.compile(
    rf"(?im){_SENTENCE_START}[^.!?\n]*\babonnieren\s+Sie\b[^.!?\n]*[.!?]?"
)
FOLLOW_US_SENTENCE = re.compile(
    r"\b(?:Folgen Sie uns|Folgt uns|Follow us)\s+(?:auf|bei|in|on)\b[^.!?\n]*[.!?]?"
)
ENGLISH_SUBSCRIBE_LINE = re.compile(
    rf"(?m){_SENTENCE_START}Subscribe\s+(?:to|now|for|here)\b[^\n]*"
)
BACK_TO_TOP = re.compile(r"(?i)\bBack to Top\b")
HASHTAG_RUN = re.compile(r"(?m)(?:^[ \t]*#\w+(?:[ \t]+#\w+)*[ \t]*(?:\n|\Z)|#\w+(?:[ \t]+#\w+)+)")
COMMENTS_CLOSED_NOTICE = re.compile(
    r"(?i)\bIn eigener Sache:[^\n]*?\bKommentare?\b[^.!?\n]*[.!?]?"
    r"(?:[ \t]*Danke für \w+ Verständnis\b[^\n]*?\bTeam\b)?"
)
VIDEO_CREATED_NOTE = re.compile(r"(?i)\bVideo \d{4} erstellt\b")
MORE_ON_TOPIC_LINE = re.compile(
    r"(?im)^[ \t]*(?:Mehr zum Thema|Lesen Sie auch)\b[ \t]*[-–—:][^\n]*(?:\n|\Z)"
)
SOURCE_LINE = re.compile(r"(?im)^[ \t]*(?:Quelle|Quellen|Source)[ \t]*:[^\n]{0,80}(?:\n|\Z)")
URL = re.compile(r"(?i)\b(?:https?://|www\.)\S+")
TRAILING_DAY_WORD = re.compile(r"(?i)(?:\A|\n)[ \t]*(?:Today|Heute)[ \t]*\s*\Z")

BOILERPLATE_PATTERNS: dict[re.Pattern[str], tuple[str, ...]] = {
    LEADING_DATE_MARKER: ("date ",),
    CHANNEL_SUBSCRIPTION_LINE: ("abonniere",),
    SUBSCRIPTION_REQUEST_SENTENCE: ("abonnieren sie",),
    FOLLOW_US_SENTENCE: ("folgen sie uns", "folgt uns", "follow us"),
    ENGLISH_SUBSCRIBE_LINE: ("subscribe",),
    BACK_TO_TOP: ("back to top",),
    HASHTAG_RUN: ("#",),
    COMMENTS_CLOSED_NOTICE: ("in eigener sache",),
    VIDEO_CREATED_NOTE: ("video 1", "video 2"),
    MORE_ON_TOPIC_LINE: ("mehr zum thema", "lesen sie auch"),
    SOURCE_LINE: ("quelle", "source"),
    URL: ("http", "www."),
    TRAILING_DAY_WORD: ("today", "heute"),
}
"""Each pattern with the lowercase substrings one of which every match contains.

The patterns are removed in this order (footers before the trailing lines they expose); the
substring test skips a pattern for the many articles that cannot contain it, which keeps
cleaning fast.
"""

_SPECIAL_CHARACTERS = {
    **dict.fromkeys("„“”‟«»″", '"'),
    **dict.fromkeys("‚‘’‛‹›′", "'"),
    **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff\u00ad", ""),
    "\r": "\n",
}
"""Typographic quotes to plain ones, invisible characters removed, old Mac line ends."""
_SPECIAL_CHARACTER = re.compile("|".join(map(re.escape, _SPECIAL_CHARACTERS)))
_EXTRA_NEWLINES = re.compile(r"\n{3,}")
_LINE_BREAKS = re.compile(r"\n+")
_NON_WORD = re.compile(r"\W+")
_SENTENCE_END = re.compile(r"([.!?…]+)[\"')\]]*\s+")
_TRAILING_WORD = re.compile(r"\w*\Z")
_WORD_WINDOW = 8
"""Characters looked back from a dot for the word it ends; longer than any abbreviation."""

_ABBREVIATIONS = frozenset(
    re.findall(
        r"\w+",
        "abs bspw bzw ca chr dr dt etc evtl ggf hr inkl jh jhd jr mio mr mrd mrs ms nr prof sen "
        "sog st str usw vgl vs jan feb mär apr aug sep sept okt nov dez",
    )
)
"""Lowercase words that end in a dot without ending the sentence (single letters always do)."""


def clean_text(text: str) -> str:
    """The article text without boilerplate, with NFC unicode, plain quotes and tidy whitespace.

    Paragraph breaks survive as newlines (at most one blank line); everything else is one space.
    """
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n"))
    text = _SPECIAL_CHARACTER.sub(_replace_special, text)
    lowered = text.lower()
    for pattern, triggers in BOILERPLATE_PATTERNS.items():
        if any(trigger in lowered for trigger in triggers):
            text, count = pattern.subn("", text)
            if count:
                lowered = text.lower()
    return _tidy_whitespace(text)


def _replace_special(match: re.Match[str]) -> str:
    """The plain replacement of one special character."""
    return _SPECIAL_CHARACTERS[match.group()]


def _tidy_whitespace(text: str) -> str:
    """One space between words, no spaces around newlines, at most one blank line."""
    text = "\n".join([" ".join(line.split()) for line in text.split("\n")])
    return _EXTRA_NEWLINES.sub("\n\n", text).strip()


def split_passages(
    documents: pl.DataFrame, *, min_chars: int = 200, max_chars: int = 1200
) -> pl.DataFrame:
    """The Passages table of ``documents``: cleaned paragraphs, long ones cut, tiny ones merged.

    A document yields passages ``{doc_id}#0``, ``#1``, ... in order; its title, when the text does
    not already start with it, is the first line of passage 0. Passages stay within
    ``max_chars`` except for a sentence longer than that, or a tiny tail left by a cut that is
    merged into its neighbour.
    """
    ids: list[str] = []
    doc_ids: list[str] = []
    positions: list[int] = []
    texts: list[str] = []
    has_title = "title" in documents.columns
    columns = ["doc_id", "title", "text"] if has_title else ["doc_id", "text"]
    for row in documents.select(columns).iter_rows():
        doc_id, title, text = row if has_title else (row[0], None, row[1])
        for position, passage in enumerate(
            document_passages(title, text, min_chars=min_chars, max_chars=max_chars)
        ):
            ids.append(f"{doc_id}#{position}")
            doc_ids.append(doc_id)
            positions.append(position)
            texts.append(passage)
    table = pl.DataFrame(
        {"passage_id": ids, "doc_id": doc_ids, "position": positions, "text": texts},
        schema={name: PASSAGES[name] for name in PASSAGES},
    )
    return conform(table, PASSAGES)


def document_passages(
    title: str | None, text: str | None, *, min_chars: int = 200, max_chars: int = 1200
) -> list[str]:
    """The passage texts of one document (empty when both title and text clean to nothing).

    Tiny paragraphs are merged before long ones are cut, so a subheading or the title line
    stays with the text it introduces and still counts towards ``max_chars``.
    """
    body = clean_text(text or "")
    heading = _LINE_BREAKS.sub(" ", clean_text(title or ""))
    paragraphs = [paragraph for paragraph in _LINE_BREAKS.split(body) if paragraph]
    if heading and not _starts_with(body, heading):
        paragraphs = [f"{heading}\n{paragraphs[0]}", *paragraphs[1:]] if paragraphs else [heading]
    chunks = [
        chunk
        for paragraph in merge_short_pieces(paragraphs, min_chars)
        for chunk in split_long_paragraph(paragraph, max_chars)
    ]
    return merge_short_pieces(chunks, min_chars)


def _starts_with(text: str, prefix: str) -> bool:
    """Whether ``text`` begins with ``prefix``, ignoring case, punctuation and spacing."""
    return _NON_WORD.sub("", text.casefold()).startswith(_NON_WORD.sub("", prefix.casefold()))


def split_long_paragraph(paragraph: str, max_chars: int) -> list[str]:
    """``paragraph`` cut at sentence ends into chunks of at most ``max_chars`` characters.

    Sentences are packed greedily into chunks of similar size; a sentence longer than
    ``max_chars`` stays whole as a chunk of its own.
    """
    if len(paragraph) <= max_chars:
        return [paragraph]
    sentences = list(split_sentences(paragraph))
    target = len(paragraph) / math.ceil(len(paragraph) / max_chars)
    chunks: list[str] = []
    current = ""
    for sentence in sentences:
        joined = f"{current} {sentence}" if current else sentence
        if current and (len(joined) > max_chars or len(current) >= target):
            chunks.append(current)
            joined = sentence
        current = joined
    if current:
        chunks.append(current)
    return chunks


def split_sentences(text: str) -> Iterator[str]:
    """The sentences of ``text``, not cut after abbreviations, initials or ordinals ("12. Mai")."""
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        if end < len(text) and _is_sentence_end(text, match, end):
            yield text[start:end].rstrip()
            start = end
    if start < len(text):
        yield text[start:]


def _is_sentence_end(text: str, match: re.Match[str], end: int) -> bool:
    """Whether the punctuation ``match`` ends a sentence: the next word is not lower case and a
    lone dot does not follow an abbreviation, a single letter or a number of up to 3 digits."""
    if text[end].islower():
        return False
    if match.group(1) != ".":
        return True
    dot = match.start()
    word = _TRAILING_WORD.search(text, max(0, dot - _WORD_WINDOW), dot).group()
    if len(word) == 1:
        return False
    if word.isdigit():
        return len(word) > 3
    return word.lower() not in _ABBREVIATIONS


def merge_short_pieces(pieces: list[str], min_chars: int) -> list[str]:
    """``pieces`` with each one shorter than ``min_chars`` joined to the next (the last to the
    previous), so that no passage is a fragment such as a subheading alone."""
    merged: list[str] = []
    carry = ""
    for piece in pieces:
        text = f"{carry}\n{piece}" if carry else piece
        if len(text) < min_chars:
            carry = text
            continue
        merged.append(text)
        carry = ""
    if carry:
        if merged:
            merged[-1] = f"{merged[-1]}\n{carry}"
        else:
            merged.append(carry)
    return merged
