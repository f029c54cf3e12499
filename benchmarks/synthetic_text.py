"""German-looking text for the synthetic runs: word lists, sentence pools, passages, titles.

Every topic has its own words (the eight catalogued narratives and twelve discovered topics);
sentences mix them with general prose. A topic's words shift between the first and the second
half of the period, so keyword drift has words entering and leaving. All draws come from the
generator passed in, in a fixed order, so a seed gives the same texts every time.
"""

from __future__ import annotations

import numpy as np
import polars as pl

N_SENTENCES = 5
POOL_SIZE = 400


def _words(text: str) -> list[str]:
    return text.split()


# The eight catalogued narratives (narratives/data/catalog.toml), each with its words.
CATALOG_WORDS: dict[str, list[str]] = {
    "failed-counteroffensive": _words(
        "Gegenoffensive Offensive Verluste Saporischschja Minenfelder "
        "Vormarsch Angriffswelle Brigaden Leopard Robotyne"
    ),
    "ammunition-shortage": _words(
        "Munition Artilleriegranaten Munitionsmangel Produktion "
        "Rüstungsindustrie Granaten Lagerbestände Nachschub Rheinmetall Fertigung"
    ),
    "peace-talks-vs-military-aid": _words(
        "Verhandlungen Frieden Waffenstillstand Diplomatie "
        "Friedensgespräche Kompromiss Militärhilfe Vermittlung Verhandlungslösung Waffenruhe"
    ),
    "ukraine-nato-membership": _words(
        "NATO-Mitgliedschaft Beitritt Gipfel Sicherheitsgarantien Bündnis "
        "Beitrittsperspektive Allianz Mitgliedstaaten Vilnius Washington-Gipfel"
    ),
    "nato-party-to-war": _words(
        "Stellvertreterkrieg Kriegspartei Westen Ausbilder Geheimdienste "
        "Söldner Provokation Konfrontation Hegemonie Einmischung"
    ),
    "russia-must-not-win": _words(
        "Sieg Freiheit Demokratie Aggression Solidarität Unterstützung "
        "Völkerrecht Souveränität Entschlossenheit Verteidigung"
    ),
    "ukrainian-territorial-gains": _words(
        "Rückeroberung Charkiw Cherson Befreiung Geländegewinne "
        "Dörfer Durchbruch Frontlinie Isjum Kursk"
    ),
    "escalation-arms-deliveries": _words(
        "Waffenlieferungen Taurus Marschflugkörper Eskalation "
        "Reichweite Kampfpanzer Atomwaffen Kampfjets Raketen Rote-Linie"
    ),
}
DISCOVERED_WORDS: list[list[str]] = [
    _words("Gaspreise Energiekrise Gasspeicher Heizkosten Pipeline Nord-Stream LNG Strompreise"),
    _words("Sanktionen Sanktionspaket Oligarchen Exportverbot Vermögen Embargo Ölpreisdeckel"),
    _words("Geflüchtete Kommunen Unterbringung Aufnahme Integration Bürgergeld Sprachkurse"),
    _words("Getreide Getreideabkommen Odessa Weizen Exporte Häfen Frachter"),
    _words("Atomkraftwerk IAEA Reaktor Inspektoren Strahlung Kühlwasser Energodar"),
    _words("Inflation Preise Zinsen Rezession Konjunktur EZB Mittelstand"),
    _words("Wahlkampf Trump Republikaner Kongress Hilfspaket Repräsentantenhaus Senat"),
    _words("Krim Krimbrücke Sewastopol Schwarzmeerflotte Drohnen Kertsch Seedrohnen"),
    _words("Wagner Prigoschin Meuterei Söldnergruppe Aufstand Rostow Lukaschenko"),
    _words("Kriegsverbrechen Butscha Ermittlungen Strafgerichtshof Haftbefehl Zeugen Beweise"),
    _words("Mobilisierung Einberufung Wehrpflicht Rekruten Reservisten Musterung Ausreise"),
    _words("Desinformation Propaganda Cyberangriffe Telegram Plattformen Falschmeldungen Bots"),
]
GENERAL_WORDS = _words(
    "die der das und nicht mit für auf von dass auch wird hat ist sich nach bei aus eine noch "
    "nur wie über gegen schon immer mehr Regierung Bundesregierung Kanzler Minister Woche Jahr "
    "Lage Bericht Experten Berlin Moskau Kiew Washington Brüssel Politik Frage Entscheidung "
    "Öffentlichkeit Debatte Kritik Zeitung Analyse Situation Entwicklung Ukraine Russland Krieg "
    "Präsident Selenskyj Putin Scholz Militär Armee Soldaten Bevölkerung Menschen Land Staaten "
    "Europa Partner Region Zukunft Monate Tage Zeit Ziel Plan Beobachter Sprecher Parlament "
    "Bundestag Opposition Koalition Verantwortung Folgen Sicherheit Interessen Signal deutlich "
    "wichtig schwierig neue große weitere offenbar jedoch allerdings bisher heute gestern "
    "fordert warnt erwartet kritisiert bestätigt verlangt diskutiert"
)
DISCOVERED_LABELS = [", ".join(words[:3]) for words in DISCOVERED_WORDS]
TOPIC_WORDS: list[list[str]] = [*CATALOG_WORDS.values(), *DISCOVERED_WORDS]
"""Every topic's words: the catalogued narratives first, then the discovered topics."""


def _halves(words: list[str]) -> tuple[list[str], list[str]]:
    """A topic's words before and after the middle of the period: two leave, two enter."""
    return words[:-2], words[:3] + words[5:]


def topic_halves() -> list[tuple[list[str], list[str]]]:
    """Each topic's words in the first and in the second half of the period."""
    return [_halves(words) for words in TOPIC_WORDS]


def sentence_pools(rng: np.random.Generator) -> pl.Series:
    """Sentences per (topic, half) and a general pool.

    Pool ``2 * topic + half`` holds ``POOL_SIZE`` sentences of that topic; the last pool is
    general prose (what outlier passages and every passage's filler are made of). A topic's
    first half uses its words but the last two, the second half its words but the fourth and
    fifth (the first three, which name a discovered topic, stay throughout).
    """
    general = np.asarray(GENERAL_WORDS)
    sentences: list[str] = []
    for words in [w for pair in topic_halves() for w in pair] + [[]]:
        vocab = np.asarray(words or GENERAL_WORDS)
        lengths = rng.integers(6, 16, POOL_SIZE)
        for length in lengths:
            from_topic = rng.random(length) < (0.4 if words else 0.0)
            tokens = np.where(
                from_topic, rng.choice(vocab, length), rng.choice(general, length)
            ).tolist()
            tokens[0] = tokens[0][:1].upper() + tokens[0][1:]
            sentences.append(" ".join(tokens) + ".")
    return pl.Series("sentence", sentences)


def passage_texts(
    topic_pool: np.ndarray, general_pool: int, pool: pl.Series, rng: np.random.Generator
) -> pl.Series:
    """One text per passage: 4 sentences from its topic pool and one general one, shuffled."""
    n_passages = len(topic_pool)
    columns = []
    for slot in range(N_SENTENCES):
        which = topic_pool if slot < N_SENTENCES - 1 else np.full(n_passages, general_pool)
        index = which * POOL_SIZE + rng.integers(0, POOL_SIZE, n_passages)
        columns.append(pool.gather(index).alias(f"s{slot}"))
    shuffle = rng.permutation(N_SENTENCES)  # the general sentence is not always last
    return (
        pl.DataFrame([columns[i] for i in shuffle])
        .select(pl.concat_str(pl.all(), separator=" "))
        .to_series()
    )


def document_titles(main_topic: np.ndarray, rng: np.random.Generator) -> pl.Series:
    """A title per document: two words of its main topic around a general word."""
    n_docs = len(main_topic)
    titles_words = [[*words[0], *words[1]] for words in topic_halves()]
    title_index = rng.integers(0, 10_000, n_docs)
    title_vocab = pl.Series([w for words in titles_words for w in words])
    offsets = np.cumsum([0] + [len(w) for w in titles_words])[:-1]
    lengths = np.array([len(w) for w in titles_words])
    kw1 = title_vocab.gather(offsets[main_topic] + title_index % lengths[main_topic])
    kw2 = title_vocab.gather(offsets[main_topic] + (title_index // 7) % lengths[main_topic])
    general = pl.Series(GENERAL_WORDS[24:])
    g1 = general.gather(rng.integers(0, general.len(), n_docs))
    return kw1 + ": " + g1 + " und " + kw2
