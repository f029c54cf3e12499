"""German separable verbs, rejoined: "Die Munition geht ihnen aus" reads as *ausgehen*.

A German main clause splits a separable verb: the finite stem stands early ("geht", "erobert",
"rückt") and its particle closes the clause ("aus", "zurück", "vor"). A lemma query for
``ausgehen`` or ``zurückerobern`` then misses "Kiew erobert Cherson zurück", and analysts end
up spelling every split form as a phrase. Here a clause-final particle is joined to the first
verb of its clause whose particle verb German knows (simplemma's dictionary), and that verb
position also carries the particle verb's lemma. Nothing else changes: the stem keeps its own
lemma ("gehen") and the particle its position.

A clause ends at ``, ; : . ! ?``, a dash, a line break, the end of the passage, or before "und"
or "oder".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache

import simplemma

PARTICLES = frozenset(
    {
        *("ab", "an", "auf", "aus", "bei", "ein", "fest", "fort", "her", "heraus", "hin"),
        *("los", "mit", "nach", "vor", "voran", "weg", "weiter", "zu", "zurück", "zusammen"),
    }
)
"""Particles of separable verbs that close a clause ("zieht ... ab", "greift ... an")."""

CONJUNCTIONS = frozenset({"und", "oder"})
"""Words that join two main clauses without a comma, so a particle before them closes its own
("aber", "doch" and "denn" are adverbs too often: "Russland greift doch an")."""

_BOUNDARY = re.compile(r"[,;:.!?\n–—]|\s-\s")
"""What ends a clause between two words (quotes and brackets do not: 'kündigt "Vergeltung" an')."""


@lru_cache(maxsize=65_536)
def particle_verb(particle: str, lemma: str) -> str | None:
    """The particle verb ``particle + lemma`` when German has it ("aus" + "gehen"), else None.

    ``lemma`` is the cased lemma of the clause word: only a lower-case infinitive (a verb, not
    a noun or a name) can take the particle.
    """
    if not lemma.islower() or not lemma.endswith(("en", "rn", "ln")) or len(lemma) < 3:
        return None
    composed = particle + lemma
    return composed if simplemma.is_known(composed, lang="de") else None


def rejoined(
    words: Sequence[str], gaps: Sequence[str], lemma: Callable[[str], str]
) -> dict[int, str]:
    """Word index -> the particle verb that word stands for, in one German passage.

    ``words`` are the passage's word tokens in order, ``gaps[i]`` the text between word ``i``
    and word ``i + 1`` (the last one: what follows the last word), ``lemma`` a word's cased
    lemma.
    """
    found: dict[int, str] = {}
    start = 0
    for i, word in enumerate(words):
        lowered = word.lower()
        if lowered in CONJUNCTIONS:
            start = i + 1
            continue
        closes = i + 1 == len(words) or bool(_BOUNDARY.search(gaps[i]))
        closes = closes or words[i + 1].lower() in CONJUNCTIONS
        if closes and lowered in PARTICLES and word == lowered:
            for j in range(start, i):
                if j in found:
                    continue
                composed = particle_verb(lowered, lemma(words[j]))
                if composed:
                    found[j] = composed
                    break
        if closes:
            start = i + 1
    return found
