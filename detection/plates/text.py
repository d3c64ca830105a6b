"""Plate text: cleaning one read, voting across reads, the search key, and the fuzzy match a search uses.

A plate is kept in two forms: as printed (``黑A·12345`` for a Chinese plate, a Latin plate as the reader printed
it, e.g. ``34A-368.37``) and as its search key, the *norm*: upper case, letters, digits and the province
character only (``黑A12345``, ``34A36837``). Separators (``·``, ``-``, ``.``, spaces, colons) carry no identity:
readers print them inconsistently and officers type them inconsistently.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass

WILDCARD = "?"
MIN_LEN = 5
"""Fewest characters (province included) a read must have to be a plate."""
MAX_LEN = 10
"""Most characters a plate key may have; longer reads are two plates or noise."""
FUZZY_MIN_LEN = 5
"""Queries of this many characters or more (province not counted) tolerate one wrong character."""
SUFFIX_CHARS = frozenset("警学挂港澳领使")
"""Chinese characters that may end a plate (police, learner, trailer, Hong Kong/Macau, consular)."""
DISPLAY_SEPARATOR = "·"


def is_cjk(ch: str) -> bool:
    """A Chinese character (a province or suffix character on a plate)."""
    return "\u4e00" <= ch <= "\u9fff"


def _keep(ch: str, wildcard: bool) -> bool:
    return ("A" <= ch <= "Z") or ("0" <= ch <= "9") or is_cjk(ch) or (wildcard and ch == WILDCARD)


def normalise(text: str, *, wildcard: bool = False) -> str:
    """The search key of a plate text: NFKC (full-width forms become ASCII), upper case, separators dropped.

    With ``wildcard`` a ``?`` (an unknown character, in a query) is kept.
    """
    folded = unicodedata.normalize("NFKC", text).upper()
    return "".join(ch for ch in folded if _keep(ch, wildcard))


def split_province(norm: str) -> tuple[str, str]:
    """(province character or '', the rest) of a plate key."""
    if norm and is_cjk(norm[0]):
        return norm[0], norm[1:]
    return "", norm


def clean_read(raw: str) -> str | None:
    """The plate key of one recogniser read, or None when the read cannot be a plate.

    Chinese characters stand only first (the province) or last (a suffix such as 警); a reader that saw two
    at the start (``皖云A4X315``: a sticker beside the plate) keeps the one next to the letters.
    """
    norm = normalise(raw)
    while len(norm) >= 2 and is_cjk(norm[0]) and is_cjk(norm[1]):
        norm = norm[1:]
    if not norm:
        return None
    head, middle, tail = norm[:1], norm[1:-1], norm[-1:] if len(norm) > 1 else ""
    middle = "".join(ch for ch in middle if not is_cjk(ch))
    if tail and is_cjk(tail) and tail not in SUFFIX_CHARS:
        tail = ""
    norm = head + middle + tail
    body = split_province(norm)[1]
    if not MIN_LEN <= len(norm) <= MAX_LEN or len(body) < MIN_LEN - 1:
        return None
    if not any(ch.isdigit() for ch in body):
        return None  # every plate format here has digits; a word read off a bumper sticker does not
    return norm


def display(norm: str, printed: str | None = None) -> str:
    """How a plate key is shown: ``黑A·12345`` for a Chinese plate; a Latin plate as printed (when the printed
    form is the same plate) or as its key."""
    province, body = split_province(norm)
    if province:
        return f"{province}{body[:1]}{DISPLAY_SEPARATOR}{body[1:]}" if len(body) > 1 else norm
    if printed is not None and normalise(printed) == norm:
        return " ".join(printed.strip().upper().split())
    return norm


@dataclass(frozen=True)
class PlateVote:
    """The plate agreed by several reads of one vehicle."""

    norm: str
    """The search key."""
    text: str
    """As shown (see ``display``)."""
    score: float
    """0..1: how far the reads agree, times how sure the recogniser was."""
    reads: int
    """Reads that were plates at all."""


def vote(reads: list[tuple[str, float]]) -> PlateVote | None:
    """One plate from several (raw text, recogniser score) reads of the same plate, character by character.

    Reads are first cleaned (``clean_read``); the province is voted among the reads that have one, since a
    small province character is the one most often missed. The body's length is voted next (weighted by
    score), then each position among the reads of that length: reads of another length dropped or gained a
    character and cannot be aligned position by position. None when no read is a plate.
    """
    cleaned = [(norm, max(0.0, min(1.0, float(score)))) for raw, score in reads
               if (norm := clean_read(raw)) is not None]
    if not cleaned:
        return None
    provinces: dict[str, float] = defaultdict(float)
    lengths: dict[int, float] = defaultdict(float)
    for norm, score in cleaned:
        province, body = split_province(norm)
        if province:
            provinces[province] += score
        lengths[len(body)] += score + 1e-6
    length = max(sorted(lengths), key=lambda n: (lengths[n], n))
    aligned = [(split_province(norm)[1], score) for norm, score in cleaned if len(split_province(norm)[1]) == length]
    chars: list[str] = []
    shares: list[float] = []
    for position in range(length):
        tally: dict[str, float] = defaultdict(float)
        for body, score in aligned:
            tally[body[position]] += score + 1e-6
        best = max(sorted(tally), key=tally.__getitem__)
        chars.append(best)
        shares.append(tally[best] / sum(tally.values()))
    province = max(sorted(provinces), key=provinces.__getitem__) if provinces else ""
    if province:
        shares.append(provinces[province] / sum(provinces.values()))
    norm = province + "".join(chars)
    confidence = sum(score for _, score in aligned) / len(aligned)
    agreement = sum(shares) / len(shares)
    printed = next((raw for raw, _ in sorted(reads, key=lambda r: -r[1]) if normalise(raw) == norm), None)
    return PlateVote(norm=norm, text=display(norm, printed), score=round(confidence * agreement, 4),
                     reads=len(cleaned))


def normalise_query(query: str) -> str:
    """A search query's key: like ``normalise``, keeping ``?`` for an unknown character."""
    return normalise(query, wildcard=True)


def _distance(query: str, plate: str, limit: int) -> int | None:
    """Edit distance (a wrong, missing or extra character each count one; ``?`` in the query matches any one
    character), or None when it exceeds ``limit``."""
    if abs(len(query) - len(plate)) > limit:
        return None
    previous = list(range(len(plate) + 1))
    for i, q in enumerate(query, 1):
        current = [i] + [0] * len(plate)
        for j, p in enumerate(plate, 1):
            cost = 0 if q in (WILDCARD, p) else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
        if min(current) > limit:
            return None
        previous = current
    return previous[-1] if previous[-1] <= limit else None


def match_distance(query_norm: str, plate_norm: str) -> int | None:
    """How far a plate is from a query (0: exact), or None when it does not match.

    A query without a province character matches a plate with any (or none); with one, the province counts
    like any other character. Queries of ``FUZZY_MIN_LEN`` characters or more (province not counted) tolerate
    one wrong, missing or extra character; shorter ones must match exactly (``?`` still matches any one).
    """
    if not query_norm or not plate_norm:
        return None
    q_province, q_body = split_province(query_norm)
    limit = 1 if len(q_body) >= FUZZY_MIN_LEN else 0
    if q_province:
        return _distance(query_norm, plate_norm, limit)
    return _distance(q_body, split_province(plate_norm)[1], limit)


def length_window(query_norm: str) -> tuple[int, int]:
    """Shortest and longest plate key that can match the query (for the database's pre-filter)."""
    _province, body = split_province(query_norm)
    slack = 1 if len(body) >= FUZZY_MIN_LEN else 0
    return max(1, len(body) - slack), len(body) + slack + 1
